"""A `tracealign serve` process for a test: the real binary (TRACEALIGN_BIN, default
target/debug/tracealign) on 127.0.0.1 with a port the system picks, stopped with SIGTERM
(and checked to exit 0) at the end."""

import contextlib
import json
import os
import re
import signal
import subprocess
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[4]

PROBLEM = {"id": "t/add", "language": "python", "prompt": "def add(a, b):\n",
           "entry_point": "add", "reference": "def add(a, b):\n    return a + b\n",
           "tests": [{"name": "t1", "input": [1, 2], "expected": 3}]}


def binary() -> Path:
    path = Path(os.environ.get("TRACEALIGN_BIN", ROOT / "target/debug/tracealign"))
    if not path.exists():
        pytest.fail(f"{path} does not exist: build it first (cargo build)")
    return path


@contextlib.contextmanager
def serve(*flags: str, jobs: int = 2):
    """Yields the base URL of a server on the one-problem set `PROBLEM`, with `jobs`
    workers, started with `flags` added."""
    with tempfile.TemporaryDirectory() as tmp:
        problems = Path(tmp) / "problems.jsonl"
        problems.write_text(json.dumps(PROBLEM) + "\n")
        server = subprocess.Popen(
            [str(binary()), "serve", "--addr", "127.0.0.1:0", "-p", str(problems),
             "--cache-dir", str(Path(tmp) / "cache"), "--jobs", str(jobs), *flags],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            line = server.stdout.readline()
            found = re.search(r"listening on (http://\S+)", line)
            if not found:
                server.kill()
                server.wait()
                pytest.fail(f"the server did not start: {line!r} {server.stderr.read()}")
            yield found.group(1)
        finally:
            server.send_signal(signal.SIGTERM)
            try:
                assert server.wait(timeout=30) == 0, server.stderr.read()
            finally:
                if server.poll() is None:
                    server.kill()


def post(url: str, payload: dict, timeout: float = 60) -> tuple[int, dict]:
    """(HTTP status, JSON body) of a POST, error statuses included."""
    request = urllib.request.Request(url, data=json.dumps(payload).encode(),
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def get_text(url: str, timeout: float = 10) -> str:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.read().decode()
