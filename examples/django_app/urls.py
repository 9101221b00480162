"""The URLconf: the routes of :func:`examples.django_app.views.urlpatterns_for` around the
blocking facade made from the environment, on first use."""

from __future__ import annotations

import functools
from typing import Any

from stytch_rbac.sync import StytchRBAC

from .views import urlpatterns_for

# `rbac` and `urlpatterns` come from __getattr__, built on first use.
__all__: list[str] = []


@functools.cache
def _rbac() -> StytchRBAC:
    return StytchRBAC.from_env()


def __getattr__(name: str) -> Any:
    # Built on first use, not at import: importing the settings needs no credentials.
    if name == "rbac":
        return _rbac()
    if name == "urlpatterns":
        return urlpatterns_for(_rbac())
    raise AttributeError(name)
