"""The plugin's fixtures work in a project that runs its async tests with pytest-asyncio,
in auto mode and in strict mode, next to anyio's plugin."""

from __future__ import annotations

import json

import pytest
from test_pytest_plugin import POLICY

pytest_plugins = ["pytester"]

#: A FastAPI app guarded by the facade, its client as a pytest-asyncio fixture, and the
#: fixtures used from the test itself: what a FastAPI project's test file looks like.
APP = """
import httpx
import pytest
import pytest_asyncio
from fastapi import Depends, FastAPI

from stytch_rbac import path


def create_app(rbac):
    app = FastAPI()
    can_edit = rbac.require("documents:edit", organization_id=path("organization_id"))

    @app.put("/orgs/{organization_id}/documents")
    async def edit(organization_id: str, editor=Depends(can_edit)):
        return {"edited_by": editor.member_id}

    return app


@pytest_asyncio.fixture
async def client(stytch_rbac):
    transport = httpx.ASGITransport(app=create_app(stytch_rbac))
    async with httpx.AsyncClient(transport=transport, base_url="http://app.test") as client:
        yield client


async def check(client, stytch_rbac, member):
    writer, reader = member(roles=["writer"]), member(roles=["reader"])
    url = f"/orgs/{writer.organization_id}/documents"
    assert (await client.put(url, headers=writer.headers)).json() == {
        "edited_by": writer.member_id
    }
    assert (await client.put(url, headers=reader.headers)).status_code == 403
    principal = await stytch_rbac.authenticate(session_token=reader.session_token)
    assert not await stytch_rbac.is_authorized(principal, "documents", "edit")
"""


def make_project(pytester: pytest.Pytester, mode: str) -> pytest.Pytester:
    """A fresh project running pytest-asyncio in ``mode``, with strict warnings."""
    pytester.makefile(".json", policy=json.dumps(POLICY))
    pytester.makeini(
        f"""
        [pytest]
        addopts = --strict-markers -p no:cacheprovider
        filterwarnings = error
        asyncio_mode = {mode}
        asyncio_default_fixture_loop_scope = function
        stytch_policy = policy.json
        """
    )
    pytester.makepyfile(app_helpers=APP)
    return pytester


def test_auto_mode(pytester: pytest.Pytester) -> None:
    """In auto mode plain async tests (and marked ones) get an open facade, also over HTTP
    and on a module-scoped loop, and it closes at teardown without an error."""
    project = make_project(pytester, "auto")
    project.makepyfile(
        test_documents="""
        import pytest
        from app_helpers import check, client


        async def test_plain(client, stytch_rbac, member):
            await check(client, stytch_rbac, member)


        @pytest.mark.stytch_http
        async def test_over_http(client, stytch_rbac, member, stytch_base_url):
            assert stytch_base_url.startswith("http://127.0.0.1:")
            await check(client, stytch_rbac, member)


        @pytest.mark.asyncio(loop_scope="module")
        async def test_module_loop(stytch_rbac, member):
            principal = await stytch_rbac.authenticate(session_jwt=member().session_jwt)
            assert "stytch_member" in principal.roles


        async def test_expiry_shares_the_clock(stytch_rbac, member, stytch_emulator):
            writer = member(roles=["writer"])
            stytch_emulator.advance_time(301)
            principal = await stytch_rbac.authenticate(session_jwt=writer.session_jwt)
            assert principal.session_jwt != writer.session_jwt
        """
    )
    project.runpytest("-v").assert_outcomes(passed=4)


def test_strict_mode_next_to_anyio(pytester: pytest.Pytester) -> None:
    """In strict mode @pytest.mark.asyncio tests get an open facade, and @pytest.mark.anyio
    tests in the same project still run on asyncio and trio."""
    project = make_project(pytester, "strict")
    project.makepyfile(
        test_documents="""
        import httpx
        import pytest
        from app_helpers import check, client, create_app


        @pytest.mark.asyncio
        async def test_marked(client, stytch_rbac, member):
            await check(client, stytch_rbac, member)


        @pytest.mark.asyncio(loop_scope="module")
        async def test_module_loop(client, stytch_rbac, member):
            await check(client, stytch_rbac, member)


        @pytest.mark.anyio
        @pytest.mark.parametrize("anyio_backend", ["asyncio", "trio"])
        async def test_anyio(stytch_rbac, member, anyio_backend):
            transport = httpx.ASGITransport(app=create_app(stytch_rbac))
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
                await check(http, stytch_rbac, member)
        """
    )
    project.runpytest("-v").assert_outcomes(passed=4)


@pytest.mark.parametrize("mode", ["auto", "strict"])
def test_sync_test_is_told_how_to_use_the_fixture(pytester: pytest.Pytester, mode: str) -> None:
    """A test no async plugin runs gets an error naming both ways to run it, not a hang or
    a coroutine object."""
    project = make_project(pytester, mode)
    project.makepyfile(
        """
        def test_sync(stytch_rbac):
            pass
        """
    )
    result = project.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        ["*stytch_rbac fixture is async*@pytest.mark.anyio*@pytest.mark.asyncio*"]
    )
