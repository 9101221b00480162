"""The ``Permission`` value type and the small bases that generated code builds on.

A permission is one Stytch ``resource_id`` and one ``action``. Both are kept as
plain ``str`` (a StrEnum member is reduced to its value), so a permission built
from generated enums and one built from strings are equal and hash alike.

The text form is ``"resource:action"`` (what ``str(permission)`` writes, and
what ``Permission.parse``, guards, ``StytchRBAC.is_authorized`` / ``authorize``
/ ``explain`` and ``CompiledPolicy`` read). The split rule:

1. The text holds exactly one ``:``; the resource is what precedes it, the
   action what follows it. Both must be non-empty.
2. Nothing else is special: dots, dashes, underscores, ``*`` and any other
   character belong to the part they are in (``stytch.member:update.info.name``,
   ``stytch.member:revoke-sessions``). Nothing is stripped or case-folded.
3. Text with two or more ``:`` is refused (``ValueError``) instead of split
   by a guess. Stytch documents no character set for resource ids or actions
   (only that custom resource ids may not start with ``stytch``), and its own
   ids use dots, dashes and underscores, never ``:``; so ``"a:b:c"`` is
   ambiguous, and a permission whose id does contain ``:`` is spelt
   ``Permission("a:b", "c")`` or as the two arguments ``("a:b", "c")``.

Hence ``Permission.parse(str(p)) == p`` for every permission whose resource
and action contain no ``:``.

A generated constant also knows the policy's Connected-Apps / M2M scopes that grant
it: ``P.documents.read.scopes`` (generated ``Scope`` members). They describe the
policy the module was generated from; they take no part in equality or hashing, so
``P.documents.read == Permission("documents", "read")``.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from enum import StrEnum
from typing import Any, ClassVar, Final, cast, final

__all__ = ["ActionEnum", "Permission", "StrEnum"]

_SEPARATOR: Final = ":"
_NO_SCOPES: Final[frozenset[str]] = frozenset()
_FORMS: Final = (
    "a Permission (P.documents.edit), an action enum member (DocumentsAction.EDIT), "
    "a 'resource:action' string, or a resource and an action"
)


@final
class Permission:
    """One action on one resource, e.g. ``Permission("documents", "edit")``.

    Immutable and hashable; ``str(p)`` is ``"documents:edit"``. Generated code
    exposes typed constants of this class (``P.documents.edit``).

    ``scopes`` are the policy scopes that grant the permission (any one of them
    does), as the generated module records them; empty for a permission built by
    hand. They are not part of the permission's value (equality, hash, order).
    """

    __slots__ = ("action", "resource", "scopes")

    resource: str
    action: str
    #: The policy scopes granting this permission (generated ``Scope`` members), or empty.
    scopes: frozenset[str]

    def __init__(self, resource: str, action: str, *, scopes: Iterable[str] = ()) -> None:
        for value in (resource, action):
            if not isinstance(value, str):
                raise TypeError(
                    f"Permission(resource, action) takes strings, got {type(value).__name__}"
                )
        if not resource or not action:
            raise ValueError("Permission resource and action must be non-empty")
        # str() reduces a StrEnum member to its plain value: one canonical form.
        object.__setattr__(self, "resource", str(resource))
        object.__setattr__(self, "action", str(action))
        if isinstance(scopes, str):
            raise TypeError(
                f"scopes takes a collection of scope names, not one string ({scopes!r})"
            )
        held = frozenset(scopes) if scopes else _NO_SCOPES
        for scope in held:
            if not isinstance(cast(object, scope), str) or not scope:
                raise TypeError(f"each scope must be a non-empty string, got {scope!r}")
        object.__setattr__(self, "scopes", held)

    @classmethod
    def parse(cls, text: str) -> Permission:
        """Parse ``"resource:action"`` (the form ``str()`` produces; rule in the module docs).

        Raises ``ValueError`` unless ``text`` holds exactly one ``:`` with text
        on both sides, and ``TypeError`` for a non-string.
        """
        if not isinstance(text, str):
            raise TypeError(f"Permission.parse() takes a str, got {type(text).__name__}")
        resource, sep, action = str(text).partition(_SEPARATOR)
        if not sep or not resource or not action:
            raise ValueError(f"expected 'resource:action', got {str(text)!r}")
        if _SEPARATOR in action:
            raise ValueError(
                f"{str(text)!r} holds more than one ':', so it does not say where the resource "
                "ends; write Permission(resource, action) or pass resource and action apart"
            )
        return cls(resource, action)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("Permission is immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError("Permission is immutable")

    def __eq__(self, other: object) -> bool:
        if type(other) is Permission:
            return self.resource == other.resource and self.action == other.action
        return NotImplemented

    def __hash__(self) -> int:
        return hash((self.resource, self.action))

    def __lt__(self, other: Permission) -> bool:
        return (self.resource, self.action) < (other.resource, other.action)

    def __str__(self) -> str:
        return f"{self.resource}{_SEPARATOR}{self.action}"

    def __repr__(self) -> str:
        return f"Permission({self.resource!r}, {self.action!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        if not self.scopes:
            return (Permission, (self.resource, self.action))
        # Plain strings: unpickling must not need the generated module importable.
        return (_with_scopes, (self.resource, self.action, tuple(sorted(map(str, self.scopes)))))


def _with_scopes(resource: str, action: str, scopes: tuple[str, ...]) -> Permission:
    """Unpickle a :class:`Permission` carrying scopes (``__reduce__`` passes no keywords)."""
    return Permission(resource, action, scopes=scopes)


class ActionEnum(StrEnum):
    """Base of the generated per-resource action enums (``DocumentsAction``, ...).

    Each generated subclass sets ``__resource__`` to its Stytch resource id, so
    a member knows the permission it stands for: ``DocumentsAction.EDIT.permission``.
    """

    __resource__: ClassVar[str]

    @property
    def permission(self) -> Permission:
        """The :class:`Permission` this action names on its own resource."""
        return Permission(type(self).__resource__, self.value)


@functools.lru_cache(maxsize=4096)
def _split(text: str) -> tuple[str, str]:
    """``Permission.parse`` as a (resource, action) pair, remembered: permission strings
    are a few literals in a program, asked about on every request."""
    p = Permission.parse(text)
    return p.resource, p.action


def _permission_args(first: object, action: object = None) -> tuple[str, str]:
    """(resource, action) from every spelling of a permission the library takes.

    ``first`` alone: a :class:`Permission`, an :class:`ActionEnum` member or a
    ``"resource:action"`` string; or ``first`` and ``action``: a resource and an
    action (strings or StrEnum members). Shared by ``StytchRBAC`` and
    ``CompiledPolicy``; not API.
    """
    if action is None:
        if type(first) is Permission:
            return first.resource, first.action
        if isinstance(first, ActionEnum):
            p = first.permission
            return p.resource, p.action
        if isinstance(first, str):
            if _SEPARATOR not in first:
                raise TypeError(f"{str(first)!r} is a resource without an action; pass {_FORMS}")
            return _split(first)
        raise TypeError(f"expected {_FORMS}; got {type(first).__name__}")
    if not isinstance(first, str) or not isinstance(action, str):
        raise TypeError(
            "resource and action must be strings or StrEnum members, got "
            f"{type(first).__name__} and {type(action).__name__}"
        )
    # A generated action enum knows its resource: (Resource.DOCUMENTS, ProjectsAction.READ)
    # would otherwise quietly ask about documents:read.
    if isinstance(action, ActionEnum) and type(action).__resource__ != first:
        raise TypeError(
            f"{type(action).__name__}.{action.name} is an action of resource "
            f"{str(type(action).__resource__)!r}, not of {str(first)!r}"
        )
    return first, action
