"""Build the example's page: ``npm ci`` (the locked SDK and esbuild), then esbuild.

The same mechanism as the Node SDK conformance test (tests/conformance/node): ``npm
ci`` from the committed package-lock.json into ``frontend/node_modules`` (ignored by
git), run again only when the lock file changed; the bundle is rebuilt only when a
source is newer than it. Needs ``node`` and ``npm`` on PATH, and the npm registry the
first time.
"""

import os
import shutil
import subprocess
from pathlib import Path

__all__ = ["FRONTEND", "BundleError", "build_frontend"]

FRONTEND = Path(__file__).resolve().parent / "frontend"
BUNDLE = FRONTEND / "dist" / "app.js"
_STAMP = FRONTEND / "node_modules" / ".package-lock.json"  # npm writes it on every install


class BundleError(RuntimeError):
    """The page could not be built (no node/npm, or npm/esbuild failed)."""


def _npm() -> str:
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        raise BundleError(
            "node and npm are needed to build examples/fullstack/frontend "
            "(Debian: apt-get install -y nodejs npm)"
        )
    return npm


def _run(npm: str, *args: str) -> None:
    env = {**os.environ, "npm_config_update_notifier": "false", "npm_config_fund": "false"}
    done = subprocess.run(
        [npm, *args],
        cwd=FRONTEND,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if done.returncode != 0:
        raise BundleError(f"npm {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")


def _newer(source: Path, than: Path) -> bool:
    return not than.exists() or source.stat().st_mtime > than.stat().st_mtime


def build_frontend() -> Path:
    """The built bundle (``frontend/dist/app.js``), installing and building as needed."""
    npm = _npm()
    if _newer(FRONTEND / "package-lock.json", _STAMP):
        _run(npm, "ci", "--no-audit", "--loglevel=error")
    sources = [FRONTEND / "package-lock.json", *sorted((FRONTEND / "src").rglob("*.js"))]
    if any(_newer(source, BUNDLE) for source in sources):
        _run(npm, "run", "build", "--silent")
    return BUNDLE
