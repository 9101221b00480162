"""The architecture stays true: the import contracts bite, the map names every module, and
documented pages never import a private path."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "stytch_rbac"
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"
ARCHITECTURE = ROOT / "docs" / "architecture.md"

#: A private path (a component starting with one underscore) in an import statement or a
#: mkdocstrings directive.
_PRIVATE_IMPORT = re.compile(
    r"^\s*(?:from\s+(stytch_rbac[\w.]*)\s+import\s+([\w, ()]+)|import\s+(stytch_rbac[\w.]*)"
    r"|:::\s+(stytch_rbac[\w.]*))",
    re.M,
)


def _is_private(dotted: str) -> bool:
    return any(part.startswith("_") and not part.startswith("__") for part in dotted.split("."))


def _lint_imports(project: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=project,
        env={"PYTHONPATH": str(project), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.fixture(scope="module")
def project_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the package and its pyproject.toml, to break on purpose."""
    copy = tmp_path_factory.mktemp("project")
    shutil.copytree(PACKAGE, copy / "stytch_rbac", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", copy / "pyproject.toml")
    return copy


def test_the_tree_keeps_every_contract(project_copy: Path) -> None:
    """lint-imports keeps every contract on the tree as it is."""
    result = _lint_imports(project_copy)
    assert result.returncode == 0, result.stdout + result.stderr
    assert " 0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        pytest.param("policy/compiled.py", "import httpx", "policy/ is pure", id="policy-io"),
        pytest.param(
            "auth/jwks.py", "import stytch", "Only _stytch/ (and the emulator)", id="sdk-import"
        ),
        pytest.param(
            "_stytch/http.py",
            "from ..client import StytchRBAC",
            "The request path runs downward",
            id="upward",
        ),
        pytest.param(
            "errors.py", "from .policy import Policy", "are the foundation", id="foundation"
        ),
        pytest.param(
            "cli/_common.py", "from ..emulator import _app", "_name means private", id="private"
        ),
        pytest.param(
            "client.py", "from . import testing", "Runtime code never imports", id="runtime"
        ),
        pytest.param(
            "policy/models.py", "import starlette", "Only integrations/ import", id="framework"
        ),
    ],
)
def test_a_forbidden_import_breaks_its_contract(
    tmp_path: Path, project_copy: Path, module: str, line: str, contract: str
) -> None:
    """Adding one forbidden import to one module makes lint-imports fail, naming the contract."""
    broken = tmp_path / "project"
    shutil.copytree(project_copy, broken)
    target = broken / "stytch_rbac" / module
    text = target.read_text()
    anchor = "from __future__ import annotations\n"
    target.write_text(text.replace(anchor, anchor + line + "  # noqa\n", 1))
    result = _lint_imports(broken)
    assert result.returncode != 0, result.stdout
    broken_section = result.stdout.split("Broken contracts", 1)[-1]
    assert contract in " ".join(broken_section.split()), result.stdout


def test_architecture_page_names_every_module() -> None:
    """docs/architecture.md names every module of the package (folders by their modules)."""
    text = ARCHITECTURE.read_text()
    missing = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE)
        if rel.parts[0] in ("emulator", "cli", "codegen") and rel.name != "__init__.py":
            continue  # boxes documented as a whole, with their own pages
        if rel.name == "__init__.py" and len(rel.parts) > 1:
            continue  # a folder is named by its modules
        if f"`{rel.as_posix()}`" not in text and rel.as_posix() not in text:
            missing.append(rel.as_posix())
    assert not missing, f"docs/architecture.md does not mention {missing}"


def test_architecture_page_names_only_modules_that_exist() -> None:
    """Every `x.py` path the architecture page names exists (in the package or the repository)."""
    text = ARCHITECTURE.read_text()
    named = set(re.findall(r"`((?:[a-z_]+/)*[a-z_]+\.py)`", text))
    absent = sorted(n for n in named if not (PACKAGE / n).exists() and not (ROOT / n).exists())
    assert not absent, f"docs/architecture.md names modules that do not exist: {absent}"


def _documented_files() -> list[Path]:
    files = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    files += sorted(p for p in (ROOT / "examples").rglob("*.py"))
    return files


@pytest.mark.parametrize("path", _documented_files(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_documented_pages_import_no_private_path(path: Path) -> None:
    """No docs page, README or example imports (or documents) an underscore module or name."""
    offending = []
    for match in _PRIVATE_IMPORT.finditer(path.read_text()):
        module = match.group(1) or match.group(3) or match.group(4) or ""
        names = [n.strip(" ()") for n in (match.group(2) or "").split(",")]
        if _is_private(module) or any(_is_private(n) for n in names if n):
            offending.append(match.group(0).strip())
    assert not offending, f"{path.name} imports private paths: {offending}"


def test_private_import_detector_catches_one() -> None:
    """The detector above flags a private import (so a clean result means something)."""
    sample = "from stytch_rbac.member._session import MemberSession\n::: stytch_rbac._stytch\n"
    found = [m.group(0).strip() for m in _PRIVATE_IMPORT.finditer(sample)]
    assert len(found) == 2
    assert all(_is_private(m.split()[1]) for m in found)
