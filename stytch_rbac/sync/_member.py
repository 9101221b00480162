"""The blocking member client: :class:`stytch_rbac.member.MemberClient`, call for call.

Mechanical on purpose: every coroutine method of the async member client (and of
its namespaces, ``organizations.members``, ``sso.saml``, ...) is reached through
``__getattr__`` and run on the facade's event loop, with the same signature
(``inspect.signature`` follows ``__wrapped__``), the same pre-flight, the same
error mapping and the SDK's own response model. Nothing is listed by hand, so
an SDK upgrade that regenerates the async wrappers changes this client too
(``tests/sync/test_sync_member.py`` walks both trees and compares them).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable
from typing import Any, Final

__all__ = ["MemberClient", "MemberNamespace"]

Runner = Callable[[Callable[[], Awaitable[Any]]], Any]
"""Runs an argument-less coroutine function on the facade's loop, blocking until it returns."""

#: The async member client and its namespaces are defined under this package.
_MEMBER_PACKAGE: Final = "stytch_rbac.member"


def _blocking(method: Callable[..., Awaitable[Any]], run: Runner) -> Callable[..., Any]:
    @functools.wraps(method)
    def call(*args: Any, **kwargs: Any) -> Any:
        return run(functools.partial(method, *args, **kwargs))

    return call


class MemberNamespace:
    """A blocking view of one namespace of the async member client (``organizations``...).

    Attributes are looked up on the async object: a coroutine method becomes a
    blocking one, a namespace a :class:`MemberNamespace`, anything else is returned
    as it is. Each is built once, then kept.
    """

    def __init__(self, target: object, run: Runner) -> None:
        self._target = target
        self._run = run

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        value = getattr(self._target, name)
        wrapped: Any
        if inspect.iscoroutinefunction(value):
            wrapped = _blocking(value, self._run)
        elif type(value).__module__.startswith(_MEMBER_PACKAGE):
            wrapped = MemberNamespace(value, self._run)
        else:
            return value  # plain values (``preflight``) are read afresh each time
        self.__dict__[name] = wrapped
        return wrapped

    def __dir__(self) -> list[str]:
        return sorted(n for n in dir(self._target) if not n.startswith("_"))

    def __repr__(self) -> str:
        return f"<blocking {self._target!r}>"


class MemberClient(MemberNamespace):
    """Stytch's built-in calls made as one member, blocking:
    ``member.organizations.members.delete(organization_id=..., member_id=...)``.

    Build it with :meth:`stytch_rbac.sync.StytchRBAC.as_member`. Same attributes,
    methods, parameters, pre-flight, errors and return values as
    :class:`stytch_rbac.member.MemberClient`; each call blocks until Stytch answers.
    """
