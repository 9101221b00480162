"""The full-stack example: a page using Stytch's frontend SDK, the FastAPI backend, one emulator.

``python -m examples.fullstack`` (or ``make fullstack``) builds the page with npm and
esbuild, starts the emulator and the backend, and prints the URL to open. See
docs/guides/fullstack.md.
"""

from .app import Person, create_fullstack_app

__all__ = ["Person", "create_fullstack_app"]
