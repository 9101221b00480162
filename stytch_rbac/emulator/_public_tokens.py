"""The project's frontend settings: its public token and the origins allowed to use it.

Stytch's frontend SDKs identify the project with a *public token*
(``public-token-test-<uuid>`` in a test environment; the SDK picks the test API
URL because of that prefix) and only answer pages served from the project's
authorized domains. The emulator derives its public token from the project id
(so a restart with the same ``--project-id`` or state file keeps it, and a
frontend's configuration stays valid) unless one is given.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterable
from urllib.parse import urlsplit

__all__ = ["DEFAULT_ORIGINS", "PublicTokens", "normalize_origin"]

#: Origins allowed when none are configured: any port of the loopback names, as a
#: Stytch test project's default authorized domain is ``localhost``.
DEFAULT_ORIGINS: tuple[str, ...] = ("http://localhost:*", "http://127.0.0.1:*")

_TOKEN_NAMESPACE = uuid.UUID("6b1f3c4e-5a0d-4d59-9a8b-2f0c3e1d7a10")


def _derived_token(project_id: str) -> str:
    return f"public-token-test-{uuid.uuid5(_TOKEN_NAMESPACE, project_id)}"


def _split(origin: str) -> tuple[str, str]:
    """``(scheme://host, port part)``: the port part is ``""``, ``":<port>"`` or ``":*"``."""
    text = origin.strip().rstrip("/")
    any_port = text.endswith(":*")
    if any_port:
        text = text[:-2]
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(
            f"allowed origin {origin!r} is not an origin such as http://localhost:3000"
        )
    if parts.path or parts.query or parts.fragment or parts.username or parts.password:
        raise ValueError(f"allowed origin {origin!r} is more than scheme://host:port")
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"allowed origin {origin!r} has an invalid port") from None
    host = parts.hostname.lower()
    if ":" in host:  # an IPv6 literal
        host = f"[{host}]"
    if any_port:
        return f"{parts.scheme}://{host}", ":*"
    return f"{parts.scheme}://{host}", "" if port is None else f":{port}"


def normalize_origin(origin: str) -> str:
    """``scheme://host[:port]`` in lower case (``:*``: any port); ``ValueError`` naming
    what is wrong."""
    base, port = _split(origin)
    return base + port


class PublicTokens:
    """The public tokens of the project and the origins whose pages may use them."""

    def __init__(
        self,
        project_id: str,
        public_token: str | None = None,
        allowed_origins: Iterable[str] | None = None,
    ) -> None:
        token = public_token or _derived_token(project_id)
        if not token.startswith(("public-token-test-", "public-token-live-")):
            raise ValueError(
                f"public token {token!r} must start with public-token-test- (or -live-), "
                "as the frontend SDK picks its API URL from that prefix"
            )
        self._lock = threading.Lock()
        self._tokens = [token]
        self._origins: list[str] = []
        self.set_allowed_origins(DEFAULT_ORIGINS if allowed_origins is None else allowed_origins)

    @property
    def public_token(self) -> str:
        """The token a frontend passes to ``createStytchB2BClient``."""
        return self._tokens[0]

    def known(self, token: str) -> bool:
        """Whether ``token`` is one of the project's public tokens."""
        with self._lock:
            return token in self._tokens

    @property
    def allowed_origins(self) -> list[str]:
        """The origins (``scheme://host:port``, ``:*`` for any port) allowed to call."""
        with self._lock:
            return list(self._origins)

    def set_allowed_origins(self, origins: Iterable[str]) -> None:
        """Replace the allowed origins (each validated by :func:`normalize_origin`)."""
        normalized = [normalize_origin(o) for o in origins]
        with self._lock:
            self._origins = list(dict.fromkeys(normalized))

    def allow_origin(self, origin: str) -> None:
        """Allow one more origin."""
        normalized = normalize_origin(origin)
        with self._lock:
            if normalized not in self._origins:
                self._origins.append(normalized)

    def origin_allowed(self, origin: str | None) -> bool:
        """Whether a page served from ``origin`` may call the SDK API (``None``: no)."""
        if not origin:
            return False
        try:
            base, port = _split(origin)
        except ValueError:
            return False
        if port == ":*":
            return False  # a request names one origin, never a pattern
        with self._lock:
            return any(o in (base + port, base + ":*") for o in self._origins)
