"""Shared fixtures: every async test runs on asyncio and on trio."""

from __future__ import annotations

from pathlib import Path

import pytest

from stytch_rbac import Policy

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
