"""tools/serve.py started as a user starts it, for tests/test_serve.py and
tests/slow/test_serve_local.py: its start-up lines, Ctrl-C, and the requests to a server with the
local table."""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SERVE_PY = ROOT / "tools" / "serve.py"
TIMEOUT = 5


def start_cli(*args: str, timeout: float = TIMEOUT) -> tuple[subprocess.Popen[bytes], list[str]]:
    """``tools/serve.py`` as a user starts it (no table of this shell's: TABLE_NAME and
    AWS_ENDPOINT_URL dropped), and its start-up lines: "Serving ..." to the "Health: ..." line."""
    env = {k: v for k, v in os.environ.items() if k not in ("TABLE_NAME", "AWS_ENDPOINT_URL")}
    process = subprocess.Popen(
        [sys.executable, str(SERVE_PY), "--host", "127.0.0.1", "--port", "0", *args],
        cwd=ROOT,
        env={**env, "PYTHONDONTWRITEBYTECODE": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        bufsize=0,  # unbuffered: readline() takes one line off the pipe, so select() sees the next
    )
    assert process.stdout is not None
    lines: list[str] = []
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        while not lines or not lines[-1].startswith("Health: "):
            assert selector.select(timeout), f"no start-up line within the timeout after {lines}"
            line = process.stdout.readline().decode()
            assert line, f"the server stopped after {lines}"
            lines.append(line.rstrip("\n"))
    return process, lines


def stop_cli(process: subprocess.Popen[bytes]) -> bytes:
    """Ctrl-C, as a user stops it: a clean exit, its stderr."""
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=TIMEOUT)
    assert process.returncode == 0, stderr
    assert b"Traceback" not in stderr
    return stderr


def serves_items_and_a_health_that_reads_the_table(url: str) -> None:
    """``url`` (the API's, ``.../dev/api``) serves a health that reads the local table, and the
    items routes against it (in eu-west-1)."""
    with urllib.request.urlopen(url + "/health", timeout=TIMEOUT) as response:
        health = json.loads(response.read())
    assert (response.status, health["status"], health["table"]) == (200, "healthy", "reachable")
    request = urllib.request.Request(url + "/items/a", data=b'{"data": {"k": 1}}', method="PUT")
    with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
        item = json.loads(response.read())
    assert (response.status, item["data"], item["updated_region"]) == (201, {"k": 1}, "eu-west-1")
