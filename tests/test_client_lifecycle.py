"""`async with StytchRBAC(...)` hands the caller's own exceptions back unchanged."""

from __future__ import annotations

import pytest

from stytch_rbac import PermissionDenied, StytchRBAC


class _Boom(Exception):
    """An application error raised inside the facade's context."""


@pytest.mark.anyio
async def test_exception_inside_context_is_not_wrapped(anyio_backend: str) -> None:
    """An exception raised in the body propagates as itself, not as an ExceptionGroup,
    so `except PermissionDenied:` around the block keeps working."""
    with pytest.raises(_Boom):
        async with StytchRBAC("project-test-x", "secret", base_url="http://127.0.0.1:9"):
            raise _Boom
    with pytest.raises(PermissionDenied):
        async with StytchRBAC("project-test-x", "secret", base_url="http://127.0.0.1:9"):
            raise PermissionDenied("documents", "delete")
