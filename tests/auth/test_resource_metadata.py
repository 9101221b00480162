"""RFC 9728 protected resource metadata: the document, its well-known URL, and
``rbac.protected_resource_metadata`` filling it from the project and its policy."""

from __future__ import annotations

from pathlib import Path

import pytest

from stytch_rbac import StytchRBAC
from stytch_rbac.auth.resource_metadata import (
    issuer_url,
    metadata_url,
    protected_resource_metadata,
)

POLICY = Path(__file__).resolve().parents[2] / "examples" / "policy.json"


@pytest.mark.parametrize(
    ("resource", "expected"),
    [
        (
            "https://api.example.com/mcp",
            "https://api.example.com/.well-known/oauth-protected-resource/mcp",
        ),
        ("https://api.example.com", "https://api.example.com/.well-known/oauth-protected-resource"),
        (
            "https://api.example.com/",
            "https://api.example.com/.well-known/oauth-protected-resource",
        ),
        (
            "http://localhost:8000/v1/mcp",
            "http://localhost:8000/.well-known/oauth-protected-resource/v1/mcp",
        ),
    ],
)
def test_metadata_url_inserts_the_well_known_path_before_the_path(
    resource: str, expected: str
) -> None:
    """RFC 9728 section 3.1: host, then /.well-known/oauth-protected-resource, then the path."""
    assert metadata_url(resource) == expected


@pytest.mark.parametrize(
    ("resource", "fragment"),
    [
        ("http://api.example.com/mcp", "must use https"),
        ("ftp://api.example.com", "https URL with a host"),
        ("/mcp", "https URL with a host"),
        ("https://api.example.com/mcp?x=1", "no query or fragment"),
        ("https://api.example.com/mcp#top", "no query or fragment"),
    ],
)
def test_a_resource_that_is_not_an_https_url_is_refused(resource: str, fragment: str) -> None:
    """Clients compare ``resource`` with the URL they called: it must be a plain https URL."""
    with pytest.raises(ValueError, match=fragment):
        metadata_url(resource)
    with pytest.raises(ValueError, match=fragment):
        protected_resource_metadata(
            resource, authorization_servers=["https://a.example"], scopes_supported=[]
        )


def test_issuer_url_takes_a_host_or_an_origin() -> None:
    """The project domain as a host or an https origin gives the Connected-App issuer."""
    assert issuer_url("acme-1234.customers.stytch.dev") == "https://acme-1234.customers.stytch.dev"
    assert issuer_url("https://login.acme.com/") == "https://login.acme.com"
    for bad in ("http://login.acme.com", "https://login.acme.com/path"):
        with pytest.raises(ValueError, match="host or an https origin"):
            issuer_url(bad)


def test_the_document() -> None:
    """The RFC 9728 members: resource, authorization servers, sorted scopes, header only."""
    document = protected_resource_metadata(
        "https://api.example.com/mcp",
        authorization_servers=["https://acme.customers.stytch.dev"] * 2,
        scopes_supported=["write:documents", "read:documents", "read:documents"],
        resource_name="Acme documents",
    )
    assert document == {
        "resource": "https://api.example.com/mcp",
        "authorization_servers": ["https://acme.customers.stytch.dev"],
        "scopes_supported": ["read:documents", "write:documents"],
        "bearer_methods_supported": ["header"],
        "resource_name": "Acme documents",
    }
    with pytest.raises(ValueError, match="at least one authorization server"):
        protected_resource_metadata(
            "https://api.example.com", authorization_servers=[], scopes_supported=[]
        )


@pytest.mark.anyio
@pytest.mark.stytch_policy(POLICY)
async def test_the_facade_fills_scopes_from_the_policy(stytch_rbac: StytchRBAC) -> None:
    """scopes_supported is the project policy's scopes (plus extra ones, e.g. OIDC's)."""
    document = await stytch_rbac.protected_resource_metadata(
        "https://api.example.com/mcp",
        authorization_servers=["https://login.acme.com"],
        extra_scopes=["openid", "offline_access"],
    )
    assert document["scopes_supported"] == [
        "offline_access",
        "openid",
        "read:billing",
        "read:documents",
        "write:documents",
    ]
    assert document["authorization_servers"] == ["https://login.acme.com"]
    with pytest.raises(TypeError, match="not one string"):
        await stytch_rbac.protected_resource_metadata(
            "https://api.example.com/mcp",
            authorization_servers=["https://login.acme.com"],
            extra_scopes="openid",
        )


@pytest.mark.anyio
async def test_without_a_project_domain_the_authorization_server_must_be_given() -> None:
    """No guess: without project_domain (and no authorization_servers=) it is a clear error,
    raised before any network call."""
    rbac = StytchRBAC("project-test-00000000-0000-0000-0000-000000000000", "secret-test-x")
    with pytest.raises(ValueError, match="needs the project domain"):
        await rbac.protected_resource_metadata("https://api.example.com/mcp")
    with pytest.raises(TypeError, match="collection of issuer URLs"):
        await rbac.protected_resource_metadata(
            "https://api.example.com/mcp", authorization_servers="https://login.acme.com"
        )
    await rbac.aclose()
