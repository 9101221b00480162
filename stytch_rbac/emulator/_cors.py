"""CORS for the frontend SDK's API: credentialed requests from the allowed origins only.

The SDK calls ``/sdk/v1`` with ``fetch(..., {credentials: "include"})`` and
custom headers, so every call from a page is preflighted and the answer must
name the page's exact origin and allow credentials (a ``*`` origin is refused
by browsers for credentialed requests). A page from another origin gets no
CORS headers at all: its browser blocks the answer, as it does with Stytch for
a domain that is not in the project's authorized domains.
"""

from __future__ import annotations

__all__ = ["ALLOWED_HEADERS", "ALLOWED_METHODS", "cors_headers", "preflight_headers"]

#: What the SDK sends: Basic auth, a JSON body, its telemetry and the page's origin.
ALLOWED_HEADERS = "Authorization, Content-Type, X-SDK-Client, X-SDK-Parent-Host"
ALLOWED_METHODS = "GET, POST, PUT, DELETE, OPTIONS"


def cors_headers(origin: str | None, allowed: bool) -> dict[str, str]:
    """The headers of an answer to ``origin``: its CORS grant when ``allowed``.

    ``Vary: Origin`` is always sent: the answer depends on the requesting origin,
    so no cache may hand one origin's answer to another.
    """
    headers = {"Vary": "Origin"}
    if allowed and origin:
        headers["Access-Control-Allow-Origin"] = origin
        headers["Access-Control-Allow-Credentials"] = "true"
    return headers


def preflight_headers(origin: str) -> dict[str, str]:
    """The answer to an allowed origin's ``OPTIONS`` preflight."""
    return {
        **cors_headers(origin, True),
        "Access-Control-Allow-Methods": ALLOWED_METHODS,
        "Access-Control-Allow-Headers": ALLOWED_HEADERS,
        "Access-Control-Max-Age": "600",
    }
