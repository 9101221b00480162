"""``stytch-rbac test PATH...``: policy tests (expected allow / deny rows) against a policy.

PATH is a policy-test file, or a folder: every file under it named like the
pytest plugin collects (``policy_test*.yaml``, ``.yml``, ``.toml``, ``.json``).
``--run REGEX`` keeps the rows whose id matches; ``--junit-xml FILE`` writes a
JUnit report (one ``<testsuite>`` per file, one ``<testcase>`` per row) that CI
systems show next to their other tests.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Final

import typer
from rich.markup import escape
from rich.table import Table

from ..errors import PolicyError
from ..policy import OrgPolicy, Policy
from ..policy.expectations import (
    EXPECTATION_SUFFIXES,
    ExpectationFileError,
    ExpectationResult,
    ExpectationSuite,
    load_expectations,
)
from . import EXIT_DENIED
from ._common import (
    FromStytchOpt,
    JsonOpt,
    PolicyOpt,
    app,
    compile_quietly,
    console,
    fail,
    fetch_live_org_policy,
    fetch_live_policy,
    load_policy_file,
    print_json,
)

__all__: list[str] = []

#: File names collected from a folder: the pytest plugin's default patterns.
FOLDER_PATTERNS: Final = tuple(f"policy_test*{suffix}" for suffix in EXPECTATION_SUFFIXES)


@dataclass(frozen=True, slots=True)
class _FileRun:
    """One policy-test file, the policy it ran against, and its (selected) results."""

    path: Path
    label: str
    results: list[ExpectationResult]
    deselected: int

    @property
    def failed(self) -> int:
        return sum(not r.passed for r in self.results)


def _result_json(result: ExpectationResult) -> dict[str, Any]:
    exp = result.expectation
    return {
        "id": exp.id,
        "location": exp.location,
        "roles": list(exp.roles),
        "organization": exp.organization,
        "resource": exp.resource,
        "action": exp.action,
        "expected": "allow" if exp.allow else "deny",
        "allowed": result.allowed,
        "passed": result.passed,
        "granted_by": sorted(result.granted_by),
        "message": result.message,
    }


def _collect(paths: Sequence[Path]) -> list[Path]:
    """The policy-test files named by ``paths``: files as given, folders searched."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted(
                {p for pattern in FOLDER_PATTERNS for p in path.rglob(pattern) if p.is_file()}
            )
            if not found:
                patterns = ", ".join(FOLDER_PATTERNS)
                raise fail(
                    f"no policy-test file in {path} (looked for {patterns})", code="no-match"
                )
            files.extend(found)
        elif not path.exists():
            raise fail(f"expectations file not found: {path}", code="file-not-found")
        else:
            files.append(path)
    return list(dict.fromkeys(files))  # a file named twice runs once


def _load(path: Path) -> ExpectationSuite:
    try:
        return load_expectations(path)
    except ExpectationFileError as exc:
        raise fail(str(exc), code="invalid-policy-test") from None


def _write_junit(path: Path, runs: Sequence[_FileRun]) -> None:
    """Write a JUnit XML report: a ``<testsuite>`` per file, a ``<testcase>`` per row."""
    total = sum(len(run.results) for run in runs)
    root = ET.Element(
        "testsuites",
        name="stytch-rbac test",
        tests=str(total),
        failures=str(sum(run.failed for run in runs)),
        errors="0",
        skipped="0",
    )
    for run in runs:
        suite = ET.SubElement(
            root,
            "testsuite",
            name=str(run.path),
            tests=str(len(run.results)),
            failures=str(run.failed),
            errors="0",
            skipped="0",
        )
        properties = ET.SubElement(suite, "properties")
        ET.SubElement(properties, "property", name="policy", value=run.label)
        for result in run.results:
            exp = result.expectation
            case = ET.SubElement(
                suite, "testcase", classname=str(run.path), name=exp.id, file=str(run.path)
            )
            if not result.passed:
                kind = "undefined" if result.error is not None else "mismatch"
                failure = ET.SubElement(case, "failure", message=result.message, type=kind)
                failure.text = f"{exp.location}: {exp.id}: {result.message}"
    ET.indent(root)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)
    except OSError as exc:
        raise fail(f"cannot write the JUnit report {path}: {exc.strerror or exc}") from None


def _print_run(run: _FileRun, *, verbose: bool) -> None:
    shown = run.results if verbose else [r for r in run.results if not r.passed]
    if shown:
        table = Table(title=f"{run.path} against {run.label}", title_justify="left")
        table.add_column("", no_wrap=True)
        table.add_column("where", overflow="fold")
        table.add_column("expectation", overflow="fold")
        table.add_column("result", ratio=1, overflow="fold")
        for result in shown:
            exp = result.expectation
            table.add_row(
                "[green]ok[/]" if result.passed else "[red]FAIL[/]",
                escape(exp.location.rpartition(": ")[2] or exp.location),
                escape(exp.id),
                escape(result.message),
            )
        console.print(table)
    _print_summary(
        len(run.results) - run.failed,
        run.failed,
        run.deselected,
        f"({escape(str(run.path))} against {escape(run.label)})",
    )


