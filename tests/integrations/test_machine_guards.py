"""Guards for machine callers: who a guard admits (``accept=``), literal scopes
(``require_scopes``), tenancy for agents and services, and the challenges on refusals.

Principals are built directly here (they are plain values); the end-to-end path with
tokens minted by the emulator is in test_fastapi_machine_callers.py.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from stytch_rbac import (
    AgentPrincipal,
    InsufficientScope,
    Principal,
    ServicePrincipal,
    StytchRBAC,
    TenancyError,
    Unauthenticated,
)
from stytch_rbac.integrations.responses import error_headers

if TYPE_CHECKING:
    from starlette.testclient import TestClient
    from starlette.types import ASGIApp

POLICY = Path(__file__).resolve().parents[2] / "examples" / "policy.json"
pytestmark = [pytest.mark.anyio, pytest.mark.stytch_policy(POLICY)]
SOON = datetime.now(UTC) + timedelta(hours=1)
METADATA = "https://api.example.com/.well-known/oauth-protected-resource/mcp"


def agent(scopes: str = "read:documents", organization_id: str = "org-a") -> AgentPrincipal:
    return AgentPrincipal(
        member_id="member-1",
        organization_id=organization_id,
        organization_slug="acme",
        client_id="connected-app-test-1",
        scopes=frozenset(scopes.split()),
        expires_at=SOON,
        issued_at=SOON - timedelta(hours=1),
        issuer="https://acme.customers.stytch.dev",
    )


def service(scopes: str = "read:documents") -> ServicePrincipal:
    return ServicePrincipal(
        client_id="m2m-client-test-1",
        scopes=frozenset(scopes.split()),
        expires_at=SOON,
        issued_at=SOON - timedelta(hours=1),
        issuer="stytch.com/project-test-1",
    )


def session(organization_id: str = "org-a") -> Principal:
    return Principal(
        member_id="member-1",
        organization_id=organization_id,
        organization_slug="acme",
        roles=frozenset({"viewer"}),
        session_id="session-1",
        expires_at=SOON,
    )


@pytest.mark.parametrize(
    ("accept", "error", "fragment"),
    [
        pytest.param("agent", TypeError, "collection of principal kinds", id="one-string"),
        pytest.param({"robot"}, ValueError, "unknown principal kinds", id="unknown"),
        pytest.param(set(), ValueError, "refuse everyone", id="empty"),
    ],
)
async def test_accept_must_name_known_kinds(
    stytch_rbac: StytchRBAC, accept: object, error: type[Exception], fragment: str
) -> None:
    """accept= is validated when the guard is built, not on the first request."""
    with pytest.raises(error, match=fragment):
        stytch_rbac.require(accept=accept)  # type: ignore[arg-type]


async def test_require_scopes_arguments(stytch_rbac: StytchRBAC) -> None:
    """At least one scope, each a name without spaces; sessions cannot be accepted."""
    with pytest.raises(ValueError, match="at least one scope"):
        stytch_rbac.require_scopes()
    with pytest.raises(ValueError, match="without spaces"):
        stytch_rbac.require_scopes("read:documents write:documents")
    with pytest.raises(ValueError, match="holds no scopes"):
        stytch_rbac.require_scopes("read:documents", accept={"session", "agent"})
    with pytest.raises(ValueError, match="https"):
        stytch_rbac.require(accept={"agent"}, resource_metadata="ftp://x")
    guard = stytch_rbac.require_scopes("read:documents", "read:documents")
    assert guard.scopes == ("read:documents",)
    assert guard.accept == {"agent", "service"}
    assert "scopes=['read:documents']" in repr(guard)


async def test_the_default_admits_sessions_only(stytch_rbac: StytchRBAC) -> None:
    """Nothing widens silently: a default guard refuses an agent's and a service's principal."""
    guard = stytch_rbac.require()
    assert guard.accept == {"session"}
    for principal in (agent(), service()):
        with pytest.raises(Unauthenticated) as caught:
            await guard.check(principal)
        assert caught.value.reason == "wrong_kind"
    assert await guard.check(session()) == session()


async def test_a_guard_for_tokens_refuses_a_session(stytch_rbac: StytchRBAC) -> None:
    """accept={"agent"} refuses a member session and a service alike, as wrong_kind."""
    guard = stytch_rbac.require(accept={"agent"})
    for principal in (session(), service()):
        with pytest.raises(Unauthenticated, match="wrong_kind"):
            await guard.check(principal)
    assert await guard.check(agent()) == agent()


async def test_require_scopes_checks_literal_scopes(stytch_rbac: StytchRBAC) -> None:
    """Every required scope must be held; the refusal names all of them in the challenge."""
    guard = stytch_rbac.require_scopes(
        "read:documents", "write:documents", resource_metadata=METADATA
    )
    both = agent("read:documents write:documents openid")
    assert await guard.check(both) is both
    with pytest.raises(InsufficientScope) as caught:
        await guard.check(service("read:documents"))
    assert caught.value.missing == ("write:documents",)
    assert error_headers(caught.value) == {
        "WWW-Authenticate": 'Bearer error="insufficient_scope", '
        f'scope="read:documents write:documents", resource_metadata="{METADATA}"'
    }


async def test_an_agent_is_held_to_its_token_organization(stytch_rbac: StytchRBAC) -> None:
    """Tenancy for agents comes from the token's organization claim."""
    guard = stytch_rbac.require_scopes("read:documents", organization_id="org-a")
    a = agent(organization_id="org-a")
    assert await guard.check(a) is a
    with pytest.raises(TenancyError) as caught:
        await guard.check(agent(organization_id="org-b"))
    assert caught.value.requested_organization_id == "org-a"
    assert "WWW-Authenticate" in error_headers(caught.value)


