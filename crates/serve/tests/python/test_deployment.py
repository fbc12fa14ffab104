"""`tracealign serve` as it is deployed: threaded numeric libraries under a memory limit, an
out-of-memory beside them, request limits set on the command line, and two replicas behind
nginx (Debian's package) on loopback.

nginx is needed for the last test: without it, it skips, unless TRACEALIGN_REQUIRE_NGINX=1
(CI), where it fails. numpy comes from this interpreter (the jobs run on it: `--python`).
"""

import concurrent.futures
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from conftest import get_text, post, serve

NUMPY_THREADS = """
import numpy as np
a = np.random.default_rng(0).random((600, 600))
b = a @ a
threads = int([l for l in open('/proc/self/status') if l.startswith('Threads:')][0].split()[1])
print(round(float(b.trace()), 3) > 0, threads)
"""

MEMORY_BOMB = "blocks = []\nwhile True:\n    blocks.append(bytearray(32 << 20))\n"


def test_numpy_runs_with_threads_under_a_memory_limit_beside_an_out_of_memory():
    pytest.importorskip("numpy")
    cores = os.cpu_count() or 1
    with serve("--python", sys.executable) as url:
        def run(code, memory):
            return post(f"{url}/run_code", {"code": code, "language": "python",
                                            "memory_limit_MB": memory, "run_timeout": 30})
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            numpy_runs = [pool.submit(run, NUMPY_THREADS, 256) for _ in range(3)]
            bombs = [pool.submit(run, MEMORY_BOMB, 256) for _ in range(2)]
            for future in numpy_runs:
                status, answer = future.result()
                assert status == 200 and answer["status"] == "Success", answer
                ok, threads = answer["run_result"]["stdout"].split()
                assert ok == "True"
                # OpenBLAS started its pool: the job's share of the cores (at most 4).
                assert int(threads) >= min(cores, 4), answer["run_result"]["stdout"]
            for future in bombs:
                status, answer = future.result()
                assert status == 200 and answer["status"] == "Failed", answer
                assert answer["message"].startswith("MemoryLimitExceeded"), answer
                assert "MemoryError" in answer["run_result"]["stderr"]
        metrics = get_text(f"{url}/metrics")
        assert re.search(r'kind="script_memory_limit"\} 2\b', metrics), metrics


def test_request_limits_come_from_the_command_line():
    with serve("--max-programs", "2", "--max-code-kb", "1", "--max-run-timeout", "5") as url:
        sample = {"problem_id": "t/add", "code": "def add(a, b):\n    return a + b\n"}
        status, answer = post(f"{url}/v1/evaluate", {"samples": [sample] * 2})
        assert status == 200 and answer["passed"] == 2, answer
        status, answer = post(f"{url}/v1/evaluate", {"samples": [sample] * 3})
        assert status == 413 and "samples" in str(answer), answer
        big = {"code": "x = 1\n" * 200, "language": "python"}
        status, answer = post(f"{url}/run_code", big)
        assert status == 413 and "code" in str(answer), answer
        status, answer = post(f"{url}/run_code", {"code": "print(1)", "language": "python",
                                                  "run_timeout": 10})
        assert status == 422 and "run_timeout" in str(answer), answer


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


NGINX_CONF = """
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log;
events {{ worker_connections 256; }}
http {{
  access_log off;
  client_body_temp_path {tmp}/body; proxy_temp_path {tmp}/proxy;
  fastcgi_temp_path {tmp}/fastcgi; uwsgi_temp_path {tmp}/uwsgi; scgi_temp_path {tmp}/scgi;
  upstream tracealign {{ server {first}; server {second}; keepalive 16; }}
  server {{
    listen 127.0.0.1:{port};
    client_max_body_size 16m;
    location / {{ proxy_pass http://tracealign; proxy_http_version 1.1;
                 proxy_set_header Connection ""; proxy_read_timeout 120s;
                 proxy_next_upstream error timeout http_429; }}
  }}
}}
"""


def nginx_binary() -> str:
    found = shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/sbin/nginx") if os.path.exists(p)), None)
    if found is None:
        if os.environ.get("TRACEALIGN_REQUIRE_NGINX") == "1":
            pytest.fail("nginx is not installed (apt-get install nginx)")
        pytest.skip("nginx is not installed")
    return found


def served_requests(url: str) -> int:
    metrics = get_text(f"{url}/metrics")
    return sum(int(float(n)) for n in re.findall(
        r'^tracealign_requests_total\{[^}]*route="/(?:run_code|v1/evaluate)"[^}]*\} (\S+)$',
        metrics, re.M))


def test_two_replicas_behind_nginx_share_the_load():
    nginx = nginx_binary()
    with serve(jobs=1) as first, serve(jobs=1) as second, \
            tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        conf = Path(tmp) / "nginx.conf"
        conf.write_text(NGINX_CONF.format(tmp=tmp, port=port, first=first[len("http://"):],
                                          second=second[len("http://"):]))
        proxy = subprocess.Popen([nginx, "-p", tmp, "-c", str(conf), "-g", "daemon off;"],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 20
            while True:
                try:
                    assert get_text(f"{url}/health")
                    break
                except OSError:
                    assert proxy.poll() is None, proxy.stderr.read()
                    assert time.monotonic() < deadline, "nginx did not start"
                    time.sleep(0.1)
            def one(i):
                if i % 2:
                    return post(f"{url}/run_code", {"code": f"print({i} * 2)", "language": "python"})
                sample = {"problem_id": "t/add", "code": f"def add(a, b):\n    return a + b + {i} - {i}\n"}
                return post(f"{url}/v1/evaluate", {"samples": [sample]})
            with concurrent.futures.ThreadPoolExecutor(8) as pool:
                answers = list(pool.map(one, range(40)))
            for i, (status, answer) in enumerate(answers):
                assert status == 200, answer
                if i % 2:
                    assert answer["run_result"]["stdout"] == f"{i * 2}\n", answer
                else:
                    assert answer["passed"] == 1, answer
            shares = [served_requests(first), served_requests(second)]
            assert sum(shares) == 40 and min(shares) >= 5, shares
        finally:
            proxy.send_signal(signal.SIGQUIT)
            try:
                proxy.wait(timeout=20)
            finally:
                if proxy.poll() is None:
                    proxy.kill()
