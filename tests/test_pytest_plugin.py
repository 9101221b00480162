"""The user-facing pytest plugin works in a fresh project: fixtures, policy from marker /
option / ini, in-process or real HTTP, the member factory, on asyncio and trio; and loading
it costs no web-framework import."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

# Imported here so that pytester's in-process runs find them already loaded: it drops the
# modules a run imports, and a re-imported cryptography no longer matches its Rust bindings.

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[1]
DOCS_EXAMPLE = re.compile(r"```python\n(# test_documents\.py\n.*?)```", re.DOTALL)

#: A small policy with a custom role, written into each fresh project.
POLICY = {
    "policy": {
        "resources": [
            {"resource_id": "documents", "description": "", "actions": ["read", "edit"]},
        ],
        "roles": [
            {"role_id": "stytch_member", "description": "", "permissions": []},
            {"role_id": "stytch_admin", "description": "", "permissions": []},
            {
                "role_id": "writer",
                "description": "",
                "permissions": [{"resource_id": "documents", "actions": ["read", "edit"]}],
            },
            {
                "role_id": "reader",
                "description": "",
                "permissions": [{"resource_id": "documents", "actions": ["read"]}],
            },
        ],
        "scopes": [],
    }
}

CONFTEST = """
import pytest

@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request):
    return request.param
"""

INI = """
[pytest]
addopts = --strict-markers -p no:cacheprovider
filterwarnings = error
"""


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """A fresh project: a policy file, an anyio_backend over both backends, strict settings,
    and anyio's plugin only (pytest-asyncio, installed here, is tested in its own file)."""
    monkeypatch.setenv("PYTEST_ADDOPTS", "-p no:asyncio")
    pytester.makefile(".json", policy=json.dumps(POLICY))
    pytester.makeconftest(CONFTEST)
    pytester.makeini(INI)
    return pytester


def test_fixtures_work_on_both_backends(project: pytest.Pytester) -> None:
    """stytch_rbac authenticates a member made by the factory and decides with the policy."""
    project.makepyfile(
        """
        import pytest

        pytestmark = [pytest.mark.anyio, pytest.mark.stytch_policy("policy.json")]

        async def test_writer_may_edit(stytch_rbac, member):
            writer = member(roles=["writer"])
            principal = await stytch_rbac.authenticate(session_jwt=writer.session_jwt)
            assert principal == writer.principal
            assert await stytch_rbac.is_authorized(principal, "documents", "edit")

        async def test_plain_member_may_not(stytch_rbac, member):
            nobody = member()
            assert not await stytch_rbac.is_authorized(nobody.principal, "documents", "read")

        async def test_session_token_works(stytch_rbac, member):
            principal = await stytch_rbac.authenticate(session_token=member().session_token)
            assert "stytch_member" in principal.roles
        """
    )
    project.runpytest("-p", "no:randomly").assert_outcomes(passed=6)


@pytest.mark.parametrize(
    ("how", "args"),
    [
        pytest.param("marker", (), id="marker"),
        pytest.param("option", ("--stytch-policy", "policy.json"), id="option"),
        pytest.param("ini", (), id="ini"),
    ],
)
def test_policy_sources(project: pytest.Pytester, how: str, args: tuple[str, ...]) -> None:
    """The emulator's policy comes from the marker, the command line or the ini file."""
    if how == "ini":
        project.makeini(INI + "stytch_policy = policy.json\n")
    marker = '@pytest.mark.stytch_policy("policy.json")' if how == "marker" else ""
    project.makepyfile(
        f"""
        import pytest

        {marker}
        def test_policy(stytch_emulator):
            assert "writer" in {{r.role_id for r in stytch_emulator.policy.roles}}
        """
    )
    project.runpytest(*args).assert_outcomes(passed=1)


