"""Debian's headless chromium, driven by selenium through Debian's chromedriver.

For tests/browser and the docs' screenshot (scripts/screenshot_fullstack.py): no
browser or driver is downloaded; both come from ``apt-get install chromium
chromium-driver`` (``make browser-deps``). Needs the ``browser`` extra (selenium).
"""

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

__all__ = ["FLAGS", "chromium", "missing_browser"]

#: Headless, no sandbox (root in a container), and nothing contacted but the page's servers.
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1280,860",
)


def _paths() -> tuple[str | None, str | None]:
    return shutil.which("chromium"), shutil.which("chromedriver")


def missing_browser() -> str | None:
    """Why the browser cannot start (``None`` when chromium and chromedriver are there)."""
    browser, driver = _paths()
    if browser is None or driver is None:
        lacking = " and ".join(
            name for name, path in (("chromium", browser), ("chromedriver", driver)) if not path
        )
        return (
            f"{lacking} not installed: apt-get install -y chromium chromium-driver "
            "(make browser-deps does it as root)"
        )
    return None


@contextmanager
def chromium() -> Iterator[webdriver.Chrome]:
    """A fresh headless chromium with an empty profile, quit on exit."""
    browser, driver = _paths()
    if browser is None or driver is None:
        raise RuntimeError(missing_browser())
    with tempfile.TemporaryDirectory(prefix="stytch-rbac-chromium-") as profile:
        options = webdriver.ChromeOptions()
        options.binary_location = browser
        for flag in (*FLAGS, f"--user-data-dir={profile}"):
            options.add_argument(flag)
        # The network log lets a test list every URL the page contacted.
        options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
        session = webdriver.Chrome(service=Service(executable_path=driver), options=options)
        try:
            yield session
        finally:
            session.quit()
