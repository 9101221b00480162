"""Member passwords for ``passwords.authenticate`` of the frontend SDK.

A password is set from Python (``Emulator.set_password``); the emulator keeps a
salted PBKDF2 hash in memory (not in state snapshots) and sets the member's
``member_password_id``, so the backend's ``delete_password`` and
``require_reset`` (which clear that id) also stop the password from working.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from typing import Any

from ._errors import EmulatorError
from ._members import check_email, touch
from ._params import Params
from ._sessions import create_session
from ._state import MemberRec, OrgRec, SessionRec, State
from ._tokens import new_id

__all__ = ["Passwords"]

JSON = dict[str, Any]

_ITERATIONS = 20_000  # an emulator: enough not to keep plain text, fast in tests


def _hash(password: str, salt: bytes) -> bytes:
    return hashlib.pbkdf2_hmac("sha256", password.encode(), salt, _ITERATIONS)


def _refused() -> EmulatorError:
    # One answer for an unknown address, no password and a wrong one: nothing to probe.
    return EmulatorError(401, "unauthorized_credentials", "Unauthorized credentials.")


class Passwords:
    """The password hashes of one emulator's members."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._hashes: dict[str, tuple[bytes, bytes]] = {}

    def set(self, state: State, member: MemberRec, password: str) -> str:
        """Give ``member`` this password; returns its ``member_password_id``."""
        if len(password) < 8:
            raise ValueError("a password must have at least 8 characters")
        salt = secrets.token_bytes(16)
        with state.lock:
            if not member.data.get("member_password_id"):
                member.data["member_password_id"] = new_id("member-password")
                touch(state, member)
            with self._lock:
                self._hashes[member.member_id] = (salt, _hash(password, salt))
            return str(member.data["member_password_id"])

    def authenticate(self, state: State, p: Params) -> tuple[OrgRec, MemberRec, SessionRec]:
        """Email and password in an organization: a member session, or 401."""
        email = check_email(p.required("email_address"))
        password = p.required("password")
        minutes = p.opt_int("session_duration_minutes") or 60
        with state.lock:
            org = state.org(p.required("organization_id"))
            member = state.member_by_email(org, email)
            if member is None or member.data["status"] == "deleted":
                raise _refused()
            with self._lock:
                stored = self._hashes.get(member.member_id)
            if stored is None or not member.data.get("member_password_id"):
                raise _refused()
            salt, digest = stored
            if not hmac.compare_digest(digest, _hash(password, salt)):
                raise _refused()
            return org, member, create_session(state, member, duration_minutes=minutes)
