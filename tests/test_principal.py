"""The access-token principals' shared surface: ``repr()``/``str()`` name ids, scopes and
expiry but never the token; ``has_scope`` is plain membership."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from stytch_rbac import AgentPrincipal, ServicePrincipal

WHEN = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
SCOPE = st.text(alphabet="abcdefghijklmnopqrstuvwxyz:_", min_size=1, max_size=12)
TOKEN = "eyJhbGciOiJSUzI1NiJ9.secret-part-of-the-token.signature"


def agent(scopes: frozenset[str]) -> AgentPrincipal:
    return AgentPrincipal(
        member_id="member-1",
        organization_id="organization-1",
        organization_slug="acme",
        client_id="connected-app-1",
        scopes=scopes,
        expires_at=WHEN,
        issued_at=WHEN,
        issuer="https://acme.customers.stytch.dev",
        access_token=TOKEN,
    )


def service(scopes: frozenset[str]) -> ServicePrincipal:
    return ServicePrincipal(
        client_id="m2m-client-1",
        scopes=scopes,
        expires_at=WHEN,
        issued_at=WHEN,
        issuer="stytch.com/project-test-1",
        access_token=TOKEN,
    )


def test_repr_names_ids_sorted_scopes_and_expiry() -> None:
    """Each kind shows its own ids first, then the scopes sorted, then the expiry."""
    scopes = frozenset({"write:documents", "read:documents"})
    assert repr(agent(scopes)) == (
        "AgentPrincipal(member_id='member-1', organization_id='organization-1', "
        "client_id='connected-app-1', scopes=[read:documents write:documents], "
        "expires_at='2026-12-02T12:00:00+00:00')"
    )
    assert str(service(scopes)) == (
        "ServicePrincipal(client_id='m2m-client-1', scopes=[read:documents write:documents], "
        "expires_at='2026-12-02T12:00:00+00:00')"
    )


@given(scopes=st.frozensets(SCOPE, max_size=5), asked=SCOPE)
def test_has_scope_is_membership_and_repr_hides_the_token(
    scopes: frozenset[str], asked: str
) -> None:
    """has_scope agrees with ``in`` for both kinds, and neither repr nor str shows the token."""
    for principal in (agent(scopes), service(scopes)):
        assert principal.has_scope(asked) is (asked in scopes)
        assert TOKEN not in repr(principal)
        assert TOKEN not in str(principal)
        assert not hasattr(principal, "__dict__")  # still slotted
