"""pytest plugin: a local Stytch for your own tests (the emulator), a facade pointed at it,
and members with live sessions in one line.

Loaded by pytest through the ``pytest11`` entry point wherever stytch-rbac is
installed, so this module stays cheap to import: the emulator, Starlette,
uvicorn and httpx are imported inside the fixtures, on first use.

Fixtures:

``stytch_emulator``
    A fresh :class:`~stytch_rbac.emulator.Emulator` per test. Its policy comes
    from the ``@pytest.mark.stytch_policy(policy)`` marker (a path, a decoded
    JSON object or a ``Policy``), else ``--stytch-policy PATH``, else the
    ``stytch_policy`` ini option, else Stytch's default resources and roles.
    Relative paths in the marker and the ini option are relative to the
    rootdir; on the command line, to the current directory. Its signing key is
    shared with the process's other emulators (under a ``kid`` of its own),
    which makes the fixture cost about a millisecond instead of an RSA key
    generation; ``@pytest.mark.stytch_fresh_keys`` gives the test keys of its own.
``stytch_base_url``
    Where ``stytch_rbac`` reaches the emulator: in-process (ASGI, no socket)
    by default; real HTTP on 127.0.0.1 and a free port with
    ``@pytest.mark.stytch_http``, ``--stytch-http`` or ``stytch_http = true``.
``stytch_rbac``
    An open :class:`~stytch_rbac.StytchRBAC` pointed at the emulator and sharing
    its clock (``stytch_emulator.advance_time(301)`` expires JWTs for both).
    Async: use it from ``@pytest.mark.anyio`` tests (asyncio and trio) or from tests
    pytest-asyncio runs (auto mode, or ``@pytest.mark.asyncio``), on the test's loop.
``stytch_rbac_sync``
    The blocking :class:`stytch_rbac.sync.StytchRBAC`, pointed at the emulator
    the same way, for plain (sync) test functions: Flask, Django, scripts.
``member``
    A factory: ``member(roles=["editor"], organization="Globex")`` creates a
    member with a live session and returns a :class:`SeededMember` (its
    ``principal``, ``session_jwt``, ``session_token``, ready ``headers`` and
    ``cookies``). ``organization`` is an organization id, a record, or a name
    (created on first use); by default every member joins one organization.
``agent``
    A factory: ``agent(["read:documents"], roles=["editor"])`` creates a member
    (or takes ``member=`` one the ``member`` fixture made) and a Connected App,
    and mints the app's access token for the member with those scopes, refusing
    scopes the member's roles do not cover, as Stytch's consent screen does.
    Returns a :class:`SeededAgent` (``access_token``, ``headers``, ids, scopes,
    its ``principal``).
``service``
    A factory: ``service(["read:documents"])`` creates an M2M client and mints
    its client-credentials token; returns a :class:`SeededService`
    (``access_token``, ``headers``, ``client_id``, ``client_secret``, scopes,
    its ``principal``).

Policy-test files (the ``stytch-rbac test`` format, docs/guides/policy-tests.md)
are collected as test items, one per expectation, when the project opts in by
naming their file patterns in the ``stytch_policy_tests`` ini option (e.g.
``policy_test*.yaml policy_test*.toml``); by default nothing is collected. A
failing row reports the policy's answer.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import itertools
import re
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
    Iterator,
    Mapping,
    MutableMapping,
)
from fnmatch import fnmatch
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Final, Literal, Protocol, cast

import pytest

from ._extras import raise_missing_extra

if TYPE_CHECKING:
    from .client import StytchRBAC
    from .emulator import ConnectedAppRecord, Emulator, OrganizationRecord
    from .policy import Policy
    from .policy.expectations import Expectation, ExpectationRunner
    from .principal import AgentPrincipal, Principal, ServicePrincipal
    from .sync import StytchRBAC as SyncStytchRBAC

__all__ = [
    "ASGIApp",
    "AgentFactory",
    "MemberFactory",
    "PolicyTestFile",
    "PolicyTestItem",
    "SeededAgent",
    "SeededMember",
    "SeededService",
    "ServiceFactory",
    "open_rbac",
    "serve_app",
]

#: Base URL the in-process (ASGI) emulator is addressed by; no socket is opened.
IN_PROCESS_URL: Final = "http://stytch-emulator.invalid"

_DEFAULT_ORGANIZATION: Final = "Acme"

_Message = MutableMapping[str, Any]
ASGIApp = Callable[
    [_Message, Callable[[], Awaitable[_Message]], Callable[[_Message], Awaitable[None]]],
    Awaitable[None],
]
"""An ASGI 3 application (Starlette, FastAPI, ...)."""


def pytest_addoption(parser: pytest.Parser) -> None:
    """Register ``--stytch-policy`` / ``--stytch-http`` and their ini twins."""
    group = parser.getgroup("stytch_rbac", "stytch-rbac emulator fixtures")
    group.addoption(
        "--stytch-policy",
        dest="stytch_policy",
        default=None,
        metavar="PATH",
        help="RBAC policy JSON the stytch_emulator fixture starts with",
    )
    group.addoption(
        "--stytch-http",
        dest="stytch_http",
        action="store_true",
        default=False,
        help="serve the stytch_emulator over real HTTP on 127.0.0.1 instead of in-process",
    )
    parser.addini("stytch_policy", "RBAC policy JSON for stytch_emulator (relative to rootdir)")
    parser.addini(
        "stytch_policy_tests",
        "file-name patterns of policy-test files to collect as tests (none unless set), "
        "e.g. policy_test*.yaml policy_test*.toml",
        type="args",
        default=[],
    )
    parser.addini(
        "stytch_http",
        "serve stytch_emulator over real HTTP (true/false)",
        type="bool",
        default=False,
    )


def pytest_configure(config: pytest.Config) -> None:
    """Register the plugin's markers so ``--strict-markers`` accepts them."""
    config.addinivalue_line(
        "markers", "stytch_policy(policy): the policy the stytch_emulator fixture starts with"
    )
    config.addinivalue_line(
        "markers", "stytch_http: serve the stytch_emulator fixture over real HTTP on 127.0.0.1"
    )
    config.addinivalue_line(
        "markers",
        "stytch_fresh_keys: give the stytch_emulator fixture signing keys of its own "
        "(not the process's shared ones)",
    )


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    """Collect policy-test files whose name matches a ``stytch_policy_tests`` pattern (the
    project opts in by setting the option: a project that merely installs stytch-rbac
    keeps its own ``policy_test*`` files to itself)."""
    patterns = parent.config.getini("stytch_policy_tests")
    if any(fnmatch(file_path.name, pattern) for pattern in patterns):
        collector: PolicyTestFile = PolicyTestFile.from_parent(parent, path=file_path)
        return collector
    return None