def _print_summary(passed: int, failed: int, deselected: int, where: str) -> None:
    colour = "red" if failed else "green"
    more = f", {deselected} deselected" if deselected else ""
    console.print(
        f"[{colour}]{passed} passed, {failed} failed[/]{more} {where}",
        highlight=False,
        soft_wrap=True,
    )


@app.command("test")
def run_policy_tests(
    paths: Annotated[
        list[Path],
        typer.Argument(
            metavar="PATH...",
            help=(
                "Policy-test files (.yaml, .yml, .toml or .json), or folders to search"
                " for policy_test*.yaml / .yml / .toml / .json."
            ),
            show_default=False,
        ),
    ],
    policy: PolicyOpt = None,
    from_stytch: FromStytchOpt = False,
    run_pattern: Annotated[
        str | None,
        typer.Option(
            "--run",
            "-k",
            metavar="REGEX",
            help="Only rows whose id (e.g. 'viewer documents:read allow') matches REGEX.",
            show_default=False,
        ),
    ] = None,
    junit_xml: Annotated[
        Path | None,
        typer.Option(
            "--junit-xml",
            metavar="FILE",
            help="Also write a JUnit XML report to FILE (for CI).",
            show_default=False,
        ),
    ] = None,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="List passing rows too.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Check expected allow / deny rows against a policy; exit 1 if any row fails.

    The policy is --policy, the live one (--from-stytch), or each file's own
    'policy' key. A row naming a role, resource or action the policy does not
    define fails. File format: see the "Policy tests" section of the CLI docs.
    """
    if policy is not None and from_stytch:
        raise fail("give either --policy or --from-stytch, not both", code="usage")
    try:
        selector = re.compile(run_pattern) if run_pattern is not None else None
    except re.error as exc:
        raise fail(
            f"--run {run_pattern!r} is not a regular expression: {exc}", code="usage"
        ) from None
    suites = [(path, _load(path)) for path in _collect(paths)]

    project: Policy | None = None
    label = ""
    if from_stytch:
        project, _ = fetch_live_policy()
        label = "Stytch (live)"
    elif policy is not None:
        project, label = load_policy_file(policy), str(policy)
    runs: list[_FileRun] = []
    for path, suite in suites:
        org_policies: dict[str, OrgPolicy] = {}
        if from_stytch:
            for name, spec in suite.organizations.items():
                if spec.organization_id is not None and spec.org_policy is None:
                    org_policies[name] = fetch_live_org_policy(spec.organization_id)
        if project is not None:
            file_policy, file_label = project, label
        elif suite.policy_path is not None:
            file_policy = load_policy_file(suite.policy_path)
            file_label = str(suite.policy_path)
        else:
            raise fail(
                f"{path} names no 'policy'; use --policy FILE or --from-stytch", code="usage"
            )
        runner = suite.runner(compile_quietly(file_policy), org_policies=org_policies)
        selected = [e for e in suite if selector is None or selector.search(e.id)]
        try:
            results = [runner.check(expectation) for expectation in selected]
        except PolicyError as exc:
            raise fail(str(exc), code="invalid-policy") from None
        runs.append(_FileRun(path, file_label, results, len(suite) - len(selected)))

    if selector is not None and not any(file_run.results for file_run in runs):
        raise fail(f"--run {run_pattern!r} selects no row", code="no-match")
    if junit_xml is not None:
        _write_junit(junit_xml, runs)
    results = [r for file_run in runs for r in file_run.results]
    failed = sum(file_run.failed for file_run in runs)
    deselected = sum(file_run.deselected for file_run in runs)
    if as_json:
        labels = {file_run.label for file_run in runs}
        print_json(
            {
                "policy": labels.pop() if len(labels) == 1 else None,
                "passed": len(results) - failed,
                "failed": failed,
                "deselected": deselected,
                "files": [
                    {
                        "path": str(file_run.path),
                        "policy": file_run.label,
                        "passed": len(file_run.results) - file_run.failed,
                        "failed": file_run.failed,
                    }
                    for file_run in runs
                ],
                "results": [_result_json(r) for r in results],
            }
        )
    else:
        for file_run in runs:
            _print_run(file_run, verbose=verbose)
        if len(runs) > 1:
            _print_summary(len(results) - failed, failed, deselected, f"in {len(runs)} files")
    if failed:
        raise typer.Exit(EXIT_DENIED)