def test_marker_accepts_a_decoded_policy_and_defaults_to_stytch_roles(
    project: pytest.Pytester,
) -> None:
    """A dict works as the marker's policy; without any, Stytch's default roles are served
    in-process (no socket: the base URL is the in-process one)."""
    project.makepyfile(
        f"""
        import pytest
        from stytch_rbac.testing import IN_PROCESS_URL

        @pytest.mark.stytch_policy({POLICY!r})
        def test_dict(stytch_emulator):
            assert "writer" in {{r.role_id for r in stytch_emulator.policy.roles}}

        def test_default(stytch_emulator, stytch_base_url):
            roles = {{r.role_id for r in stytch_emulator.policy.roles}}
            assert roles == {{"stytch_member", "stytch_admin"}}
            assert stytch_base_url == IN_PROCESS_URL
        """
    )
    project.runpytest().assert_outcomes(passed=2)


def test_bad_marker_is_a_usage_error(project: pytest.Pytester) -> None:
    """A marker without a policy, or with a number, fails with a message naming the marker."""
    project.makepyfile(
        """
        import pytest

        @pytest.mark.stytch_policy()
        def test_empty(stytch_emulator):
            pass

        @pytest.mark.stytch_policy(42)
        def test_number(stytch_emulator):
            pass
        """
    )
    result = project.runpytest()
    result.assert_outcomes(errors=2)
    result.stdout.fnmatch_lines(["*stytch_policy takes exactly one policy*"])
    result.stdout.fnmatch_lines(["*stytch_policy takes a path*got int*"])


@pytest.mark.parametrize("http", [False, True], ids=["in-process", "http"])
def test_sync_fixture_in_plain_tests(project: pytest.Pytester, http: bool) -> None:
    """stytch_rbac_sync serves plain (sync) tests, in process or over HTTP, and leaves no
    loop thread behind; the async stytch_rbac fixture in a sync test names it."""
    mark = "@pytest.mark.stytch_http" if http else ""
    project.makepyfile(
        f"""
        import threading

        import pytest

        pytestmark = pytest.mark.stytch_policy("policy.json")

        {mark}
        def test_writer_may_edit(stytch_rbac_sync, member, stytch_emulator):
            writer = member(roles=["writer"])
            principal = stytch_rbac_sync.authenticate(session_jwt=writer.session_jwt)
            assert stytch_rbac_sync.is_authorized(principal, "documents", "edit")
            stytch_emulator.advance_time(301)
            assert stytch_rbac_sync.authenticate(session_jwt=writer.session_jwt).jwt_refreshed

        def test_no_loop_thread_is_left():
            assert "stytch-rbac-loop" not in [t.name for t in threading.enumerate()]

        def test_async_fixture_in_a_sync_test(stytch_rbac):
            pass
        """
    )
    result = project.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(["*sync tests use stytch_rbac_sync*"])


@pytest.mark.parametrize(
    ("args", "marker"),
    [
        pytest.param((), True, id="marker"),
        pytest.param(("--stytch-http",), False, id="option"),
    ],
)
def test_real_http_on_request(
    project: pytest.Pytester, args: tuple[str, ...], marker: bool
) -> None:
    """With the marker or --stytch-http the emulator listens on 127.0.0.1; the facade uses it."""
    mark = "@pytest.mark.stytch_http" if marker else ""
    project.makepyfile(
        f"""
        import httpx
        import pytest

        pytestmark = [pytest.mark.anyio, pytest.mark.stytch_policy("policy.json")]

        {mark}
        async def test_http(stytch_rbac, stytch_base_url, member, stytch_emulator):
            assert stytch_base_url.startswith("http://127.0.0.1:")
            async with httpx.AsyncClient() as client:
                jwks = await client.get(
                    f"{{stytch_base_url}}/v1/b2b/sessions/jwks/{{stytch_emulator.project_id}}"
                )
            assert jwks.status_code == 200
            principal = await stytch_rbac.authenticate(session_token=member().session_token)
            assert principal.organization_slug == "acme"
        """
    )
    project.runpytest(*args).assert_outcomes(passed=2)


