"""Saving the emulator's state to a JSON file atomically, and loading it back."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from ..policy import CompiledPolicy, OrgPolicy, Policy
from ._state import MemberRec, OrgRec, SessionRec, State

__all__ = ["FORMAT", "dump", "load", "read", "write_atomic"]

FORMAT = 1
"""Version of the snapshot layout; a file with another version is refused."""

JSON = dict[str, Any]


def dump(state: State) -> JSON:
    """Everything needed to restart the emulator where it stopped (private keys included)."""
    with state.lock:
        return {
            "format": FORMAT,
            "project_id": state.project_id,
            "secret": state.secret,
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
        }


def load(state: State, data: JSON) -> None:
    """Replace ``state``'s content with a snapshot made by :func:`dump`."""
    if data.get("format") != FORMAT:
        raise ValueError(f"not an emulator state file of format {FORMAT}")
    policy = Policy.parse(data["policy"])
    with state.lock:
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
        top = max(
            [0, *(o.seq for o in state.orgs.values()), *(m.seq for m in state.members.values())]
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
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
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
