"""Check that the public API is typed: ``pyright --verifytypes`` scores at least a minimum.

Runs ``pyright --verifytypes stytch_rbac --ignoreexternal --outputjson`` against the
interpreter running this script (the project's venv), prints the score and every
public symbol whose type is ambiguous or unknown, and exits 1 when the score is
below ``--minimum`` (percent). ``make verifytypes`` (part of ``make test``) runs it.

Usage::

    python scripts/verifytypes.py --minimum 98
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

PACKAGE = "stytch_rbac"


def run_pyright(package: str = PACKAGE) -> dict[str, Any]:
    """The ``typeCompleteness`` report of pyright for ``package``."""
    bin_dir = str(Path(sys.executable).parent)  # not resolved: a venv's python is a symlink
    pyright = shutil.which("pyright", path=bin_dir) or shutil.which("pyright")
    if pyright is None:
        raise SystemExit("pyright is not installed: pip install -e '.[dev]'")
    # pyright finds the environment (and so the installed package) through the
    # first python on PATH; --pythonpath would follow the symlink out of the venv.
    env = os.environ | {"PATH": os.pathsep.join([bin_dir, os.environ.get("PATH", "")])}
    done = subprocess.run(
        [pyright, "--verifytypes", package, "--ignoreexternal", "--outputjson"],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    try:
        report: dict[str, Any] = json.loads(done.stdout)
    except json.JSONDecodeError:
        raise SystemExit(f"pyright gave no report:\n{done.stdout}{done.stderr}") from None
    problems = [d["message"] for d in report.get("generalDiagnostics", [])]
    if problems:  # e.g. "No py.typed file found": the score would be 0 for the wrong reason
        raise SystemExit("pyright could not check the package:\n" + "\n".join(problems))
    completeness: dict[str, Any] = report["typeCompleteness"]
    return completeness


def main(argv: list[str] | None = None) -> int:
    """Print the score and the incomplete public symbols; 1 when below the minimum."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minimum", type=float, default=98.0, help="percent (default 98)")
    args = parser.parse_args(argv)
    report = run_pyright()
    score = 100 * float(report["completenessScore"])
    counts = report["exportedSymbolCounts"]
    for symbol in report["symbols"]:
        if symbol["isExported"] and (symbol["isTypeAmbiguous"] or not symbol["isTypeKnown"]):
            first = (symbol["diagnostics"] or [{"message": "ambiguous"}])[0]["message"]
            print(f"  {symbol['name']}: {first.splitlines()[0]}")
    print(
        f"pyright --verifytypes {PACKAGE}: {score:.1f}% of {sum(counts.values())} public "
        f"symbols fully typed (minimum {args.minimum:g}%)"
    )
    return 0 if score >= args.minimum else 1


if __name__ == "__main__":
    sys.exit(main())
