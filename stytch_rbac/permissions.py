"""The ``Permission`` value type and the small bases that generated code builds on.

A permission is one Stytch ``resource_id`` and one ``action``. Both are kept as
plain ``str`` (a StrEnum member is reduced to its value), so a permission built
from generated enums and one built from strings are equal and hash alike.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, ClassVar, Final, final

__all__ = ["ActionEnum", "Permission", "StrEnum"]

_SEPARATOR: Final = ":"


@final
class Permission:
    """One action on one resource, e.g. ``Permission("documents", "edit")``.

    Immutable and hashable; ``str(p)`` is ``"documents:edit"``. Generated code
    exposes typed constants of this class (``P.documents.edit``).
    """

    __slots__ = ("action", "resource")

    resource: str
    action: str

    def __init__(self, resource: str, action: str) -> None:
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

    @classmethod
    def parse(cls, text: str) -> Permission:
        """Parse ``"resource:action"`` (the form ``str()`` produces)."""
        resource, sep, action = text.rpartition(_SEPARATOR)
        if not sep or not resource or not action:
            raise ValueError(f"expected 'resource:action', got {text!r}")
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

    def __reduce__(self) -> tuple[type[Permission], tuple[str, str]]:
        return (Permission, (self.resource, self.action))


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
