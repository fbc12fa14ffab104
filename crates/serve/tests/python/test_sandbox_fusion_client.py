"""`tracealign serve` through clients nobody here wrote: the `sandbox-fusion` package from
PyPI (its `run_code` and `submit`), and verl's SandboxFusion scoring rule reproduced on
`/run_code` (one request per test case, the test's input as stdin, `rstrip` comparison,
score = tests passed / total).

The server is the real binary (TRACEALIGN_BIN, default target/debug/tracealign) on
127.0.0.1 with a port the system picks; it is stopped with SIGTERM at the end. Without the
`sandbox_fusion` package these tests skip, unless TRACEALIGN_REQUIRE_SANDBOX_FUSION=1 (CI),
where they fail.
"""

import json
import os
import urllib.request

import pytest
from conftest import serve

REQUIRED = os.environ.get("TRACEALIGN_REQUIRE_SANDBOX_FUSION") == "1"

try:
    import sandbox_fusion
except ImportError:
    if REQUIRED:
        raise
    pytest.skip("the sandbox-fusion client is not installed", allow_module_level=True)


@pytest.fixture(scope="module")
def endpoint():
    with serve() as url:
        yield url


def test_run_code_through_the_client(endpoint):
    from sandbox_fusion import RunCodeRequest, RunStatus, run_code
    ok = run_code(RunCodeRequest(code="print(input()[::-1])", stdin="abc\n", language="python"),
                  endpoint=endpoint, max_attempts=1)
    assert ok.status == RunStatus.Success
    assert ok.run_result.stdout == "cba\n"
    assert ok.run_result.return_code == 0
    slow = run_code(RunCodeRequest(code="while True: pass", language="python", run_timeout=0.5),
                    endpoint=endpoint, max_attempts=1)
    assert slow.status == RunStatus.Failed
    assert slow.run_result.status.value == "TimeLimitExceeded"
    files = run_code(RunCodeRequest(code="open('b.txt', 'w').write(open('a.txt').read() + '!')",
                                    language="python", files={"a.txt": "aGk="},
                                    fetch_files=["b.txt"]),
                     endpoint=endpoint, max_attempts=1)
    assert files.status == RunStatus.Success
    assert files.files["b.txt"] == "aGkh"  # base64 of "hi!"


def test_submit_through_the_client(endpoint):
    from sandbox_fusion import SubmitRequest, TestConfig, submit
    tests = [{"input": {"stdin": f"{n}\n"}, "output": {"stdout": f"{n * n}\n"}} for n in (2, 3, 11)]
    completion = "```python\nn = int(input())\nprint(n * n if n < 10 else 0)\n```"
    result = submit(SubmitRequest(dataset="custom", id="sq", completion=completion,
                                  config=TestConfig(language="python",
                                                    provided_data={"test": tests})),
                    endpoint=endpoint, max_attempts=1)
    assert result.id == "sq"
    assert not result.accepted
    assert [t.passed for t in result.tests] == [True, True, False]
    assert result.tests[2].exec_info.run_result.stdout == "0\n"


def verl_score(endpoint, code, inputs, outputs):
    """verl's rule: one /run_code per test case (stdin = the input), a test passes when the
    run's status is Success and its stdout equals the expected output after rstrip."""
    passed = 0
    for stdin, expected in zip(inputs, outputs):
        payload = {"code": code, "stdin": stdin, "compile_timeout": 10, "run_timeout": 10,
                   "memory_limit_MB": 1024, "language": "python", "files": {},
                   "fetch_files": []}
        request = urllib.request.Request(f"{endpoint}/run_code", data=json.dumps(payload).encode(),
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=60) as response:
            answer = json.load(response)
        if answer["status"] == "Success" and answer["run_result"]["stdout"].rstrip() == expected.rstrip():
            passed += 1
    return passed / len(inputs)


def test_verl_scoring_on_run_code(endpoint):
    inputs = ["1 2\n", "5 5\n", "-3 3\n", "10 -20\n"]
    outputs = ["3\n", "10\n", "0\n", "-10"]
    right = "a, b = map(int, input().split())\nprint(a + b)\n"
    wrong = "a, b = map(int, input().split())\nprint(abs(a) + abs(b))\n"
    crash = "a, b = map(int, input().split())\nprint(a + b)\nraise SystemExit(1)\n"
    assert verl_score(endpoint, right, inputs, outputs) == 1.0
    assert verl_score(endpoint, wrong, inputs, outputs) == 0.5
    assert verl_score(endpoint, crash, inputs, outputs) == 0.0
