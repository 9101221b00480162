"""A malformed session JWT through the web layer: a guard answers 401, a public route behind
the session middleware answers as if no credential were sent, never 500."""

from __future__ import annotations

import base64

import httpx
import pytest
from fastapi import Depends, FastAPI

from stytch_rbac import Principal, StytchRBAC, Unauthenticated
from stytch_rbac.integrations.fastapi import StytchSessionMiddleware
from stytch_rbac.testing import MemberFactory

pytestmark = pytest.mark.anyio


def nested_payload_jwt(genuine: str, levels: int = 5000) -> str:
    """``genuine`` with its payload replaced by JSON nesting ``levels`` arrays (10 KB)."""
    header, _, signature = genuine.split(".")
    text = '{"deep": ' + "[" * levels + "]" * levels + "}"
    payload = base64.urlsafe_b64encode(text.encode()).rstrip(b"=").decode()
    return f"{header}.{payload}.{signature}"


def app_for(rbac: StytchRBAC) -> FastAPI:
    """A public route and a guarded one, behind the session middleware."""
    app = FastAPI()
    app.add_middleware(StytchSessionMiddleware, rbac=rbac)
    guard = rbac.require()

    @app.get("/public")
    async def public() -> dict[str, str]:
        return {"ok": "yes"}

    @app.get("/me")
    async def me(who: Principal = Depends(guard)) -> dict[str, str]:  # noqa: B008
        return {"member_id": who.member_id}

    return app


async def test_a_deeply_nested_jwt_is_malformed_not_a_server_error(
    stytch_rbac: StytchRBAC, member: MemberFactory
) -> None:
    """authenticate() raises Unauthenticated('malformed'); the guard answers 401 and the
    public route 200, for a bearer JWT and for the session JWT cookie alike."""
    token = nested_payload_jwt(member(["stytch_admin"]).session_jwt)
    with pytest.raises(Unauthenticated) as info:
        await stytch_rbac.authenticate(session_jwt=token)
    assert info.value.reason == "malformed"
    transport = httpx.ASGITransport(app=app_for(stytch_rbac))
    async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
        for sent in (
            {"headers": {"Authorization": f"Bearer {token}"}},
            {"cookies": {"stytch_session_jwt": token}},
        ):
            client.cookies.clear()
            client.cookies.update(sent.get("cookies", {}))
            headers = sent.get("headers", {})
            assert (await client.get("/me", headers=headers)).status_code == 401
            assert (await client.get("/public", headers=headers)).status_code == 200
