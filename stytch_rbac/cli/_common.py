"""What every sub-command shares: the typer app, the consoles, errors, loading a policy.

Errors: a command raises (or lets through) an exception; :class:`_Group` turns
it into one line on stderr and an exit code, unless ``--debug`` was given, in
which case the traceback is shown. Commands that want a specific message raise
``fail(message, exit_code, code=...)``. When the sub-command was given
``--json``, the error is one JSON object on stderr instead, ``{"error": {"code":
..., "message": ..., "exit_code": ...}}``, with ``code`` one of :data:`ERROR_CODES`
(stable: scripts branch on them).

Width: tables are drawn for the terminal's width; when the output is not a
terminal (a pipe, a CI log) they are drawn :data:`PIPE_COLUMNS` wide, and
``COLUMNS`` overrides both. One-line messages are never wrapped.

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
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Annotated, Any, Final

import anyio
import typer
import typer.core
from rich.console import Console
from rich.markup import escape

from .._stytch import Connection, Credentials, fetch_org_policy, fetch_policy, open_connection
from ..errors import PolicyError, StytchRBACError, StytchUnavailable, UnknownPermission
from ..policy import CompiledPolicy, OrgPolicy, Policy
from . import EXIT_BAD_INPUT, EXIT_UNREACHABLE

__all__ = [
    "ERROR_CODES",
    "PIPE_COLUMNS",
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
#: Width of tables when the output is not a terminal and ``COLUMNS`` is not set.
PIPE_COLUMNS: Final = 120

#: The ``code`` of a JSON error (``--json``) and what it means; docs/cli.md has the same table.
ERROR_CODES: Final[Mapping[str, str]] = {
    "usage": "bad or conflicting options or arguments",
    "file-not-found": "a file named on the command line, or by a policy-test file, does not exist",
    "invalid-policy": "a policy or org-policy file (or answer) that cannot be used",
    "invalid-policy-test": "a policy-test file that does not have the documented shape",
    "unknown-name": "a role, resource, action or lint code that is not defined",
    "no-match": "--run selects no policy-test row",
    "credentials-missing": "--from-stytch without STYTCH_PROJECT_ID and STYTCH_SECRET, or "
    "pull / plan / push without STYTCH_WORKSPACE_KEY_ID and STYTCH_WORKSPACE_KEY_SECRET",
    "stytch-rejected": "Stytch refused the request (4xx), e.g. a wrong secret",
    "stytch-unavailable": "Stytch cannot be reached, answers 5xx or 429, or not a usable policy",
    "remote-changed": "push: the remote policy is not the one planned or pulled (run plan again)",
    "push-refused": "push: removals without --allow-removals, or a policy Stytch would refuse",
    "verify-failed": "push: what Stytch answers after the push is not what was pushed",
    "bad-input": "any other bad input (an output folder that does not exist, a busy port, ...)",
    "internal": "an unexpected error; --debug shows the traceback",
}


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
    "pull",
    "plan",
    "push",
    "emulator",
    "demo",
)


#: Whether the running sub-command was given ``--json`` (errors are then JSON on stderr).
_json_errors: ContextVar[bool] = ContextVar("_json_errors", default=False)
#: The exit code of every error while set (``plan``: terraform's 1, as 2 means "changes").
_error_exit: ContextVar[int | None] = ContextVar("_error_exit", default=None)


class _Group(typer.core.TyperGroup):
    """The root command: maps exceptions of every sub-command to one line and an exit code."""

    def list_commands(self, ctx: Any) -> list[str]:
        rank = {name: i for i, name in enumerate(_COMMAND_ORDER)}
        return sorted(super().list_commands(ctx), key=lambda n: (rank.get(n, len(rank)), n))

    def invoke(self, ctx: Any) -> Any:
        # ctx.args: what follows the sub-command's name, parsed by the sub-command itself.
        args: list[str] = list(ctx.args)
        wants_json = "--json" in (args[: args.index("--")] if "--" in args else args)
        token = _json_errors.set(wants_json)
        _size_consoles()
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort):
            raise
        except typer.TyperException as exc:
            # Usage errors of a sub-command: one line instead of a usage panel.
            sub = ctx.invoked_subcommand
            hint = f" (see 'stytch-rbac {sub} --help')" if sub else ""
            raise fail(f"{exc.format_message()}{hint}", exc.exit_code, code="usage") from None
        except Exception as exc:
            if ctx.params.get("debug"):
                raise
            exit_code, code, message = _describe(exc)
            raise fail(f"{message} (--debug shows the traceback)", exit_code, code=code) from None
        finally:
            _json_errors.reset(token)


def _describe(exc: Exception) -> tuple[int, str, str]:
    """The exit code, error code and one-line message for an exception no command handled."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    if isinstance(exc, StytchUnavailable):
        return EXIT_UNREACHABLE, "stytch-unavailable", f"Stytch is unreachable: {text}"
    if isinstance(exc, UnknownPermission):
        return EXIT_BAD_INPUT, "unknown-name", text
    if isinstance(exc, PolicyError):
        return EXIT_BAD_INPUT, "invalid-policy", text
    if isinstance(exc, (StytchRBACError, OSError, ValueError, LookupError)):
        return EXIT_BAD_INPUT, "bad-input", text
    return EXIT_BAD_INPUT, "internal", f"unexpected {type(exc).__name__}: {text}"


