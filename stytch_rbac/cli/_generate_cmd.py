"""``stytch-rbac generate`` and ``stytch-rbac check``: typed permissions from a policy.

``generate`` writes the typed module (or with ``--stub`` its ``.pyi``) for a
policy file or the live policy; ``--check`` (and the ``check`` command) compare
instead of writing, for CI: exit 0 when current, 1 with a unified diff on stdout
when stale, 2 on bad input (one line on stderr, never a traceback).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..codegen import Lang, default_command, header_command, ts_header_command
from ..codegen import check as check_file
from ..codegen import generate as render
from ..errors import PolicyError
from ..policy import Policy
from . import EXIT_DENIED
from ._common import (
    FromStytchOpt,
    PolicyOpt,
    app,
    err_console,
    fail,
    resolve_policy,
)
from ._fetch_cmd import write_atomically

__all__: list[str] = []

OutputOpt = Annotated[
    Path | None,
    typer.Option(
        "--output",
        "-o",
        help="File to write (default: stdout). A .pyi path implies --stub.",
        show_default=False,
    ),
]
LangOpt = Annotated[
    Lang | None,
    typer.Option(
        "--lang",
        help="python (a module, or its .pyi stub) or ts (TypeScript for Stytch's frontend SDKs; "
        "default for a .ts --output).",
        show_default=False,
    ),
]
StubOpt = Annotated[
    bool, typer.Option("--stub", help="Write the .pyi stub form (types only) instead.")
]


def _load(policy_path: Path | None, from_stytch: bool) -> tuple[Policy, str | None]:
    source = resolve_policy(policy_path, from_stytch)
    shown = None if from_stytch else (policy_path.as_posix() if policy_path else None)
    if not from_stytch and shown is None:
        shown = source.label
    return source.policy, shown


def _command(shown: str | None, output: Path | None, *, stub: bool, lang: Lang = "python") -> str:
    """The regenerate line for the header: the arguments this run was given."""
    command = default_command(
        policy=shown, output=output.as_posix() if output else None, stub=stub, lang=lang
    )
    return command if output is not None else command.rsplit(" --output ", 1)[0]


def _lang(lang: Lang | None, path: Path | None) -> Lang:
    """``--lang``, else TypeScript for a ``.ts`` path, else Python."""
    if lang is not None:
        return lang
    return "ts" if path is not None and path.suffix == ".ts" else "python"


def _check_one(
    policy: Policy, path: Path, *, stub: bool, command: str, lang: Lang = "python"
) -> bool:
    """Print the diff when ``path`` is stale; True when it is current.

    The regenerate line already in the file's header is kept (generating from
    another directory does not make a file stale); ``command`` is for a file
    without one.
    """
    if path.is_dir():
        raise fail(f"not a file: {path}")
    existing = path.read_bytes().decode("utf-8", errors="replace") if path.exists() else ""
    found = ts_header_command(existing) if lang == "ts" else header_command(existing)
    command = found or command
    try:
        result = check_file(path, policy, stub=stub, command=command, lang=lang)
    except PolicyError as exc:
        raise fail(str(exc)) from None
    if result.current:
        err_console.print(f"{path}: up to date", highlight=False, markup=False, soft_wrap=True)
        return True
    typer.echo(result.diff, nl=False)
    err_console.print(
        f"{path}: stale; regenerate it: {command}", highlight=False, markup=False, soft_wrap=True
    )
    return False


@app.command()
def generate(
    policy_path: PolicyOpt = None,
    from_stytch: FromStytchOpt = False,
    output: OutputOpt = None,
    stub: StubOpt = False,
    lang: LangOpt = None,
    check: Annotated[
        bool,
        typer.Option(
            "--check",
            help="Do not write: exit 1 and print a unified diff when --output is stale.",
        ),
    ] = False,
) -> None:
    """Generate typed permissions (Resource, <Name>Action enums, Role, Scope, P) from a policy.

    --lang ts (or a .ts --output) writes the TypeScript module instead: the
    Permissions type of Stytch's frontend SDKs, a typed can(), const arrays.

    The output is byte-stable: the same policy always gives the same file.
    Exit codes: 0 written or current, 1 stale (--check), 2 bad input, 3 Stytch unreachable.
    """
    language = _lang(lang, output)
    if language == "ts" and stub:
        raise fail("--stub is for Python; a TypeScript module has no stub form", code="usage")
    is_stub = stub or (output is not None and output.suffix == ".pyi")
    if check and output is None:
        raise fail("--check needs --output FILE (the generated file to compare)", code="usage")
    policy, shown = _load(policy_path, from_stytch)
    command = _command(shown, output, stub=is_stub, lang=language)
    if output is None:
        try:
            typer.echo(render(policy, stub=is_stub, command=command, lang=language), nl=False)
        except PolicyError as exc:
            raise fail(str(exc)) from None
        return
    if check:
        if not _check_one(policy, output, stub=is_stub, command=command, lang=language):
            raise typer.Exit(EXIT_DENIED)
        return
    if output.is_dir():
        raise fail(f"output is a directory: {output}")
    try:
        text = render(policy, stub=is_stub, command=command, lang=language)
    except PolicyError as exc:
        raise fail(str(exc)) from None
    if output.exists() and output.read_bytes() == text.encode():
        err_console.print(f"{output}: up to date", highlight=False, markup=False, soft_wrap=True)
        return
    write_atomically(output, text)
    err_console.print(f"wrote {output}", highlight=False, markup=False, soft_wrap=True)


@app.command("check")
def check_command(
    files: Annotated[
        list[Path],
        typer.Argument(
            help="Generated files to compare (.pyi as stubs, .ts as TypeScript).",
            show_default=False,
        ),
    ],
    policy_path: PolicyOpt = None,
    from_stytch: FromStytchOpt = False,
) -> None:
    """Check that generated permission files match the policy (CI): exit 1 with a diff if not.

    Same as ``generate --check`` for each file. Exit codes: 0 all current, 1 one
    or more stale, 2 bad input, 3 Stytch unreachable.
    """
    policy, shown = _load(policy_path, from_stytch)
    current = [
        _check_one(
            policy,
            path,
            stub=path.suffix == ".pyi",
            command=_command(shown, path, stub=path.suffix == ".pyi", lang=_lang(None, path)),
            lang=_lang(None, path),
        )
        for path in files
    ]
    if not all(current):
        raise typer.Exit(EXIT_DENIED)
