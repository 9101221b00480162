"""The optional extras: an import that fails for want of one says which one to install."""

from __future__ import annotations

from collections.abc import Collection
from typing import NoReturn

__all__ = ["raise_missing_extra"]


def raise_missing_extra(
    exc: ImportError, *, extra: str, needed_by: str, modules: Collection[str]
) -> NoReturn:
    """Raise, in place of ``exc``, a :class:`ModuleNotFoundError` naming ``extra`` when the
    missing module is in one of the extra's ``modules`` (``name`` the missing package,
    ``exc`` as ``__cause__``); re-raise ``exc`` itself otherwise (a bug of ours must not read as a
    missing extra)."""
    missing = (exc.name or "").partition(".")[0]  # the package, what pip installs
    if missing not in modules:
        raise exc
    raise ModuleNotFoundError(
        f"{needed_by} needs the '{extra}' extra ({missing} is not installed): "
        f"pip install 'stytch-rbac[{extra}]'",
        name=missing,
    ) from exc
