"""A missing optional extra is named: importing the emulator, the FastAPI or Starlette
integration, the server runner, using the plugin's fixtures or running the CLI without
its extra says which one to install, and keeps the original error as ``__cause__``."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

#: Makes ``import <name>`` fail the way a package that is not installed does.
BLOCK = "import sys\nfor name in {blocked!r}:\n    sys.modules[name] = None\n"


def python(code: str, *, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter of this environment."""
    return subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize(
    ("module", "blocked", "extra"),
    [
        ("stytch_rbac.emulator", "starlette", "emulator"),
        ("stytch_rbac.emulator", "uvicorn", "emulator"),
        ("stytch_rbac.serving", "uvicorn", "emulator"),
        ("stytch_rbac.integrations.fastapi", "fastapi", "fastapi"),
        ("stytch_rbac.integrations.starlette", "starlette", "fastapi"),
        ("stytch_rbac.integrations.flask", "flask", "flask"),
        ("stytch_rbac.integrations.django", "django", "django"),
    ],
)
def test_import_names_the_extra(module: str, blocked: str, extra: str) -> None:
    """The ModuleNotFoundError names the module, the missing package and the pip command,
    keeps ``name`` (so ``except ImportError`` code still knows what is missing) and chains
    the original error."""
    code = BLOCK.format(blocked=[blocked]) + textwrap.dedent(
        f"""
        try:
            import {module}
        except ModuleNotFoundError as exc:
            cause = exc.__cause__
            print(exc.name)
            print(exc)
            print(type(cause).__name__, cause.name if cause is not None else None)
        """
    )
    run = python(code)
    assert run.returncode == 0, run.stderr
    name, message, cause = run.stdout.splitlines()
    assert name == blocked
    assert f"needs the '{extra}' extra ({blocked} is not installed)" in message
    assert f"pip install 'stytch-rbac[{extra}]'" in message
    assert cause.startswith("ModuleNotFoundError ")


def test_a_broken_module_of_ours_is_not_called_a_missing_extra() -> None:
    """When what fails to import is part of stytch-rbac itself, the original error comes
    through unchanged: a bug must not read as "install the extra"."""
    code = BLOCK.format(blocked=["stytch_rbac.emulator._app"]) + textwrap.dedent(
        """
        try:
            import stytch_rbac.emulator
        except ModuleNotFoundError as exc:
            print(exc.name)
            print(exc)
        """
    )
    run = python(code)
    assert run.returncode == 0, run.stderr
    name, message = run.stdout.splitlines()
    assert name == "stytch_rbac.emulator._app"
    assert "extra" not in message


def test_plugin_fixtures_name_the_extra(tmp_path: Path) -> None:
    """Without the emulator extra the plugin still loads, and a test using its fixtures
    errors with the extra to install."""
    (tmp_path / "conftest.py").write_text(BLOCK.format(blocked=["starlette", "uvicorn"]))
    (tmp_path / "test_app.py").write_text(
        "def test_uses_the_emulator(stytch_emulator):\n    pass\n"
    )
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:asyncio"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 1, run.stdout + run.stderr
    assert "1 error" in run.stdout
    assert (
        "the stytch_emulator fixture (and stytch_rbac, member, stytch_base_url) needs the "
        "'emulator' extra (starlette is not installed): pip install 'stytch-rbac[emulator]'"
    ) in run.stdout


@pytest.mark.parametrize("command", [["demo"], ["emulator", "--port", "0"]])
def test_cli_names_the_extra(command: list[str], tmp_path: Path) -> None:
    """``stytch-rbac demo`` and ``stytch-rbac emulator`` without the emulator extra: one line
    naming it, exit code 2, no traceback."""
    code = BLOCK.format(blocked=["starlette"]) + textwrap.dedent(
        f"""
        from stytch_rbac.cli import main
        sys.argv = ["stytch-rbac", *{command!r}]
        main()
        """
    )
    run = python(code, cwd=tmp_path)
    assert run.returncode == 2, run.stdout + run.stderr
    assert "Traceback" not in run.stderr
    assert "needs the 'emulator' extra (starlette is not installed)" in run.stderr
    assert "pip install 'stytch-rbac[emulator]'" in run.stderr


def test_drf_classes_name_the_extra() -> None:
    """Without Django REST framework the Django glue imports, and rbac.drf() names the extra."""
    code = BLOCK.format(blocked=["rest_framework"]) + textwrap.dedent(
        """
        import stytch_rbac.integrations.django
        from stytch_rbac.sync import StytchRBAC
        try:
            StytchRBAC("project-test-x", "secret").drf("documents:read")
        except ModuleNotFoundError as exc:
            print(exc)
        """
    )
    run = python(code)
    assert run.returncode == 0, run.stderr
    assert "needs the 'django' extra (rest_framework is not installed)" in run.stdout
