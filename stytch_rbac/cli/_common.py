"""What every sub-command shares: the typer app, the consoles, errors, loading a policy.

Errors: a command raises (or lets through) an exception; :class:`_Group` turns
it into one line on stderr and an exit code, unless ``--debug`` was given, in
which case the traceback is shown. Commands that want a specific message raise
``fail(message, code)``.

Policies come from a file (``--policy``) or from Stytch (``--from-stytch``,
credentials from ``STYTCH_PROJECT_ID`` / ``STYTCH_SECRET`` / ``STYTCH_BASE_URL``);
:func:`resolve_policy` handles both, and merges an organization's custom roles
when asked.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Final

import anyio
import typer
import typer.core
from rich.console import Console
from rich.markup import escape

from .._stytch import Connection, Credentials, fetch_org_policy, fetch_policy, open_connection
from ..errors import PolicyError, StytchRBACError, StytchUnavailable, UnknownPermission
from ..policy import CompiledPolicy, OrgPolicy, Policy
from . import EXIT_BAD_INPUT, EXIT_UNREACHABLE

try:  # typer >= 0.20 vendors click; older typer uses click itself
    from typer._click.exceptions import ClickException
except ImportError:  # pragma: no cover - depends on the installed typer
    from click.exceptions import ClickException  # type: ignore[assignment,no-redef,unused-ignore]

__all__ = [
    "POLICY_ENV",
    "TIMEOUT",
    "FromStytchOpt",
    "JsonOpt",
    "OrgPolicyOpt",
    "OrganizationOpt",
    "PolicyOpt",
    "PolicySource",
    "StytchCredentials",
    "app",
    "compile_quietly",
    "console",
    "err_console",
    "fail",
    "fetch_live",
    "fetch_live_org_policy",
    "fetch_live_policy",
    "load_org_policy_file",
    "load_policy_file",
    "print_json",
    "require_known",
    "resolve_policy",
]

#: Environment variable naming the default policy file of ``--policy``.
POLICY_ENV: Final = "STYTCH_RBAC_POLICY"
#: Timeout (seconds) of every call to Stytch the command line makes.
TIMEOUT: Final = 10.0


#: The order ``--help`` lists the sub-commands in (others follow, sorted).
_COMMAND_ORDER: Final = (
    "generate",
    "check",
    "show",
    "can",
    "diff",
    "lint",
    "test",
    "fetch-policy",
    "emulator",
    "demo",
)


class _Group(typer.core.TyperGroup):
    """The root command: maps exceptions of every sub-command to one line and an exit code."""

    def list_commands(self, ctx: Any) -> list[str]:
        rank = {name: i for i, name in enumerate(_COMMAND_ORDER)}
        return sorted(super().list_commands(ctx), key=lambda n: (rank.get(n, len(rank)), n))

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort):
            raise
        except ClickException as exc:
            # Usage errors of a sub-command: one line instead of a usage panel.
            sub = ctx.invoked_subcommand
            hint = f" (see 'stytch-rbac {sub} --help')" if sub else ""
            raise fail(f"{exc.format_message()}{hint}", exc.exit_code) from None
        except Exception as exc:
            if ctx.params.get("debug"):
                raise
            code, message = _describe(exc)
            raise fail(f"{message} (--debug shows the traceback)", code) from None


def _describe(exc: Exception) -> tuple[int, str]:
    """The exit code and one-line message for an exception no command handled."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    if isinstance(exc, StytchUnavailable):
        return EXIT_UNREACHABLE, f"Stytch is unreachable: {text}"
    if isinstance(exc, (StytchRBACError, OSError, ValueError, LookupError)):
        return EXIT_BAD_INPUT, text
    return EXIT_BAD_INPUT, f"unexpected {type(exc).__name__}: {text}"