def test_emulators_share_keys_unless_a_test_asks_for_its_own(project: pytest.Pytester) -> None:
    """Each test's emulator has its own kid; its key is the process's shared one, except under
    ``@pytest.mark.stytch_fresh_keys``."""
    project.makepyfile(
        """
        import httpx
        import pytest

        pytestmark = pytest.mark.anyio
        SEEN = {}

        async def jwk(emulator):
            transport = httpx.ASGITransport(app=emulator.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://e") as client:
                response = await client.get(f"/v1/b2b/sessions/jwks/{emulator.project_id}")
            (key,) = response.json()["keys"]
            return key["kid"], key["n"]

        async def test_shared_1(stytch_emulator, anyio_backend):
            SEEN["shared_1", anyio_backend] = await jwk(stytch_emulator)

        async def test_shared_2(stytch_emulator, anyio_backend):
            SEEN["shared_2", anyio_backend] = await jwk(stytch_emulator)

        @pytest.mark.stytch_fresh_keys
        async def test_own(stytch_emulator, anyio_backend):
            SEEN["own", anyio_backend] = await jwk(stytch_emulator)

        def test_zz_compare():
            kids = [kid for kid, _ in SEEN.values()]
            assert len(kids) == len(set(kids)) == 6
            shared = {n for (name, _), (_, n) in SEEN.items() if name.startswith("shared")}
            own = {n for (name, _), (_, n) in SEEN.items() if name == "own"}
            assert len(shared) == 1
            assert len(own) == 2
            assert not shared & own
        """
    )
    project.runpytest("-p", "no:randomly").assert_outcomes(passed=7)


def test_member_factory(project: pytest.Pytester) -> None:
    """Members share a default organization, named ones are created once, tokens stay hidden."""
    project.makepyfile(
        """
        import pytest

        pytestmark = pytest.mark.stytch_policy("policy.json")

        def test_factory(member, stytch_emulator):
            a, b = member(["writer"]), member()
            globex = member(organization="Globex")
            again = member(organization="Globex")
            by_id = member(organization=globex.organization_id)
            by_record = member(organization=member.organization("Globex"))
            assert a.organization_id == b.organization_id
            assert globex.organization_id == again.organization_id == by_id.organization_id
            assert by_record.organization_id == globex.organization_id
            assert a.organization_id != globex.organization_id
            assert set(a.roles) == {"stytch_member", "writer"}
            assert a.principal.session_token == a.session_token
            assert a.headers == {"Authorization": "Bearer " + a.session_jwt}
            assert a.cookies["stytch_session"] == a.session_token
            assert a.session_jwt not in repr(a) and a.session_token not in repr(a)
            custom = member(email_address="ada@acme.test", custom_claims={"tier": "gold"})
            assert custom.email_address == "ada@acme.test"
            assert custom.principal.custom_claims["tier"] == "gold"
            with pytest.raises(TypeError):
                member("writer")
            with pytest.raises(ValueError):
                member.organization(" ")
        """
    )
    project.runpytest().assert_outcomes(passed=1)


def test_options_listed_in_help(project: pytest.Pytester) -> None:
    """The plugin's options and markers are registered in a project that never mentions it."""
    project.runpytest("--help").stdout.fnmatch_lines(
        ["*--stytch-policy=PATH*", "*--stytch-http*", "*stytch_policy (string)*"]
    )
    project.runpytest("--markers").stdout.fnmatch_lines(
        ["*@pytest.mark.stytch_policy(policy)*", "*@pytest.mark.stytch_http*"]
    )


def test_loading_the_plugin_imports_no_framework() -> None:
    """Importing the plugin module loads neither the emulator, Starlette, uvicorn, FastAPI nor the
    stytch SDK."""
    code = textwrap.dedent(
        """
        import sys
        import stytch_rbac.testing
        heavy = [m for m in ("starlette", "uvicorn", "fastapi", "stytch",
                             "stytch_rbac.emulator") if m in sys.modules]
        print(heavy)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_docs_example_test_file_passes(project: pytest.Pytester) -> None:
    """The example test file in docs/testing.md runs as is and passes, on both backends."""
    match = DOCS_EXAMPLE.search((ROOT / "docs" / "testing.md").read_text(encoding="utf-8"))
    assert match is not None, "docs/testing.md lost its example test file"
    project.makepyfile(test_documents=match.group(1))
    project.runpytest("-p", "no:randomly").assert_outcomes(passed=12)
