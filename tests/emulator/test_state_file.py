"""``--state`` files across crashes and restarts: no orphan temporary files, the clock kept.

These run real processes: one killed with SIGKILL in the middle of a snapshot write,
and the ``stytch-rbac emulator`` command restarted on the same file.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from stytch_rbac.emulator import Emulator

from .test_cli_emulator import _first_line, _start, _stop

pytestmark = pytest.mark.skipif(os.name != "posix", reason="SIGKILL and pids are POSIX here")

# A process that persists an emulator to argv[1], then stops inside its next snapshot
# write just before the rename, says so, and waits to be killed.
_KILLED_MID_WRITE = textwrap.dedent(
    """
    import os, sys, time
    from stytch_rbac.emulator import Emulator

    emu = Emulator()
    emu.persist_to(sys.argv[1])
    emu.create_organization("Saved", slug="saved")

    def stall(src, dst):
        print("stalled", flush=True)
        time.sleep(120)

    os.replace = stall
    emu.create_organization("Never saved", slug="never-saved")
    """
)


def _client(info: dict[str, Any]) -> httpx.Client:
    """A client of the emulator the command printed ``info`` for."""
    return httpx.Client(base_url=info["base_url"], auth=(info["project_id"], info["secret"]))


def _orphans(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".tmp"))


def test_a_write_killed_by_sigkill_leaves_no_orphan_after_a_restart(tmp_path: Path) -> None:
    """kill -9 during a save leaves the previous snapshot whole and one temporary file;
    the next emulator started on that file removes it (they used to pile up)."""
    state = tmp_path / "state.json"
    writer = subprocess.Popen(
        [sys.executable, "-c", _KILLED_MID_WRITE, str(state)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert _first_line(writer) == "stalled\n"
    finally:
        writer.send_signal(signal.SIGKILL)
        writer.communicate(timeout=20)
    assert writer.returncode == -signal.SIGKILL
    orphans = _orphans(tmp_path)
    assert len(orphans) == 1
    assert orphans[0].startswith(".state.json.")
    saved = json.loads(state.read_text())
    assert [o["data"]["organization_slug"] for o in saved["organizations"]] == ["saved"]

    proc = _start("--state", str(state))
    try:
        info: dict[str, Any] = json.loads(_first_line(proc))
        assert _orphans(tmp_path) == []
        with _client(info) as c:
            found = c.post("/v1/b2b/organizations/search", json={}).json()["organizations"]
        assert [o["organization_slug"] for o in found] == ["saved"]
    finally:
        _stop(proc, signal.SIGINT)
    assert _orphans(tmp_path) == []


def test_a_temporary_file_of_a_live_writer_is_left_alone(tmp_path: Path) -> None:
    """Only temporary files whose writer is gone are removed: another live process's
    in-flight write (here: this test's parent's pid) is not touched, nor other files."""
    state = tmp_path / "state.json"
    live = tmp_path / f".state.json.{os.getppid()}.inflight.tmp"
    dead = tmp_path / ".state.json.999999999.gone.tmp"
    legacy = tmp_path / ".state.json.k3j4h5g6.tmp"  # the name the writer used to choose
    unrelated = tmp_path / ".other.json.999999999.gone.tmp"
    for path in (live, dead, legacy, unrelated):
        path.write_text("{")
    Emulator().persist_to(state)
    assert _orphans(tmp_path) == sorted([live.name, unrelated.name])
    assert json.loads(state.read_text())["format"] == 1


def test_the_cli_keeps_the_clock_offset_across_a_restart(tmp_path: Path) -> None:
    """Time advanced over HTTP is saved with --state and still advanced after a restart."""
    state = tmp_path / "state.json"
    proc = _start("--state", str(state))
    try:
        info: dict[str, Any] = json.loads(_first_line(proc))
        with _client(info) as c:
            moved = c.post("/_emulator/time/advance", json={"seconds": 86_400})
            assert moved.status_code == 200, moved.text
    finally:
        _stop(proc, signal.SIGINT)
    proc = _start("--state", str(state))
    try:
        again: dict[str, Any] = json.loads(_first_line(proc))
        with _client(again) as c:
            now = c.post("/_emulator/time/advance", json={"seconds": 0}).json()["now"]
    finally:
        _stop(proc, signal.SIGTERM)
    assert now >= time.time() + 86_400 - 60
