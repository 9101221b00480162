"""The one pooled ``httpx.AsyncClient`` and GET retries (the adapter for the SDK is in ``sdk``).

* :func:`make_http_client` builds the shared client (timeouts, pool limits).
* :func:`get_with_retries` performs an idempotent GET: it retries connect
  errors, timeouts, 429 and 5xx with exponential backoff and full jitter,
  honours ``Retry-After``, and never runs past one overall deadline.
* :func:`send_once` sends a request that changes state exactly once.

Connection failures, timeouts and bodies that do not decode surface as
:class:`~stytch_rbac.errors.StytchUnavailable`; HTTP error statuses are
returned to the caller, who maps them (see ``errors``).

Credentials stay out of tracebacks: the project's id and secret travel as an
``httpx.Auth`` (:func:`basic_auth`, whose repr shows neither), never as a tuple
in a frame's locals, and the ``__cause__`` of a failure is a copy of httpx's
exception (same type and message) without the request it failed on, whose
``Authorization`` header, traceback and chain would otherwise travel with the
error (and print with pytest ``-l`` or rich's ``show_locals``).
"""

from __future__ import annotations

import email.utils
import logging
import math
import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

import anyio
import httpx

from ..errors import StytchUnavailable
from .endpoints import DEFAULT_TIMEOUT

__all__ = [
    "basic_auth",
    "in_process_client",
    "DEFAULT_RETRY",
    "DEFAULT_TIMEOUT",
    "RETRY_STATUSES",
    "RetryPolicy",
    "get_with_retries",
    "make_http_client",
    "send_once",
]

logger = logging.getLogger("stytch_rbac")

RETRY_STATUSES: Final = frozenset({408, 429, 500, 502, 503, 504})
USER_AGENT: Final = "stytch-rbac (python; httpx)"
_UNWIND_MARGIN: Final = 0.05


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How idempotent GETs are retried.

    ``attempts`` counts the first try. The n-th retry waits a random time in
    ``[0, min(max_backoff, backoff * 2**n)]`` (full jitter), or at least the
    server's ``Retry-After`` when it sends one. No wait runs past the overall
    deadline: a retry that would end after it is not attempted.
    """

    attempts: int = 3
    backoff: float = 0.1
    max_backoff: float = 2.0

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError(f"RetryPolicy.attempts must be >= 1, got {self.attempts!r}")
        if self.backoff < 0 or self.max_backoff < 0:
            raise ValueError("RetryPolicy backoff values must be >= 0")

    def delay(self, retry: int, retry_after: float | None, rand: Callable[[], float]) -> float:
        """Seconds to wait before retry number ``retry`` (0-based)."""
        ceiling = min(self.max_backoff, self.backoff * (2.0**retry))
        jittered = ceiling * rand()
        if retry_after is not None:
            return max(retry_after, jittered)
        return jittered


#: The retry policy used when none is given.
DEFAULT_RETRY: Final = RetryPolicy()


def make_http_client(
    *,
    timeout: float = DEFAULT_TIMEOUT,
    transport: httpx.AsyncBaseTransport | None = None,
    max_connections: int = 100,
) -> httpx.AsyncClient:
    """The pooled client every request goes through (ours and the stytch SDK's)."""
    return httpx.AsyncClient(
        timeout=httpx.Timeout(timeout),
        limits=httpx.Limits(
            max_connections=max_connections, max_keepalive_connections=min(20, max_connections)
        ),
        headers={"User-Agent": USER_AGENT},
        transport=transport,
        follow_redirects=False,
    )


def basic_auth(project_id: str, secret: str) -> httpx.Auth:
    """HTTP basic auth as an ``httpx.Auth`` object: its repr shows neither id nor secret."""
    return httpx.BasicAuth(project_id, secret)


def _as_auth(auth: httpx.Auth | tuple[str, str] | None) -> httpx.Auth | None:
    """``auth`` as an ``httpx.Auth`` (a ``(login, password)`` tuple converted)."""
    return basic_auth(*auth) if isinstance(auth, tuple) else auth


def _detached(exc: BaseException) -> BaseException:
    """A copy of ``exc`` (same type, same message) without its request (and so its
    ``Authorization`` header), its traceback (frames holding that request) or its chain."""
    try:
        return type(exc)(*exc.args)
    except Exception:  # a constructor wanting more than its message (none of httpx's here)
        return Exception(f"{type(exc).__name__}: {exc}")


def _caused_by(error: StytchUnavailable, exc: BaseException | None) -> StytchUnavailable:
    """``error`` with a detached copy of ``exc`` as its ``__cause__``: raised outside the
    ``except`` block, it has no ``__context__`` holding the original either."""
    error.__cause__ = None if exc is None else _detached(exc)
    return error


def in_process_client(app: Any, *, base_url: str) -> httpx.AsyncClient:
    """A client whose requests go straight to an ASGI ``app`` (the emulator), no socket."""
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url=base_url,
        headers={"User-Agent": USER_AGENT},
        follow_redirects=False,
    )


def parse_retry_after(value: str | None, now: float) -> float | None:
    """``Retry-After`` as seconds from now: delta-seconds or an HTTP date; None if absent/bad."""
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        seconds = when.timestamp() - now
    if math.isnan(seconds) or math.isinf(seconds):
        return None
    return max(0.0, seconds)


