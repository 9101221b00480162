"""The example app's documented command, ``python -m examples.fastapi_app``, really serves it:
an embedded emulator and the app start, the printed credentials work, Ctrl-C stops cleanly."""

from __future__ import annotations

import queue
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 60.0


def _lines(stream: object, sink: queue.Queue[str]) -> None:
    """Copy a text stream into ``sink`` line by line (a daemon reader thread)."""
    assert hasattr(stream, "readline")
    for line in iter(stream.readline, ""):
        sink.put(line)


def test_documented_command_serves_the_example() -> None:
    """The command prints credentials and curl lines that behave as their comments say."""
    command = [sys.executable, "-m", "examples.fastapi_app", "--port", "0"]
    with subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as proc:
        output: queue.Queue[str] = queue.Queue()
        reader = threading.Thread(target=_lines, args=(proc.stdout, output), daemon=True)
        reader.start()
        seen: list[str] = []
        deadline = time.monotonic() + START_TIMEOUT
        try:
            while not any(line.startswith("Ready: ") for line in seen):
                assert proc.poll() is None, "".join(seen)
                assert time.monotonic() < deadline, "".join(seen)
                try:
                    seen.append(output.get(timeout=0.5))
                except queue.Empty:
                    continue
            env = dict(
                pair.split("=", 1)
                for line in seen
                if line.startswith("export ")
                for pair in line.removeprefix("export ").split()
            )
            assert re.fullmatch(r"http://127\.0\.0\.1:\d+", env["APP"])
            docs = f"{env['APP']}/orgs/{env['ACME']}/documents"

            def bearer(name: str) -> dict[str, str]:
                return {"Authorization": f"Bearer {env[name + '_JWT']}"}

            with httpx.Client(timeout=10) as client:
                created = client.post(docs, json={"title": "Plan"}, headers=bearer("EDITOR"))
                assert created.status_code == 201
                assert client.get(docs, headers=bearer("VIEWER")).status_code == 200
                doc = f"{docs}/{created.json()['document_id']}"
                assert client.delete(doc, headers=bearer("VIEWER")).status_code == 403
                assert client.get(docs, headers=bearer("OUTSIDER")).status_code == 403
                me = client.get(
                    f"{env['APP']}/me", headers={"Cookie": f"stytch_session={env['OWNER_TOKEN']}"}
                )
                assert me.status_code == 200
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                code = proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                raise
        reader.join(timeout=5)
    assert code == 0
