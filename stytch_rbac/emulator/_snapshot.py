"""Saving the emulator's state to a JSON file atomically, and loading it back.

A snapshot is written to a temporary file beside the target, named after the
writing process (``.state.json.<pid>.<random>.tmp``), then renamed over it. A
process killed between the two leaves that file behind: :func:`remove_orphans`
deletes the ones whose writer is gone when the next emulator starts on the file.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from ..policy import CompiledPolicy, OrgPolicy, Policy
from ._state import MemberRec, OrgRec, SessionRec, State
from ._time import ShiftedClock

__all__ = ["FORMAT", "dump", "load", "read", "remove_orphans", "write_atomic"]

FORMAT = 1
"""Version of the snapshot layout; a file with another version is refused."""

JSON = dict[str, Any]

_ORPHAN_AGE = 60.0
"""Where no process can be asked whether it lives (not POSIX): a temporary file this many
seconds old is an orphan (a write takes milliseconds)."""


def dump(state: State) -> JSON:
    """Everything needed to restart the emulator where it stopped (private keys included).

    ``clock_offset`` is how far a :class:`ShiftedClock` (the default clock) was
    advanced; a ``ManualClock`` is the test's own and is not saved.
    """
    with state.lock:
        clock = state.clock
        return {
            "format": FORMAT,
            "project_id": state.project_id,
            "secret": state.secret,
            "clock_offset": clock.offset if isinstance(clock, ShiftedClock) else None,
            "policy": state.policy.to_json(),
            "keys": state.keys.to_json(),
            "organizations": [
                {"seq": o.seq, "data": o.data, "org_policy": o.org_policy.to_json()}
                for o in state.orgs.values()
            ],
            "members": [
                {
                    "seq": m.seq,
                    "data": m.data,
                    "explicit_roles": m.explicit_roles,
                    "email_id": m.email_id,
                }
                for m in state.members.values()
            ],
            "sessions": [
                {
                    "member_session_id": s.member_session_id,
                    "member_id": s.member_id,
                    "organization_id": s.organization_id,
                    "session_token": s.session_token,
                    "started_at": s.started_at,
                    "last_accessed_at": s.last_accessed_at,
                    "expires_at": s.expires_at,
                    "custom_claims": s.custom_claims,
                    "factors": s.factors,
                }
                for s in state.sessions.values()
            ],
            "outbox": state.outbox,
            "sso": list(state.sso.values()),
            "scim": list(state.scim.values()),
            "scim_groups": state.scim_groups,
            "connected_apps": state.connected_apps,
            "connected_grants": state.connected_grants,
            "project_domain": state.project_domain,
            "m2m_clients": state.m2m_clients,
            "agent_tokens": state.agent_tokens,
        }


def load(state: State, data: JSON) -> None:
    """Replace ``state``'s content with a snapshot made by :func:`dump`."""
    if data.get("format") != FORMAT:
        raise ValueError(f"not an emulator state file of format {FORMAT}")
    policy = Policy.parse(data["policy"])
    offset = data.get("clock_offset")
    if offset is not None and (
        isinstance(offset, bool)
        or not isinstance(offset, (int, float))
        or not math.isfinite(offset)
    ):
        raise ValueError("clock_offset in the state file is not a finite number")
    with state.lock:
        clock = state.clock
        # The clock only moves forward: it catches up with the saved offset, never goes back.
        if offset is not None and isinstance(clock, ShiftedClock) and offset > clock.offset:
            clock.advance(offset - clock.offset)
        state.policy = policy
        state.compiled = CompiledPolicy(policy, strict=False)
        state.keys.load_json(data["keys"])
        state.orgs = {}
        for row in data["organizations"]:
            org = OrgRec(
                row["data"]["organization_id"],
                row["data"],
                row["seq"],
                OrgPolicy.parse(row["org_policy"]),
            )
            state.orgs[org.organization_id] = org
        state.members = {}
        for row in data["members"]:
            member = MemberRec(
                row["data"]["member_id"],
                row["data"]["organization_id"],
                row["data"],
                row["seq"],
                list(row["explicit_roles"]),
                row["email_id"],
            )
            state.members[member.member_id] = member
        state.sessions = {s["member_session_id"]: SessionRec(**s) for s in data["sessions"]}
        state.session_tokens = {
            s.session_token: s.member_session_id for s in state.sessions.values()
        }
        state.outbox = list(data["outbox"])
        state.sso = {c["connection_id"]: c for c in data["sso"]}
        state.scim = {c["connection_id"]: c for c in data["scim"]}
        state.scim_groups = dict(data["scim_groups"])
        state.connected_apps = dict(data["connected_apps"])
        state.connected_grants = dict(data["connected_grants"])
        # Absent from the snapshots written before M2M clients and agent tokens existed.
        state.m2m_clients = dict(data.get("m2m_clients", {}))
        state.agent_tokens = dict(data.get("agent_tokens", {}))
        top = max(
            [
                0,
                *(o.seq for o in state.orgs.values()),
                *(m.seq for m in state.members.values()),
                *(int(c.get("seq", 0)) for c in state.m2m_clients.values()),
                *(int(a.get("seq", 0)) for a in state.connected_apps.values()),
            ]
        )
        state.reset_seq(top + 1)
        state.changed()


def read(path: str | Path) -> JSON:
    """A snapshot file's content."""
    data: JSON = json.loads(Path(path).read_text(encoding="utf-8"))
    return data


def write_atomic(path: str | Path, data: JSON) -> None:
    """Write ``data`` as JSON so that ``path`` always holds a complete snapshot.

    The bytes go to a temporary file in the same directory, are flushed to disk,
    and replace ``path`` with ``os.replace`` (atomic on POSIX and Windows).
    """
    target = Path(path)
    fd, tmp = tempfile.mkstemp(
        prefix=f".{target.name}.{os.getpid()}.", suffix=".tmp", dir=target.parent
    )
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, separators=(",", ":"))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _writer_alive(pid: int, tmp: Path) -> bool:
    """Whether the process that named ``tmp`` after itself may still be writing it."""
    if pid == os.getpid():
        return True  # another emulator of this process may be mid-write
    if os.name != "posix":
        # os.kill(pid, 0) would terminate the process on Windows: judge by age instead.
        try:
            return time.time() - tmp.stat().st_mtime < _ORPHAN_AGE
        except OSError:
            return False
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, as another user
    return True


def remove_orphans(path: str | Path) -> list[Path]:
    """Delete the temporary files :func:`write_atomic` left beside ``path`` in processes
    that died mid-write (``kill -9``); return them. A live writer's file is kept."""
    target = Path(path)
    prefix = f".{target.name}."
    try:
        entries = list(target.parent.iterdir())
    except OSError:
        return []
    removed: list[Path] = []
    for entry in entries:
        name = entry.name
        if not (name.startswith(prefix) and name.endswith(".tmp")):
            continue
        pid, _, rest = name[len(prefix) : -len(".tmp")].partition(".")
        # A name without a pid is the older layout's, which no live writer uses.
        if pid.isdigit() and rest and _writer_alive(int(pid), entry):
            continue
        with contextlib.suppress(OSError):
            entry.unlink()
            removed.append(entry)
    return removed
