"""A StytchRBAC whose decision and authentication events are collected, on the emulator."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from stytch_rbac import AuthenticationEvent, DecisionEvent, StytchRBAC
from stytch_rbac.emulator import Emulator

EXAMPLE_POLICY = Path(__file__).resolve().parents[2] / "examples" / "policy.json"
IN_PROCESS_URL = "http://stytch-emulator.invalid"


@dataclass
class Seen:
    """Every event a facade reported, in order."""

    decisions: list[DecisionEvent] = field(default_factory=list)
    authentications: list[AuthenticationEvent] = field(default_factory=list)


def in_process(emulator: Emulator, **options: Any) -> tuple[StytchRBAC, httpx.AsyncClient]:
    """A facade over the emulator in process (no socket), and its httpx client to close."""
    http = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=emulator.app), base_url=IN_PROCESS_URL
    )
    rbac = StytchRBAC(
        emulator.project_id,
        emulator.secret,
        base_url=IN_PROCESS_URL,
        http_client=http,
        clock=emulator.clock,
        **options,
    )
    return rbac, http


@pytest.fixture
def seen() -> Seen:
    """The events collected by :func:`observed`."""
    return Seen()


@pytest.fixture
async def observed(stytch_emulator: Emulator, seen: Seen) -> AsyncIterator[StytchRBAC]:
    """An open facade whose ``on_decision`` / ``on_authentication`` fill ``seen``."""
    rbac, http = in_process(
        stytch_emulator,
        on_decision=seen.decisions.append,
        on_authentication=seen.authentications.append,
    )
    async with http, rbac:
        yield rbac
