"""Take docs/img/fullstack.png: the full-stack example's page in headless chromium.

Starts the stack (examples/fullstack), logs in as the member holding Acme's custom
role through a magic link from the emulator's outbox, makes one call Stytch refuses
and one the backend allows, and saves the page. Needs node/npm, Debian's chromium and
chromedriver (``make browser-deps``) and the ``browser`` extra.

Usage::

    python scripts/screenshot_fullstack.py [--output docs/img/fullstack.png]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from selenium.webdriver.support.ui import WebDriverWait

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from examples.fullstack.chromium import chromium
from examples.fullstack.stack import running_stack

OUTPUT = Path(__file__).resolve().parents[1] / "docs" / "img" / "fullstack.png"
WHO = "rita@acme.test"


def main() -> int:
    """Write the screenshot; 0 on success."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args()
    with running_stack() as stack, chromium() as browser:
        ready = "return Boolean(window.stytchDemo && window.stytchDemo.ready)"
        call = "const done = arguments[arguments.length - 1]; Promise.resolve({}).then(done);"
        browser.get(stack.app_url + "/")
        WebDriverWait(browser, 30).until(lambda b: b.execute_script(ready))
        browser.execute_async_script(call.format(f"stytchDemo.sendLogin('{WHO}')"))
        browser.get(stack.emulator.outbox[-1]["url"])
        WebDriverWait(browser, 30).until(lambda b: b.execute_script(ready))
        browser.execute_async_script(call.format("stytchDemo.renameOrganization('Acme Labs')"))
        browser.execute_async_script(call.format("stytchDemo.auditLog()"))
        browser.set_window_size(1280, 1000)
        args.output.parent.mkdir(parents=True, exist_ok=True)
        if not browser.save_screenshot(str(args.output)):
            print("chromium could not save the screenshot", file=sys.stderr)
            return 1
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
