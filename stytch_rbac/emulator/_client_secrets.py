"""Client secrets of M2M clients and Connected Apps: stored hashed, rotated in three steps.

Stytch shows a secret once (on create, and the next one on ``rotate/start``) and keeps
it as a SHA-256 hash with its last four characters; a record holds ``secret_hash``,
``secret_last_four`` and, during a rotation, ``next_secret_hash`` and
``next_secret_last_four``. While rotating both secrets authenticate; ``rotate`` makes
the next one the only one, ``cancel`` drops it. :class:`SecretRotation` serves those
three routes for either kind, with its own envelope and error types (``m2m_client_*``,
``connected_app_*``).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ._errors import bad_request
from ._routing import Req, Route
from ._state import State

__all__ = ["SecretRotation", "hash_secret", "new_secret", "secret_fields", "secret_matches"]

JSON = dict[str, Any]


def hash_secret(secret: str) -> str:
    """The SHA-256 hex digest a secret is kept as."""
    return hashlib.sha256(secret.encode()).hexdigest()


def new_secret() -> str:
    """A fresh random client secret."""
    return secrets.token_urlsafe(36)


def secret_fields(secret: str | None) -> JSON:
    """The stored fields of a new record holding ``secret`` (None: a public client)."""
    return {
        "secret_hash": None if secret is None else hash_secret(secret),
        "secret_last_four": None if secret is None else secret[-4:],
        "next_secret_hash": None,
        "next_secret_last_four": None,
    }


def secret_matches(record: Mapping[str, Any], secret: str) -> bool:
    """Whether ``secret`` is the record's secret or, during a rotation, its next one (both
    compared, in constant time)."""
    given = hash_secret(secret)
    current = record.get("secret_hash")
    nxt = record.get("next_secret_hash")
    return (current is not None and hmac.compare_digest(given, current)) | (
        nxt is not None and hmac.compare_digest(given, nxt)
    )


@dataclass(frozen=True, slots=True)
class SecretRotation:
    """The three rotation routes of one kind of client (``{client}/secrets/rotate/...``).

    ``find`` returns the stored record for a client id (404 otherwise), ``wire`` its wire
    object; ``key`` is the envelope key (``m2m_client``), ``error_prefix`` that of the
    error types (``m2m_client_already_rotating_secret``), ``noun`` the client in messages;
    ``can_rotate`` refuses a record that has no secret to rotate (a public app).
    """

    key: str
    error_prefix: str
    noun: str
    find: Callable[[State, str], JSON]
    wire: Callable[[Mapping[str, Any]], JSON]
    can_rotate: Callable[[JSON], None] | None = None

    def routes(self, client_path: str, route_prefix: str) -> list[Route]:
        """``rotate/start``, ``rotate`` and ``rotate/cancel`` under ``client_path``."""
        path = client_path + "/secrets/rotate"
        name = route_prefix + ".secrets.rotate"
        return [
            Route("POST", path + "/start", name + "_start", self._start),
            Route("POST", path, name, self._complete),
            Route("POST", path + "/cancel", name + "_cancel", self._cancel),
        ]

    def _start(self, state: State, req: Req) -> JSON:
        with state.lock:
            record = self.find(state, req.path["client_id"])
            if self.can_rotate is not None:
                self.can_rotate(record)
            if record.get("next_secret_hash") is not None:
                raise bad_request(
                    f"The {self.noun} is already rotating its secret.",
                    f"{self.error_prefix}_already_rotating_secret",
                )
            secret = new_secret()
            record["next_secret_hash"] = hash_secret(secret)
            record["next_secret_last_four"] = secret[-4:]
            state.changed()
            wire = self.wire(record)
            # The SDK's rotate/start model types the current secret's last four as a string.
            wire["client_secret_last_four"] = record.get("secret_last_four") or ""
            return {self.key: {**wire, "next_client_secret": secret}}

    def _rotating(self, state: State, req: Req) -> JSON:
        record = self.find(state, req.path["client_id"])
        if record.get("next_secret_hash") is None:
            raise bad_request(
                f"The {self.noun} is not rotating its secret.",
                f"{self.error_prefix}_not_rotating_secret",
            )
        return record

    def _complete(self, state: State, req: Req) -> JSON:
        with state.lock:
            record = self._rotating(state, req)
            record["secret_hash"] = record["next_secret_hash"]
            record["secret_last_four"] = record["next_secret_last_four"]
            return self._without_next(state, record)

    def _cancel(self, state: State, req: Req) -> JSON:
        with state.lock:
            return self._without_next(state, self._rotating(state, req))

    def _without_next(self, state: State, record: JSON) -> JSON:
        record["next_secret_hash"] = record["next_secret_last_four"] = None
        state.changed()
        return {self.key: self.wire(record)}