async def test_a_service_is_refused_on_an_organization_route_without_a_mapping(
    stytch_rbac: StytchRBAC,
) -> None:
    """A service belongs to no organization: an org-scoped guard refuses it."""
    guard = stytch_rbac.require_scopes("read:documents", organization_id="org-a")
    with pytest.raises(TenancyError):
        await guard.check(service())
    # The same service on a project-wide route is admitted by its scopes.
    machine = service()
    assert await stytch_rbac.require_scopes("read:documents").check(machine) is machine


async def test_the_decorator_takes_a_machine_principal(stytch_rbac: StytchRBAC) -> None:
    """@guard on a function taking ``principal`` checks agents and services too."""

    @stytch_rbac.require_scopes("read:documents")
    async def handler(principal: AgentPrincipal | ServicePrincipal) -> str:
        return principal.client_id

    assert await handler(service()) == "m2m-client-test-1"
    with pytest.raises(InsufficientScope):
        await handler(agent("write:documents"))


def test_a_websocket_refusal_of_an_access_token_is_an_http_denial_with_the_challenge(
    app_rbac: StytchRBAC, make_client: Callable[[ASGIApp], TestClient]
) -> None:
    """Where the server supports the ASGI denial response, the handshake is refused with the
    403 and its WWW-Authenticate (a close code could not carry the scopes)."""
    from starlette.applications import Starlette
    from starlette.routing import WebSocketRoute
    from starlette.testclient import WebSocketDenialResponse
    from starlette.websockets import WebSocket

    from stytch_rbac.integrations.starlette import exception_handlers

    guard = app_rbac.require_scopes("write:documents", resource_metadata=METADATA)

    async def socket(websocket: WebSocket) -> None:
        await guard.check(service("read:documents"))
        await websocket.accept()  # pragma: no cover - refused above

    app = Starlette(
        routes=[WebSocketRoute("/ws", socket)], exception_handlers=dict(exception_handlers())
    )
    with make_client(app) as client, pytest.raises(WebSocketDenialResponse) as caught:
        client.websocket_connect("/ws").__enter__()
    assert caught.value.status_code == 403
    assert caught.value.headers["www-authenticate"] == (
        f'Bearer error="insufficient_scope", scope="write:documents", '
        f'resource_metadata="{METADATA}"'
    )
    assert caught.value.json()["detail"]["error"] == "insufficient_scope"
