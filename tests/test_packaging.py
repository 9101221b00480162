"""What a user sees of the package before using it: the built wheel's metadata and its PyPI page."""

from __future__ import annotations

import email
import email.message
import re
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    """The wheel ``pip wheel .`` builds from this checkout (offline: the venv has the backend)."""
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable,
            *("-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation"),
            *("--wheel-dir", str(out), str(ROOT)),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (path,) = out.glob("stytch_rbac-*.whl")
    return zipfile.ZipFile(path)


@pytest.fixture(scope="module")
def metadata(wheel: zipfile.ZipFile) -> email.message.Message:
    """The wheel's METADATA: what PyPI shows on the project page."""
    (name,) = [n for n in wheel.namelist() if n.endswith(".dist-info/METADATA")]
    return email.message_from_bytes(wheel.read(name))


def test_the_wheel_carries_the_mit_license(
    wheel: zipfile.ZipFile, metadata: email.message.Message
) -> None:
    """The license is declared as an SPDX expression and its text ships in the wheel."""
    assert metadata["License-Expression"] == "MIT"
    assert metadata.get_all("License-File") == ["LICENSE"]
    (name,) = [n for n in wheel.namelist() if n.endswith(".dist-info/licenses/LICENSE")]
    text = wheel.read(name).decode()
    assert text.startswith("MIT License")
    assert 'THE SOFTWARE IS PROVIDED "AS IS"' in text
    assert text == (ROOT / "LICENSE").read_text(encoding="utf-8")


def test_project_urls_are_absolute_https(metadata: email.message.Message) -> None:
    """PyPI's sidebar links (home, docs, source, issues, changelog) are absolute https URLs."""
    urls = dict(u.split(", ", 1) for u in metadata.get_all("Project-URL") or [])
    assert set(urls) == {"Homepage", "Documentation", "Repository", "Issues", "Changelog"}
    assert all(u.startswith("https://") for u in urls.values())


def test_classifiers_name_exactly_the_pythons_tested(
    wheel: zipfile.ZipFile, metadata: email.message.Message
) -> None:
    """Each ``Python :: 3.x`` classifier is the minimum Python or one ``make test-pythons`` runs."""
    classifiers = metadata.get_all("Classifier") or []
    listed = {c.rsplit(" :: ", 1)[1] for c in classifiers if re.search(r"Python :: 3\.\d+$", c)}
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    others = re.search(r"^PYTHONS := (.+)$", makefile, re.MULTILINE)
    assert others is not None
    minimum = re.fullmatch(r">=(3\.\d+)", metadata["Requires-Python"] or "")
    assert minimum is not None
    assert listed == {minimum.group(1), *others.group(1).split()}
    assert "Typing :: Typed" in classifiers
    assert "stytch_rbac/py.typed" in wheel.namelist()


def test_readme_links_work_on_pypi(metadata: email.message.Message) -> None:
    """The README (the PyPI page) links only to absolute URLs; repository links name real files."""
    payload = metadata.get_payload(decode=True)
    assert isinstance(payload, bytes)
    readme = payload.decode("utf-8")
    assert readme.strip() == (ROOT / "README.md").read_text(encoding="utf-8").strip()
    links = re.findall(r"\]\(([^)\s]+)\)", readme) + re.findall(r'(?:src|href)="([^"]+)"', readme)
    assert links, "the README links to the docs"
    relative = [link for link in links if not link.startswith(("https://", "http://"))]
    assert relative == []
    repository = PYPROJECT["project"]["urls"]["Repository"]
    for link in links:
        if link.startswith(f"{repository}/blob/main/"):
            path = link.removeprefix(f"{repository}/blob/main/").split("#")[0]
            assert (ROOT / path).is_file(), link


def test_verifytypes_gate_is_part_of_make_test() -> None:
    """``make test`` runs ``make verifytypes``, which asks pyright for at least 98%."""
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    test_line = re.search(r"^test: (.+)$", makefile, re.MULTILINE)
    assert test_line is not None
    assert "verifytypes" in test_line.group(1).split()
    assert re.search(r"^verifytypes: .*\n\t.*scripts/verifytypes\.py --minimum 98", makefile, re.M)
