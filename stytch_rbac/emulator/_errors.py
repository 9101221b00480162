"""The one exception the emulator raises, shaped like a Stytch error response."""

from __future__ import annotations

from typing import Any

__all__ = ["EmulatorError", "bad_request", "not_found"]

_ERROR_URL = "https://stytch.com/docs/api-reference/b2b/api/errors/{status}#{error_type}"


class EmulatorError(Exception):
    """A Stytch API error: raised by the Python API, answered as JSON over HTTP.

    ``status_code``, ``error_type`` and ``error_message`` are what Stytch's
    error envelope carries (reference 1.5); the message never holds a token.
    """

    def __init__(self, status_code: int, error_type: str, error_message: str) -> None:
        super().__init__(f"{status_code} {error_type}: {error_message}")
        self.status_code = status_code
        self.error_type = error_type
        self.error_message = error_message

    def body(self, request_id: str) -> dict[str, Any]:
        """The JSON error envelope Stytch answers with."""
        return {
            "status_code": self.status_code,
            "request_id": request_id,
            "error_type": self.error_type,
            "error_message": self.error_message,
            "error_url": _ERROR_URL.format(status=self.status_code, error_type=self.error_type),
        }


def bad_request(message: str, error_type: str = "invalid_argument") -> EmulatorError:
    """A 400 error (``invalid_argument`` unless a more precise type is given)."""
    return EmulatorError(400, error_type, message)


def not_found(error_type: str, message: str) -> EmulatorError:
    """A 404 error such as ``member_not_found``."""
    return EmulatorError(404, error_type, message)
