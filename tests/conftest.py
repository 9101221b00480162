"""Shared fixtures: every async test runs on asyncio and on trio; the plugin's emulator
answers only what Stytch's OpenAPI description allows."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from conformance.recorder import recording

from stytch_rbac import Policy
from stytch_rbac.emulator import Emulator

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    """Run each ``@pytest.mark.anyio`` test once per backend."""
    backend: str = request.param
    return backend


@pytest.fixture(scope="session")
def example_policy() -> Policy:
    """The realistic policy in examples/policy.json."""
    return Policy.from_file(EXAMPLES / "policy.json")


@pytest.fixture
def stytch_emulator(stytch_emulator: Emulator) -> Iterator[Emulator]:
    """The plugin's ``stytch_emulator``; after the test, every response it sent must fit
    Stytch's OpenAPI description (tests/conformance/recorder.py)."""
    with recording(stytch_emulator) as log:
        yield stytch_emulator
    problems = log.problems()
    assert not problems, "responses outside Stytch's description:\n" + "\n".join(problems)
