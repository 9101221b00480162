"""The whole stack in background threads: the emulator and the backend serving the page.

For tests/browser and scripts/screenshot_fullstack.py; ``python -m examples.fullstack``
serves the same stack in the foreground.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from stytch_rbac import StytchRBAC
from stytch_rbac.emulator import Emulator
from stytch_rbac.serving import ThreadServer

from .app import create_fullstack_app
from .frontend import build_frontend
from .seed import PEOPLE, seed

__all__ = ["POLICY", "Stack", "running_stack"]

POLICY = Path(__file__).resolve().parent.parent / "policy.json"


@dataclass(frozen=True)
class Stack:
    """The emulator, the example organization, and where the two servers listen."""

    emulator: Emulator
    organization_id: str
    stytch_url: str
    app_url: str


@contextmanager
def running_stack() -> Iterator[Stack]:
    """Build the page, seed an emulator, serve both on free 127.0.0.1 ports; stop on exit.

    Raises :class:`~examples.fullstack.frontend.BundleError` when the page cannot be built.
    """
    build_frontend()
    emulator = Emulator(policy=POLICY)
    organization_id = seed(emulator)
    with emulator.serve_in_thread() as stytch_url:
        rbac = StytchRBAC(emulator.project_id, emulator.secret, base_url=stytch_url)
        app = create_fullstack_app(
            rbac,
            emulator,
            stytch_url=stytch_url,
            organization_id=organization_id,
            people=PEOPLE,
            open_rbac=True,
        )
        server = ThreadServer(app, lifespan="on")
        app_url = server.start()
        try:
            yield Stack(emulator, organization_id, stytch_url, app_url)
        finally:
            server.stop()