class _ExpectationFailed(AssertionError):
    """A policy-test row whose expectation the policy does not meet."""


class PolicyTestFile(pytest.File):
    """A policy-test file: one item per expectation row, run against the file's policy
    (its ``policy`` key, else ``--stytch-policy`` / the ``stytch_policy`` ini option)."""

    def collect(self) -> Iterator[PolicyTestItem]:
        """Parse the file; a malformed file or policy is one collection error naming it."""
        from .errors import StytchRBACError
        from .policy import Policy
        from .policy.expectations import load_expectations

        try:
            suite = load_expectations(self.path)
            if suite.policy_path is not None:
                policy = suite.load_policy()
            else:
                fallback = self.config.getoption("stytch_policy") or self.config.getini(
                    "stytch_policy"
                )
                if not fallback:
                    raise self.CollectError(
                        f"{self.path.name}: names no 'policy' file and no --stytch-policy "
                        "or stytch_policy ini option is set"
                    )
                base = (
                    self.config.invocation_params.dir
                    if self.config.getoption("stytch_policy")
                    else self.config.rootpath
                )
                policy = Policy.from_file(base / str(fallback))
            runner = suite.runner(policy)
        except StytchRBACError as exc:
            raise self.CollectError(f"{self.path.name}: {exc}") from None
        seen: dict[str, int] = {}
        for expectation in suite:
            name = expectation.id
            seen[name] = seen.get(name, 0) + 1
            if seen[name] > 1:
                name = f"{name} #{seen[name]}"
            yield PolicyTestItem.from_parent(
                self, name=name, runner=runner, expectation=expectation
            )