def _columns(stream: IO[str]) -> int:
    """The width to draw for: ``COLUMNS``, else the terminal's, else :data:`PIPE_COLUMNS`."""
    columns = os.environ.get("COLUMNS", "")
    if columns.isdigit():
        return int(columns)
    try:
        if stream.isatty():
            return os.get_terminal_size(stream.fileno()).columns or 80
    except (AttributeError, ValueError, OSError):  # not a real file: not a terminal
        pass
    return PIPE_COLUMNS


def _size_consoles() -> None:
    """Set both consoles' width for this invocation (they outlive one: tests, embedding)."""
    console.width = _columns(console.file)
    err_console.width = _columns(err_console.file)


app = typer.Typer(
    name="stytch-rbac",
    cls=_Group,
    help="Typed permissions, local checks and an offline emulator for Stytch B2B RBAC.",
    epilog="Exit codes: 0 ok, 1 check failed or denied, 2 bad input, 3 Stytch unreachable.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
# Both consoles write to whatever sys.stdout / sys.stderr are at print time;
# _Group.invoke sets their width for each invocation.
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


def fail(message: str, exit_code: int = EXIT_BAD_INPUT, *, code: str | None = None) -> typer.Exit:
    """Print a one-line error to stderr and return the Exit to raise.

    ``code`` is one of :data:`ERROR_CODES`; by default ``stytch-unavailable`` for
    exit 3 and ``bad-input`` otherwise. Under ``--json`` the error is printed as
    ``{"error": {"code": ..., "message": ..., "exit_code": ...}}`` on one line.
    """
    if code is None:
        code = "stytch-unavailable" if exit_code == EXIT_UNREACHABLE else "bad-input"
    exit_code = _error_exit.get() or exit_code
    assert code in ERROR_CODES, code  # a new code belongs in the table (and docs/cli.md)
    if _json_errors.get():
        error = {"code": code, "message": message, "exit_code": exit_code}
        typer.echo(json.dumps({"error": error}, ensure_ascii=False), err=True)
    else:
        err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    return typer.Exit(exit_code)


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
        raise fail(f"policy file not found: {path}", code="file-not-found")
    if path.is_dir():
        raise fail(f"policy file is a directory: {path}", code="file-not-found")
    try:
        return Policy.from_file(path)
    except PolicyError as exc:
        raise fail(f"{path}: {exc}", code="invalid-policy") from None


def load_org_policy_file(path: Path) -> OrgPolicy:
    """Parse an org-policy file (``{"org_policy": {"roles": [...]}}`` or its inner object)."""
    if not path.exists():
        raise fail(f"org policy file not found: {path}", code="file-not-found")
    try:
        return OrgPolicy.parse(path)
    except PolicyError as exc:
        raise fail(f"{path}: {exc}", code="invalid-policy") from None


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
            raise fail(
                f"--from-stytch needs {' and '.join(missing)} in the environment",
                code="credentials-missing",
            )
        try:
            return Credentials.from_env(env)
        except ValueError as exc:
            raise fail(str(exc), code="usage") from None


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
            exit_code = _exit_code(exc)
            code = "stytch-unavailable" if exit_code == EXIT_UNREACHABLE else "stytch-rejected"
            raise fail(_stytch_failure(exc, what, creds.base_url), exit_code, code=code) from None


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
        raise fail("give either --policy or --from-stytch, not both", code="usage")
    if organization is not None and not from_stytch:
        raise fail(
            "--organization needs --from-stytch (use --org-policy FILE with a file)", code="usage"
        )
    if organization is not None and org_policy_path is not None:
        raise fail("give either --organization or --org-policy, not both", code="usage")
    org: OrgPolicy | None = None
    if from_stytch:
        policy, org = fetch_live_policy(organization)
        label = "Stytch (live)" + (f", organization {organization}" if organization else "")
    else:
        if policy_path is None:
            env_path = os.environ.get(POLICY_ENV)
            if not env_path:
                raise fail(
                    f"no policy given: use --policy FILE, --from-stytch or ${POLICY_ENV}",
                    code="usage",
                )
            policy_path = Path(env_path)
        policy = load_policy_file(policy_path)
        label = str(policy_path)
    if org_policy_path is not None:
        org = load_org_policy_file(org_policy_path)
        label += f" + {org_policy_path}"
    try:
        merged = policy.merged(org)
    except PolicyError as exc:
        raise fail(
            f"organization roles do not fit the policy: {exc}", code="invalid-policy"
        ) from None
    return PolicySource(merged, compile_quietly(merged), label)


def require_known(compiled: CompiledPolicy, *, roles: list[str], resources: list[str]) -> None:
    """Exit 2 naming the first role or resource the policy does not define."""
    for role in roles:
        if role not in compiled.role_ids:
            known = ", ".join(sorted(compiled.role_ids))
            raise fail(f"unknown role {role!r}; the policy defines: {known}", code="unknown-name")
    for resource in resources:
        if resource not in compiled.resources:
            raise fail(str(UnknownPermission(resource)), code="unknown-name")


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