def _host(url: str | httpx.URL) -> str:
    """Scheme, host and path of a URL, for logs (no query string: it may carry ids)."""
    u = httpx.URL(url)
    return f"{u.scheme}://{u.host}{':' + str(u.port) if u.port else ''}{u.path}"


async def get_with_retries(
    client: httpx.AsyncClient,
    url: str,
    *,
    params: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
    auth: httpx.Auth | tuple[str, str] | None = None,
    timeout: float = DEFAULT_TIMEOUT,  # noqa: ASYNC109  (one deadline across every retry)
    retry: RetryPolicy = DEFAULT_RETRY,
    rand: Callable[[], float] = random.random,
    wall_time: Callable[[], float] | None = None,
    sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
) -> httpx.Response:
    """GET ``url`` with retries; the whole exchange ends within ``timeout`` seconds.

    Returns the last response (which may be an error status once retries are
    exhausted). Raises :class:`StytchUnavailable` on connection failures or
    timeouts that outlast the retries or the deadline. ``rand``, ``wall_time``
    and ``sleep`` are injectable for tests.
    """
    auth = _as_auth(auth)  # rebound: no local of this frame holds the secret in clear
    now = wall_time or _wall_time
    # A little of the budget is kept for unwinding a cancelled request (closing the
    # connection), so that the caller gets its answer within ``timeout`` overall.
    deadline = anyio.current_time() + timeout - min(_UNWIND_MARGIN, timeout / 10)
    last_error: Exception | None = None
    for attempt in range(retry.attempts):
        remaining = deadline - anyio.current_time()
        if remaining <= 0:
            break
        response: httpx.Response | None = None
        try:
            with anyio.fail_after(remaining):
                response = await client.get(
                    url,
                    params=_query(params),
                    headers=headers,
                    auth=auth if auth is not None else httpx.USE_CLIENT_DEFAULT,
                    timeout=httpx.Timeout(min(timeout, remaining)),
                    # Never followed, even by a caller's client made to follow them: a 3xx
                    # is an error answer (see errors.error_from_stytch).
                    follow_redirects=False,
                )
                if response.status_code in RETRY_STATUSES:
                    await response.aread()
        except (httpx.RequestError, TimeoutError) as exc:
            last_error = exc
            retry_after = None
        else:
            if response.status_code not in RETRY_STATUSES or attempt == retry.attempts - 1:
                return response
            retry_after = parse_retry_after(response.headers.get("Retry-After"), now())
        if attempt == retry.attempts - 1:
            break
        wait = retry.delay(attempt, retry_after, rand)
        if anyio.current_time() + wait >= deadline:
            if response is not None:
                return response
            break
        logger.debug(
            "stytch_rbac: GET %s %s; retry %d in %.2fs",
            _host(url),
            response.status_code if response is not None else type(last_error).__name__,
            attempt + 1,
            wait,
        )
        await sleep(wait)
    if isinstance(last_error, TimeoutError | httpx.TimeoutException) or last_error is None:
        error = StytchUnavailable(f"Stytch did not answer GET {_host(url)} within {timeout:g}s")
    else:
        error = _request_failed("GET", url, last_error)
    error = _caused_by(error, last_error)
    del last_error, response  # each keeps the request, its Authorization header included
    raise error


async def send_once(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    json_body: Any = None,
    form: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
    auth: httpx.Auth | tuple[str, str] | None = None,
    timeout: float = DEFAULT_TIMEOUT,  # noqa: ASYNC109  (passed to httpx and fail_after)
) -> httpx.Response:
    """Send a state-changing request exactly once (never retried); same deadline rules."""
    auth = _as_auth(auth)  # rebound: no local of this frame holds the secret in clear
    budget = timeout - min(_UNWIND_MARGIN, timeout / 10)
    error: StytchUnavailable
    try:
        with anyio.fail_after(budget):
            return await client.request(
                method,
                url,
                json=json_body,
                data=form,
                headers=headers,
                auth=auth if auth is not None else httpx.USE_CLIENT_DEFAULT,
                timeout=httpx.Timeout(budget),
                follow_redirects=False,
            )
    except (TimeoutError, httpx.TimeoutException) as exc:
        error = _caused_by(
            StytchUnavailable(
                f"Stytch did not answer {method} {_host(url)} within {round(timeout, 3):g}s "
                "(not retried: the call may have taken effect)"
            ),
            exc,
        )
    except httpx.RequestError as exc:
        error = _caused_by(_request_failed(method, url, exc), exc)
    # Raised here, outside the except blocks: httpx's exception is not its __context__.
    raise error


def _request_failed(method: str, url: str, exc: Exception) -> StytchUnavailable:
    """The error for a request that got no usable answer (not a timeout)."""
    if isinstance(exc, httpx.TransportError):
        return StytchUnavailable(f"Stytch unreachable: {method} {_host(url)}: {type(exc).__name__}")
    # DecodingError: an answer whose body does not decode (bad Content-Encoding).
    return StytchUnavailable(
        f"Stytch's answer to {method} {_host(url)} could not be read: {type(exc).__name__}"
    )


def _wall_time() -> float:
    import time

    return time.time()


def _query(params: Mapping[str, Any] | None) -> dict[str, str] | None:
    """Query parameters as strings; booleans the way the SDK's sync client sends them."""
    if params is None:
        return None
    return {k: str(v) for k, v in params.items() if v is not None}