app = typer.Typer(
    name="stytch-rbac",
    cls=_Group,
    help="Typed permissions, local checks and an offline emulator for Stytch B2B RBAC.",
    epilog="Exit codes: 0 ok, 1 check failed or denied, 2 bad input, 3 Stytch unreachable.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
# Both consoles write to whatever sys.stdout / sys.stderr are at print time,
# and read the width from the environment (COLUMNS) then.
console = Console()
err_console = Console(stderr=True)


def _version(value: bool) -> None:
    if value:
        from .._version import __version__

        typer.echo(f"stytch-rbac {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    debug: Annotated[
        bool,
        typer.Option(
            "--debug",
            envvar="STYTCH_RBAC_DEBUG",
            help="Show the full traceback of an error instead of one line.",
        ),
    ] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Typed permissions, local checks and an offline emulator for Stytch B2B RBAC."""
    columns = os.environ.get("COLUMNS", "")
    if columns.isdigit():  # the consoles outlive one invocation (tests, embedding)
        console.width = err_console.width = int(columns)


def fail(message: str, code: int = EXIT_BAD_INPUT) -> typer.Exit:
    """Print a one-line error to stderr and return the Exit to raise."""
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def print_json(data: Any) -> None:
    """Write ``data`` as indented JSON on stdout, without colour or wrapping (for machines)."""
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False))


def compile_quietly(policy: Policy) -> CompiledPolicy:
    """Compile strictly, keeping the policy's warnings as data (``lint`` reports them)."""
    return CompiledPolicy(policy, strict=True)


# --- reading policies -------------------------------------------------------------------------


def load_policy_file(path: Path) -> Policy:
    """Parse a policy file, turning every failure into a one-line error and exit 2."""
    if not path.exists():
        raise fail(f"policy file not found: {path}")
    if path.is_dir():
        raise fail(f"policy file is a directory: {path}")
    try:
        return Policy.from_file(path)
    except PolicyError as exc:
        raise fail(f"{path}: {exc}") from None


def load_org_policy_file(path: Path) -> OrgPolicy:
    """Parse an org-policy file (``{"org_policy": {"roles": [...]}}`` or its inner object)."""
    if not path.exists():
        raise fail(f"org policy file not found: {path}")
    try:
        return OrgPolicy.parse(path)
    except PolicyError as exc:
        raise fail(f"{path}: {exc}") from None


class StytchCredentials:
    """Project credentials read from the environment (the seam's ``Credentials``)."""

    @staticmethod
    def from_env(environ: Mapping[str, str] | None = None) -> Credentials:
        """Read ``STYTCH_PROJECT_ID``, ``STYTCH_SECRET`` and optional ``STYTCH_BASE_URL``.

        Without a base URL, a ``project-live-`` id talks to ``https://api.stytch.com``
        and any other to ``https://test.stytch.com`` (the SDK's rule). ``repr`` never
        shows the secret.
        """
        env = os.environ if environ is None else environ
        missing = [k for k in ("STYTCH_PROJECT_ID", "STYTCH_SECRET") if not env.get(k)]
        if missing:
            raise fail(f"--from-stytch needs {' and '.join(missing)} in the environment")
        try:
            return Credentials.from_env(env)
        except ValueError as exc:
            raise fail(str(exc)) from None


def fetch_live(
    fetch: Callable[[Connection], Awaitable[dict[str, Any]]], *, what: str
) -> dict[str, Any]:
    """Run one of the seam's endpoint functions against Stytch with the environment's
    credentials; the JSON body.

    Shows a spinner on stderr. Exit 3 when Stytch cannot be reached, answers 5xx or
    429, or answers something that is not a JSON object; exit 2 for credentials it
    refuses or anything else it rejects (4xx). Errors come through the one translator.
    """
    creds = StytchCredentials.from_env()

    async def call() -> dict[str, Any]:
        async with open_connection(creds, timeout=TIMEOUT) as conn:
            return await fetch(conn)

    with err_console.status(f"Fetching {what} from {creds.base_url} ..."):
        try:
            return anyio.run(call)
        except StytchRBACError as exc:
            raise fail(_stytch_failure(exc, what, creds.base_url), _exit_code(exc)) from None


def _stytch_failure(exc: StytchRBACError, what: str, base_url: str) -> str:
    if exc.stytch_status is None or exc.stytch_status < 400:  # no error answer from Stytch
        reason = " ".join(str(exc).split())
        if isinstance(exc, StytchUnavailable) and "JSON" not in reason:
            return f"Stytch is unreachable at {base_url}: {reason}"
        return reason
    detail = f" {exc.error_type or ''}: {exc.error_message or ''}".rstrip(" :")
    return f"Stytch answered {exc.stytch_status} for {what}{detail}"


def _exit_code(exc: StytchRBACError) -> int:
    return EXIT_UNREACHABLE if isinstance(exc, StytchUnavailable) else EXIT_BAD_INPUT


def fetch_live_policy(organization_id: str | None = None) -> tuple[Policy, OrgPolicy | None]:
    """The project policy from Stytch, and the org policy of ``organization_id`` if given."""
    body = fetch_live(fetch_policy, what="the RBAC policy")
    try:
        policy = Policy.parse(body)
    except PolicyError as exc:
        raise fail(
            f"Stytch returned a policy that cannot be used: {exc}", EXIT_UNREACHABLE
        ) from None
    if organization_id is None:
        return policy, None
    return policy, fetch_live_org_policy(organization_id)


def fetch_live_org_policy(organization_id: str) -> OrgPolicy:
    """The custom roles of one organization, from Stytch."""
    body = fetch_live(
        functools.partial(fetch_org_policy, organization_id=organization_id),
        what=f"the org policy of {organization_id}",
    )
    try:
        return OrgPolicy.parse(body)
    except PolicyError as exc:
        raise fail(
            f"Stytch returned an org policy that cannot be used: {exc}", EXIT_UNREACHABLE
        ) from None


@dataclass(frozen=True, slots=True)
class PolicySource:
    """A resolved policy, its org merge, and a short label of where it came from."""

    policy: Policy
    compiled: CompiledPolicy
    label: str


def resolve_policy(
    policy_path: Path | None,
    from_stytch: bool,
    *,
    organization: str | None = None,
    org_policy_path: Path | None = None,
) -> PolicySource:
    """Load the policy a command works on: a file, or the live one; merged with org roles.

    ``organization`` (an organization id) fetches that organization's custom roles
    from Stytch and needs ``--from-stytch``; ``org_policy_path`` reads them from a
    file. Bad combinations exit 2 with a one-line error.
    """
    if policy_path is not None and from_stytch:
        raise fail("give either --policy or --from-stytch, not both")
    if organization is not None and not from_stytch:
        raise fail("--organization needs --from-stytch (use --org-policy FILE with a file)")
    if organization is not None and org_policy_path is not None:
        raise fail("give either --organization or --org-policy, not both")
    org: OrgPolicy | None = None
    if from_stytch:
        policy, org = fetch_live_policy(organization)
        label = "Stytch (live)" + (f", organization {organization}" if organization else "")
    else:
        if policy_path is None:
            env_path = os.environ.get(POLICY_ENV)
            if not env_path:
                raise fail(f"no policy given: use --policy FILE, --from-stytch or ${POLICY_ENV}")
            policy_path = Path(env_path)
        policy = load_policy_file(policy_path)
        label = str(policy_path)
    if org_policy_path is not None:
        org = load_org_policy_file(org_policy_path)
        label += f" + {org_policy_path}"
    try:
        merged = policy.merged(org)
    except PolicyError as exc:
        raise fail(f"organization roles do not fit the policy: {exc}") from None
    return PolicySource(merged, compile_quietly(merged), label)


def require_known(compiled: CompiledPolicy, *, roles: list[str], resources: list[str]) -> None:
    """Exit 2 naming the first role or resource the policy does not define."""
    for role in roles:
        if role not in compiled.role_ids:
            known = ", ".join(sorted(compiled.role_ids))
            raise fail(f"unknown role {role!r}; the policy defines: {known}")
    for resource in resources:
        if resource not in compiled.resources:
            raise fail(str(UnknownPermission(resource)))


# --- options shared by the commands ------------------------------------------------------------

PolicyOpt = Annotated[
    Path | None,
    typer.Option(
        "--policy",
        "-p",
        help=f"Policy JSON file (a saved GET /v1/b2b/rbac/policy answer). Default: ${POLICY_ENV}.",
        show_default=False,
    ),
]
FromStytchOpt = Annotated[
    bool,
    typer.Option(
        "--from-stytch",
        help="Use the live policy (STYTCH_PROJECT_ID, STYTCH_SECRET, STYTCH_BASE_URL).",
    ),
]
OrganizationOpt = Annotated[
    str | None,
    typer.Option(
        "--organization",
        help="With --from-stytch: merge this organization's custom roles.",
        show_default=False,
    ),
]
OrgPolicyOpt = Annotated[
    Path | None,
    typer.Option(
        "--org-policy",
        help='Org policy JSON file ({"org_policy": {"roles": [...]}}): custom roles to merge.',
        show_default=False,
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for machines.")]
