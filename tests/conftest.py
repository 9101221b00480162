"""Shared fixtures: every async test runs on asyncio and on trio; the plugin's emulator
answers only what Stytch's OpenAPI description allows."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from conformance.recorder import recording
from hypothesis import HealthCheck, settings

from stytch_rbac import Policy
from stytch_rbac.emulator import Emulator

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

# Hypothesis's too_slow health check times input generation on the wall clock: on a shared
# 2-core CI machine one stall (another process, a full GC of a 3,000-test process) fails a
# test whose strategy is trivial (seen: one draw of a 3-key dict taking 2.7 s). Tests here
# assert behaviour, never time; every other health check stays on.
settings.register_profile("suite", suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("suite")


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