class PolicyTestItem(pytest.Item):
    """One expectation row of a policy-test file."""

    def __init__(
        self, *, runner: ExpectationRunner, expectation: Expectation, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.runner = runner
        self.expectation = expectation

    def runtest(self) -> None:
        """Ask the policy; fail with the policy's answer when it is not the expected one."""
        result = self.runner.check(self.expectation)
        if not result.passed:
            raise _ExpectationFailed(result.message)

    def repr_failure(
        self,
        excinfo: pytest.ExceptionInfo[BaseException],
        style: Any = None,
    ) -> str:
        """A one-line report: where the row is and what the policy answered."""
        if isinstance(excinfo.value, _ExpectationFailed):
            where = self.expectation.location or self.path.name
            return f"{where}: {self.expectation.id}: {excinfo.value}"
        return str(super().repr_failure(excinfo, style=style))

    def reportinfo(self) -> tuple[Path, int | None, str]:
        """File and label shown by pytest for this item."""
        return self.path, None, self.name


def _policy_source(
    request: pytest.FixtureRequest,
) -> str | Path | Mapping[str, Any] | Policy | None:
    config = request.config
    marker = request.node.get_closest_marker("stytch_policy")
    if marker is not None:
        if len(marker.args) != 1 or marker.kwargs:
            raise pytest.UsageError("@pytest.mark.stytch_policy takes exactly one policy")
        source: object = marker.args[0]
        if isinstance(source, (str, Path)):
            return config.rootpath / source
        from .policy import Policy

        if isinstance(source, (Mapping, Policy)):
            return source
        raise pytest.UsageError(
            "@pytest.mark.stytch_policy takes a path, a decoded policy JSON object or a Policy, "
            f"got {type(source).__name__}"
        )
    option = config.getoption("stytch_policy")
    if option:
        return config.invocation_params.dir / str(option)
    ini = config.getini("stytch_policy")
    if ini:
        return config.rootpath / str(ini)
    return None


def _wants_http(request: pytest.FixtureRequest) -> bool:
    if request.node.get_closest_marker("stytch_http") is not None:
        return True
    return bool(request.config.getoption("stytch_http") or request.config.getini("stytch_http"))


@pytest.fixture
def stytch_emulator(request: pytest.FixtureRequest) -> Emulator:
    """A fresh, empty emulator with the test's policy (marker, option, ini or defaults)."""
    try:
        from .emulator import Emulator
    except ImportError as exc:
        raise_missing_extra(
            exc,
            extra="emulator",
            needed_by="the stytch_emulator fixture (and stytch_rbac, member, stytch_base_url)",
            modules={"starlette", "uvicorn"},
        )
    fresh_keys = request.node.get_closest_marker("stytch_fresh_keys") is not None
    return Emulator(policy=_policy_source(request), fresh_keys=fresh_keys)


@pytest.fixture
def stytch_base_url(request: pytest.FixtureRequest, stytch_emulator: Emulator) -> Iterator[str]:
    """Where ``stytch_rbac`` reaches the emulator: a real ``http://127.0.0.1:<port>`` when
    HTTP was asked for, else the in-process placeholder (no socket)."""
    if not _wants_http(request):
        yield IN_PROCESS_URL
        return
    with stytch_emulator.serve_in_thread() as base_url:
        yield base_url


@contextlib.asynccontextmanager
async def open_rbac(
    emulator: Emulator, *, base_url: str = IN_PROCESS_URL, **options: Any
) -> AsyncIterator[StytchRBAC]:
    """A :class:`~stytch_rbac.StytchRBAC` on ``emulator``, open until the block exits: in
    process (no socket) unless ``base_url`` is where the emulator is served, on the
    emulator's clock, with its project domain (so its Connected-App tokens verify).

    ``options`` go to the constructor and win over those defaults (``clock=None`` for
    the system clock, ``agent_roles="intersect"``, ``on_decision=...``): for a test that
    needs a facade configured otherwise than the ``stytch_rbac`` fixture's::

        async with open_rbac(stytch_emulator, m2m_scopes="stytch") as rbac:
            assert await rbac.is_authorized(service.principal, "documents:edit")
    """
    from ._stytch.http import in_process_client
    from .client import StytchRBAC

    async with contextlib.AsyncExitStack() as stack:
        http = None
        if base_url == IN_PROCESS_URL:
            http = await stack.enter_async_context(
                in_process_client(emulator.app, base_url=IN_PROCESS_URL)
            )
        settings: dict[str, Any] = {
            "base_url": base_url,
            "http_client": http,
            "clock": emulator.clock,
            "project_domain": emulator.project_domain,
        }
        yield await stack.enter_async_context(
            StytchRBAC(emulator.project_id, emulator.secret, **(settings | options))
        )


@pytest.fixture
def stytch_rbac_sync(
    request: pytest.FixtureRequest, stytch_emulator: Emulator, stytch_base_url: str
) -> Iterator[SyncStytchRBAC]:
    """A blocking :class:`stytch_rbac.sync.StytchRBAC` pointed at the emulator, sharing its
    clock; open for the test, closed after it. For sync tests (scripts, Flask, Django).

    Its event loop runs asyncio, or the test's ``anyio_backend`` when the test
    asks for that fixture (``"asyncio"`` or ``"trio"``).
    """
    import anyio

    from ._stytch.http import in_process_client
    from .sync import StytchRBAC as SyncStytchRBAC

    backend: Literal["asyncio", "trio"] = "asyncio"
    if "anyio_backend" in request.fixturenames:
        chosen = request.getfixturevalue("anyio_backend")
        if (chosen if isinstance(chosen, str) else chosen[0]) == "trio":
            backend = "trio"
    http = None
    if stytch_base_url == IN_PROCESS_URL:
        http = in_process_client(stytch_emulator.app, base_url=IN_PROCESS_URL)
    rbac = SyncStytchRBAC(
        stytch_emulator.project_id,
        stytch_emulator.secret,
        base_url=stytch_base_url,
        http_client=http,
        clock=stytch_emulator.clock,
        project_domain=stytch_emulator.project_domain,
        backend=backend,
    )
    try:
        with rbac:
            yield rbac
    finally:
        rbac.close()
        if http is not None:
            anyio.run(http.aclose)


_ANYIO_FIXTURE: Final = "_stytch_rbac_anyio"
_ASYNCIO_FIXTURE: Final = "_stytch_rbac_asyncio_{}"
_LOOP_SCOPES: Final = ("function", "class", "module", "package", "session")


@pytest.fixture
def stytch_rbac(request: pytest.FixtureRequest) -> StytchRBAC:
    """A :class:`StytchRBAC` pointed at the emulator, sharing its clock; closed after the test.

    Opened on the event loop of whichever plugin runs the test: anyio's
    (``@pytest.mark.anyio``, asyncio or trio) or pytest-asyncio's (auto mode, or
    ``@pytest.mark.asyncio`` in strict mode, with the test's loop scope).
    """
    return cast("StytchRBAC", request.getfixturevalue(_async_fixture_for(request)))


def _async_fixture_for(request: pytest.FixtureRequest) -> str:
    """The fixture that opens the facade on the loop the requesting test runs on."""
    item = request.node
    if item.get_closest_marker("anyio") is not None:
        return _ANYIO_FIXTURE
    if _ASYNCIO_FIXTURES and request.config.pluginmanager.has_plugin("asyncio"):
        import pytest_asyncio

        if isinstance(item, pytest.Function) and pytest_asyncio.is_async_test(item):
            return _ASYNCIO_FIXTURE.format(_asyncio_loop_scope(item))
    if "anyio_backend" in request.fixturenames:
        return _ANYIO_FIXTURE
    raise pytest.UsageError(
        f"{item.name}: the stytch_rbac fixture is async: request it from an async test run "
        "by anyio's plugin (@pytest.mark.anyio) or by pytest-asyncio 0.24+ "
        "(@pytest.mark.asyncio, or asyncio_mode = auto); sync tests use stytch_rbac_sync"
    )


def _asyncio_loop_scope(item: pytest.Function) -> str:
    """The loop scope pytest-asyncio runs ``item`` in: its marker's, else the ini default."""
    marker = item.get_closest_marker("asyncio")
    scope = None
    if marker is not None:
        scope = marker.kwargs.get("loop_scope") or marker.kwargs.get("scope")
    scope = scope or item.config.getini("asyncio_default_test_loop_scope") or "function"
    if scope not in _LOOP_SCOPES:
        raise pytest.UsageError(f"{item.name}: unknown pytest-asyncio loop scope {scope!r}")
    return str(scope)


@pytest.fixture(name=_ANYIO_FIXTURE)
async def _stytch_rbac_anyio(
    stytch_emulator: Emulator, stytch_base_url: str
) -> AsyncIterator[StytchRBAC]:
    """``stytch_rbac`` for anyio's plugin, which sets a fixture up and tears it down in
    one task."""
    async with open_rbac(stytch_emulator, base_url=stytch_base_url) as rbac:
        yield rbac


@contextlib.asynccontextmanager
async def _hosted_rbac(emulator: Emulator, base_url: str) -> AsyncIterator[StytchRBAC]:
    """``stytch_rbac`` for pytest-asyncio, which sets a fixture up and tears it down in two
    tasks: the facade (and its task group) is entered and left in a task of its own."""
    import asyncio

    loop = asyncio.get_running_loop()
    opened: asyncio.Future[StytchRBAC] = loop.create_future()
    stop = asyncio.Event()

    async def host() -> None:
        async with open_rbac(emulator, base_url=base_url) as rbac:
            opened.set_result(rbac)
            await stop.wait()

    task = loop.create_task(host())
    either: set[asyncio.Future[Any]] = {task, opened}
    try:
        await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
    except BaseException:
        task.cancel()
        raise
    if not opened.done():
        task.result()  # the facade failed to open: raise why
        raise RuntimeError("the stytch_rbac fixture's host task ended before opening")
    try:
        yield opened.result()
    finally:
        stop.set()
        await task


def _asyncio_fixtures() -> dict[str, Any]:
    """One pytest-asyncio fixture per loop scope (none without pytest-asyncio 0.24+, the
    first with loop scopes: an older one must not break loading this plugin)."""
    try:
        import pytest_asyncio
    except ImportError:
        return {}
    if not hasattr(pytest_asyncio, "is_async_test"):
        return {}

    def make(scope: str) -> Any:
        async def fixture(
            stytch_emulator: Emulator, stytch_base_url: str
        ) -> AsyncIterator[StytchRBAC]:
            async with _hosted_rbac(stytch_emulator, stytch_base_url) as rbac:
                yield rbac

        name = _ASYNCIO_FIXTURE.format(scope)
        fixture.__name__ = fixture.__qualname__ = name
        fixture.__doc__ = f"``stytch_rbac`` for pytest-asyncio tests on a {scope}-scoped loop."
        return pytest_asyncio.fixture(fixture, loop_scope=cast(Any, scope), name=name)

    try:
        return {_ASYNCIO_FIXTURE.format(scope): make(scope) for scope in _LOOP_SCOPES}
    except TypeError:  # pragma: no cover - pytest-asyncio before 0.24 (no loop_scope)
        return {}


_ASYNCIO_FIXTURES: Final = _asyncio_fixtures()
globals().update(_ASYNCIO_FIXTURES)


class _HasOrganizationId(Protocol):
    """Anything that names an organization (an organization or a member)."""

    @property
    def organization_id(self) -> str: ...


class _SeededCaller:
    """What the ``member``, ``agent`` and ``service`` fixtures' records share: the
    ``Authorization`` header of their bearer credential, and a ``repr()`` of their ids that
    never shows a credential."""

    __slots__ = ()

    #: The fields ``repr()`` shows, in order (sets sorted, tuples as lists).
    _REPR_FIELDS: ClassVar[tuple[str, ...]]
    #: The field holding the bearer credential.
    _BEARER: ClassVar[str]

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={_shown(getattr(self, name))!r}" for name in self._REPR_FIELDS)
        return f"{type(self).__name__}({shown})"

    @property
    def headers(self) -> dict[str, str]:
        """``{"Authorization": "Bearer <credential>"}``: the session JWT of a member, the
        access token of an agent or a service."""
        return {"Authorization": f"Bearer {getattr(self, self._BEARER)}"}


def _shown(value: object) -> object:
    if isinstance(value, frozenset):
        return sorted(value)
    if isinstance(value, tuple):
        return list(value)
    return value


@dataclasses.dataclass(frozen=True, slots=True, repr=False)
class SeededMember(_SeededCaller):
    """A member the ``member`` fixture created, logged in: ids, roles and live credentials.

    ``principal`` is what ``StytchRBAC.authenticate`` returns for ``session_jwt``
    (built from the token's claims, without a network call). ``repr()`` shows
    no credential.
    """

    member_id: str
    organization_id: str
    email_address: str
    roles: tuple[str, ...]
    session_id: str
    session_jwt: str
    session_token: str
    principal: Principal

    _REPR_FIELDS: ClassVar[tuple[str, ...]] = ("member_id", "organization_id", "roles")
    _BEARER: ClassVar[str] = "session_jwt"

    @property
    def cookies(self) -> dict[str, str]:
        """The cookies Stytch's frontend SDKs set: ``stytch_session_jwt`` and ``stytch_session``."""
        return {"stytch_session_jwt": self.session_jwt, "stytch_session": self.session_token}


def _slug(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return slug if len(slug) >= 2 else f"org-{slug or 'x'}"


class MemberFactory:
    """Creates members with live sessions in the emulator (the ``member`` fixture)."""

    def __init__(self, emulator: Emulator) -> None:
        self._emulator = emulator
        self._organizations: dict[str, OrganizationRecord] = {}
        self._counter = itertools.count(1)

    def organization(self, name: str = _DEFAULT_ORGANIZATION) -> OrganizationRecord:
        """The organization called ``name``, created on first use."""
        if not isinstance(cast(object, name), str) or not name.strip():
            raise ValueError("an organization name must be a non-empty string")
        record = self._organizations.get(name)
        if record is None:
            record = self._emulator.create_organization(name=name, slug=_slug(name))
            self._organizations[name] = record
        return record

    def _organization_id(self, organization: str | _HasOrganizationId | None) -> str:
        if organization is None:
            return self.organization().organization_id
        if isinstance(organization, str):
            if organization.startswith("organization-"):
                return self._emulator.get_organization(organization).organization_id
            return self.organization(organization).organization_id
        return organization.organization_id

    def __call__(
        self,
        roles: Iterable[str] = (),
        *,
        organization: str | _HasOrganizationId | None = None,
        email_address: str | None = None,
        session_duration_minutes: int = 60,
        custom_claims: Mapping[str, Any] | None = None,
    ) -> SeededMember:
        """Create a member holding ``roles`` (plus ``stytch_member``) and log it in."""
        if isinstance(roles, str):
            raise TypeError("roles takes a list of role ids, not one string")
        organization_id = self._organization_id(organization)
        n = next(self._counter)
        slug = self._emulator.get_organization(organization_id).organization_slug
        email = email_address or f"member{n}@{slug}.test"
        record = self._emulator.create_member(
            organization_id, email_address=email, roles=list(roles)
        )
        session = self._emulator.create_session(
            record.member_id,
            duration_minutes=session_duration_minutes,
            custom_claims=custom_claims,
        )
        from .auth import principal_from_claims, unverified_claims

        # The emulator just minted this JWT: reading it unverified is reading our own output.
        claims = unverified_claims(session.session_jwt)
        if claims is None:
            raise ValueError("the emulator minted a session JWT that does not decode")
        principal = dataclasses.replace(
            principal_from_claims(claims, session_jwt=session.session_jwt),
            session_token=session.session_token,
        )
        return SeededMember(
            member_id=record.member_id,
            organization_id=organization_id,
            email_address=record.email_address,
            roles=tuple(session.roles),
            session_id=session.member_session_id,
            session_jwt=session.session_jwt,
            session_token=session.session_token,
            principal=principal,
        )


@pytest.fixture
def member(stytch_emulator: Emulator) -> MemberFactory:
    """``member(roles=[...], organization=...)``: a member with a live session in the emulator."""
    return MemberFactory(stytch_emulator)


#: Claims of an access token that are not its custom claims.
_REGISTERED_CLAIMS: Final = frozenset(
    {"aud", "exp", "iat", "iss", "jti", "nbf", "sub", "scope", "client_id"}
    | {"https://stytch.com/organization"}
)


def _access_token_claims(token: str) -> dict[str, Any]:
    import jwt

    # The emulator just minted this token: reading it unverified is reading our own output.
    claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return claims


def _scope_set(claims: Mapping[str, Any]) -> frozenset[str]:
    return frozenset(s for s in str(claims.get("scope", "")).split(" ") if s)


def _timestamp(value: Any) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(int(value), tz=datetime.UTC)


def _token_principal_fields(token: str, claims: Mapping[str, Any]) -> dict[str, Any]:
    """The fields both access-token principals read from a token's claims: scopes, times,
    issuer, custom claims and the token itself."""
    return {
        "scopes": _scope_set(claims),
        "expires_at": _timestamp(claims["exp"]),
        "issued_at": _timestamp(claims["iat"]),
        "issuer": claims["iss"],
        "custom_claims": {k: v for k, v in claims.items() if k not in _REGISTERED_CLAIMS},
        "access_token": token,
    }


@dataclasses.dataclass(frozen=True, slots=True, repr=False)
class SeededAgent(_SeededCaller):
    """A Connected-App access token the ``agent`` fixture minted for a member.

    ``principal`` is the :class:`~stytch_rbac.AgentPrincipal` the token's
    claims describe (read from the emulator's own output, unverified).
    ``repr()`` shows no credential.
    """

    member_id: str
    organization_id: str
    client_id: str
    scopes: frozenset[str]
    access_token: str
    principal: AgentPrincipal

    _REPR_FIELDS: ClassVar[tuple[str, ...]] = ("member_id", "client_id", "scopes")
    _BEARER: ClassVar[str] = "access_token"


@dataclasses.dataclass(frozen=True, slots=True, repr=False)
class SeededService(_SeededCaller):
    """An M2M client the ``service`` fixture created, with a client-credentials token.

    ``principal`` is the :class:`~stytch_rbac.ServicePrincipal` the token's claims
    describe. ``repr()`` shows no credential.
    """

    client_id: str
    client_secret: str
    scopes: frozenset[str]
    custom_claims: Mapping[str, Any]
    access_token: str
    principal: ServicePrincipal

    _REPR_FIELDS: ClassVar[tuple[str, ...]] = ("client_id", "scopes")
    _BEARER: ClassVar[str] = "access_token"


class AgentFactory:
    """Mints Connected-App access tokens for members (the ``agent`` fixture)."""

    def __init__(self, emulator: Emulator, members: MemberFactory) -> None:
        self._emulator = emulator
        self._members = members
        self._app: ConnectedAppRecord | None = None

    def client(self) -> ConnectedAppRecord:
        """The Connected App tokens are minted for unless one is given (created on first use)."""
        if self._app is None:
            self._app = self._emulator.create_connected_app("Test agent")
        return self._app

    def __call__(
        self,
        scopes: Iterable[str],
        *,
        roles: Iterable[str] = (),
        member: SeededMember | None = None,
        organization: str | _HasOrganizationId | None = None,
        client: str | ConnectedAppRecord | None = None,
        expires_in: int = 3600,
        issuer: str | None = None,
    ) -> SeededAgent:
        """A token ``client`` (default: one test app) holds for ``member`` (default: a new
        member holding ``roles``, in ``organization``), granted ``scopes``.

        Scopes the member's roles do not cover are refused (``EmulatorError``).
        ``issuer`` defaults to the emulator's ``access_token_issuer``.
        """
        if isinstance(scopes, str):
            raise TypeError("scopes takes a list of scopes, not one string")
        if member is None:
            member = self._members(roles, organization=organization)
        elif roles or organization is not None:
            raise ValueError("give either member= or roles=/organization=, not both")
        app = client if client is not None else self.client()
        client_id = app if isinstance(app, str) else app.client_id
        token = self._emulator.mint_connected_app_token(
            member.member_id, client_id, list(scopes), expires_in=expires_in, issuer=issuer
        )
        from .principal import AgentPrincipal

        claims = _access_token_claims(token)
        organization_claim = claims["https://stytch.com/organization"]
        principal = AgentPrincipal(
            member_id=member.member_id,
            organization_id=organization_claim["organization_id"],
            organization_slug=organization_claim["slug"],
            client_id=client_id,
            **_token_principal_fields(token, claims),
        )
        return SeededAgent(
            member.member_id, member.organization_id, client_id, principal.scopes, token, principal
        )


class ServiceFactory:
    """Creates M2M clients and their access tokens (the ``service`` fixture)."""

    def __init__(self, emulator: Emulator) -> None:
        self._emulator = emulator
        self._counter = itertools.count(1)

    def __call__(
        self,
        scopes: Iterable[str],
        *,
        custom_claims: Mapping[str, Any] | None = None,
        client_name: str | None = None,
        token_scopes: Iterable[str] | None = None,
    ) -> SeededService:
        """A new M2M client holding ``scopes`` and a token for ``token_scopes`` (default:
        all of them, as the client-credentials endpoint mints without ``scope``)."""
        if isinstance(scopes, str):
            raise TypeError("scopes takes a list of scopes, not one string")
        record = self._emulator.create_m2m_client(
            client_name or f"service{next(self._counter)}", list(scopes), custom_claims
        )
        token = self._emulator.m2m_token(
            record.client_id, None if token_scopes is None else list(token_scopes)
        )
        from .principal import ServicePrincipal

        principal = ServicePrincipal(
            client_id=record.client_id,
            **_token_principal_fields(token, _access_token_claims(token)),
        )
        return SeededService(
            record.client_id,
            record.client_secret,
            principal.scopes,
            dict(record.custom_claims),
            token,
            principal,
        )


@pytest.fixture
def agent(stytch_emulator: Emulator, member: MemberFactory) -> AgentFactory:
    """``agent(scopes, roles=[...])``: a Connected-App access token for a (new) member."""
    return AgentFactory(stytch_emulator, member)


@pytest.fixture
def service(stytch_emulator: Emulator) -> ServiceFactory:
    """``service(scopes)``: an M2M client and its client-credentials access token."""
    return ServiceFactory(stytch_emulator)


@contextlib.contextmanager
def serve_app(app: ASGIApp, *, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Serve ``app`` over real HTTP with uvicorn in a background thread; yield its base URL.

    The server runs its own asyncio loop (the app's lifespan included, so
    resources opened there live on that loop), so the caller may use asyncio,
    trio or no loop at all. ``port=0`` picks a free port. Stops on exit.
    """
    try:
        from .serving import ThreadServer
    except ImportError as exc:
        raise_missing_extra(
            exc, extra="emulator", needed_by="serve_app (uvicorn)", modules={"uvicorn"}
        )

    server = ThreadServer(app, host=host, port=port, lifespan="auto")
    try:
        yield server.start()
    finally:
        server.stop()
