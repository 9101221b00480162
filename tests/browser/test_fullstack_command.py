"""``python -m examples.fullstack``, the documented one command, serves the whole stack:
the page and its bundle, its configuration, the emulator's frontend API; Ctrl-C stops it."""

from __future__ import annotations

import base64
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 240.0  # the first run installs the page's packages with npm ci


def _lines(stream: object, sink: queue.Queue[str]) -> None:
    assert hasattr(stream, "readline")
    for line in iter(stream.readline, ""):
        sink.put(line)


def test_one_command_serves_page_backend_and_emulator() -> None:
    if shutil.which("npm") is None or shutil.which("node") is None:
        pytest.skip(
            "node and npm are needed to build the page (Debian: apt-get install nodejs npm)"
        )
    command = [sys.executable, "-m", "examples.fullstack", "--port", "0", "--stytch-port", "0"]
    with subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as proc:
        output: queue.Queue[str] = queue.Queue()
        threading.Thread(target=_lines, args=(proc.stdout, output), daemon=True).start()
        seen: list[str] = []
        deadline = time.monotonic() + START_TIMEOUT
        try:
            while not any(line.startswith("Open: ") for line in seen):
                assert proc.poll() is None, "".join(seen)
                assert time.monotonic() < deadline, "".join(seen)
                try:
                    seen.append(output.get(timeout=0.5))
                except queue.Empty:
                    continue
            text = "".join(seen)
            found = re.search(r"Stytch emulator: (\S+)\s+\(public token (\S+)\)", text)
            page = re.search(r"Open:\s+(\S+)/ ", text)
            assert found, text
            assert page, text
            stytch_url, public_token, app_url = found[1], found[2], page[1]
            with httpx.Client(timeout=10) as client:
                html = client.get(app_url + "/")
                assert html.status_code == 200
                assert '<script type="module" src="/app.js">' in html.text
                bundle = client.get(app_url + "/app.js")
                assert bundle.status_code == 200
                assert bundle.headers["content-type"].startswith("text/javascript")
                config = client.get(app_url + "/config.json").json()
                assert config["public_token"] == public_token
                assert config["stytch_url"] == stytch_url
                basic = base64.b64encode(f"{public_token}:{public_token}".encode()).decode()
                bootstrap = client.get(
                    f"{stytch_url}/sdk/v1/projects/bootstrap/{public_token}",
                    headers={"Origin": app_url, "Authorization": f"Basic {basic}"},
                )
                assert bootstrap.status_code == 200
                assert bootstrap.headers["access-control-allow-origin"] == app_url
                assert client.get(app_url + "/me").status_code == 401  # no cookie, no member
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                code = proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                raise
    assert code == 0
