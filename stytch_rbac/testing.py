"""pytest plugin and helpers for testing your own app against the Stytch emulator.

Loaded by pytest through the ``pytest11`` entry point in every project where
stytch-rbac is installed, so importing this module stays cheap: the emulator,
Starlette and uvicorn are imported lazily, inside the fixtures.
"""

from __future__ import annotations

import pytest

__all__: list[str] = []


def pytest_configure(config: pytest.Config) -> None:
    """Register the plugin's markers so ``--strict-markers`` accepts them."""
    config.addinivalue_line(
        "markers", "stytch_policy(policy): the policy the stytch_emulator fixture starts with"
    )
