"""Fixtures for the emulator conformance suite: an emulator seeded like examples/, SDK clients.

The emulator is the system under test here, so these fixtures build it directly rather than
through the pytest plugin (whose fixtures are for applications' tests): the suite reads the
emulator's own records (``MemberRecord.json``, ``SessionRecord``), which the plugin's
``SeededMember`` deliberately reduces to ids and credentials, and it drives the real
``stytch`` SDK, not ``StytchRBAC``. tests/test_pytest_plugin.py covers the plugin itself.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
import stytch
from conformance.recorder import recording

from stytch_rbac.emulator import Emulator, MemberRecord, OrganizationRecord, SessionRecord

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@dataclass(frozen=True)
class Seeded:
    """Two organizations with an admin, an editor and a viewer in the first one."""

    emu: Emulator
    acme: OrganizationRecord
    globex: OrganizationRecord
    admin: MemberRecord
    editor: MemberRecord
    viewer: MemberRecord
    outsider: MemberRecord
    admin_session: SessionRecord
    editor_session: SessionRecord
    viewer_session: SessionRecord
    outsider_session: SessionRecord


@pytest.fixture
def emu() -> Iterator[Emulator]:
    """A fresh emulator running the example policy; after the test, every response it sent
    must fit Stytch's OpenAPI description (tests/conformance/recorder.py)."""
    emulator = Emulator(policy=EXAMPLES / "policy.json")
    with recording(emulator) as log:
        yield emulator
    problems = log.problems()
    assert not problems, "responses outside Stytch's description:\n" + "\n".join(problems)


@pytest.fixture
def seeded(emu: Emulator) -> Seeded:
    """``emu`` with two organizations, members of each role and a session for each."""
    acme = emu.create_organization("Acme", slug="acme")
    globex = emu.create_organization("Globex", slug="globex")
    admin = emu.create_member(acme.organization_id, "admin@acme.test", roles=["stytch_admin"])
    editor = emu.create_member(acme.organization_id, "editor@acme.test", roles=["editor"])
    viewer = emu.create_member(acme.organization_id, "viewer@acme.test", roles=["viewer"])
    outsider = emu.create_member(globex.organization_id, "x@globex.test", roles=["stytch_admin"])
    return Seeded(
        emu,
        acme,
        globex,
        admin,
        editor,
        viewer,
        outsider,
        emu.create_session(admin.member_id),
        emu.create_session(editor.member_id),
        emu.create_session(viewer.member_id),
        emu.create_session(outsider.member_id),
    )


@pytest.fixture
def base_url(emu: Emulator) -> Iterator[str]:
    """``emu`` served over real HTTP from a background thread."""
    with emu.serve_in_thread() as url:
        yield url


def new_client(
    project_id: str, secret: str, base_url: str, session: requests.Session
) -> stytch.B2BClient:
    """A real ``stytch.B2BClient`` for ``base_url`` using ``session`` for its sync calls.

    The SDK builds an ``aiohttp.BasicAuth`` in its constructor, which aiohttp 3.14
    deprecates; that warning is the SDK's, not ours, so it is silenced here only.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "BasicAuth is deprecated", DeprecationWarning)
        return stytch.B2BClient(project_id, secret, environment=base_url, sync_session=session)


@pytest.fixture
def make_client() -> Iterator[Callable[[str, str, str], stytch.B2BClient]]:
    """A factory of SDK clients whose HTTP sessions are closed after the test."""
    sessions: list[requests.Session] = []

    def make(project_id: str, secret: str, base_url: str) -> stytch.B2BClient:
        sessions.append(requests.Session())
        return new_client(project_id, secret, base_url, sessions[-1])

    yield make
    for session in sessions:
        session.close()


@pytest.fixture
def client(
    emu: Emulator, base_url: str, make_client: Callable[[str, str, str], stytch.B2BClient]
) -> stytch.B2BClient:
    """The real, unmodified stytch SDK pointed at the served emulator."""
    return make_client(emu.project_id, emu.secret, base_url)
