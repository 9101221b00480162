"""Routes: (verb, path pattern) -> endpoint name and handler, matched on raw path segments."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from ._params import Params
from ._state import State

__all__ = ["Handler", "Req", "Route", "Router"]

JSON = dict[str, Any]


@dataclass(slots=True)
class Req:
    """One parsed request as handlers see it."""

    method: str
    path: dict[str, str]
    params: Params
    session_token: str | None = None
    session_jwt: str | None = None
    #: Where the request reached the emulator (``http://127.0.0.1:8765/``): discovery
    #: documents point their endpoints here.
    base_url: str = ""

    @property
    def has_session_header(self) -> bool:
        """Whether a member-session authorization header came with the request."""
        return self.session_token is not None or self.session_jwt is not None


Handler = Callable[[State, Req], JSON]


@dataclass(frozen=True, slots=True)
class Route:
    """``GET /v1/b2b/organizations/{organization_id}`` -> ``organizations.get``."""

    method: str
    pattern: str
    name: str
    handler: Handler
    auth: bool = True
    #: Also accept an ``application/x-www-form-urlencoded`` body (the OAuth endpoints).
    form: bool = False

    @property
    def segments(self) -> tuple[str, ...]:
        """The pattern split on ``/``."""
        return tuple(self.pattern.strip("/").split("/"))


class Router:
    """Finds the route of a request by its verb and its percent-decoded path segments.

    Segments are decoded one by one after splitting the raw path, so an id holding
    ``%2F`` stays one segment (reference 1.3). Literal segments win over
    parameters, so ``members/search`` is never read as an organization id.
    """

    def __init__(self, routes: Sequence[Route]) -> None:
        shapes: dict[tuple[str, int], list[tuple[tuple[bool, ...], Route, tuple[str, ...]]]] = {}
        for route in routes:
            segs = route.segments
            literal_first = tuple(s.startswith("{") for s in segs)
            shapes.setdefault((route.method, len(segs)), []).append((literal_first, route, segs))
        self._by_shape: dict[tuple[str, int], list[tuple[Route, tuple[str, ...]]]] = {
            shape: [(route, segs) for _, route, segs in sorted(found, key=lambda c: c[0])]
            for shape, found in shapes.items()
        }

    def match(self, method: str, raw_path: str) -> tuple[Route, dict[str, str]] | None:
        """The route and its decoded path parameters, or ``None``."""
        segs = [unquote(s) for s in raw_path.strip("/").split("/")]
        for route, pattern in self._by_shape.get((method, len(segs)), ()):
            params: dict[str, str] = {}
            for want, got in zip(pattern, segs, strict=True):
                if want.startswith("{"):
                    if not got:
                        break
                    params[want[1:-1]] = got
                elif want != got:
                    break
            else:
                return route, params
        return None
