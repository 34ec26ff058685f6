"""Edit-to-updated time of `./pants lambda-sync`, against a local AWS API (moto's server).

    python3 bench/sync_loop.py [--edits 3]

Clones this checkout into a temporary folder, deploys the example's manifests to moto's server
on 127.0.0.1 as the reference Terraform would (tests/python/e2e/deploy.py), then measures, for
`--edits` one-line edits of a handler each:

- one-shot: the edit, then `./pants lambda-sync infrastructure::` through a warm pantsd, until
  it exits;
- loop: `./pants --loop lambda-sync infrastructure::` running; the time from the edit until the
  function's `CodeSha256` in the API is the new ZIP's.

Prints a Markdown table. Standard library only; moto and boto3 go into a virtualenv of their own.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PREFIX = "bench-"
FUNCTION = f"{PREFIX}billing-payments"
HANDLER = "src/python/billing/payments/handler.py"
ENV = {
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
}


def run(cmd: list[str], cwd: Path, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=cwd, check=True, text=True, **kwargs)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def deployed_hash(python: Path, endpoint: str) -> str:
    script = (
        "import boto3, sys; print(boto3.client('lambda', endpoint_url=sys.argv[1])"
        f".get_function_configuration(FunctionName='{FUNCTION}')['CodeSha256'])"
    )
    out = subprocess.run(
        [str(python), "-c", script, endpoint],
        env={"PATH": "/usr/bin:/bin", **ENV},
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip()


def edit(clone: Path, n: int) -> None:
    path = clone / HANDLER
    path.write_text(path.read_text() + f"\n# bench edit {n} {time.time()}\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edits", type=int, default=3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="sync-bench-"))
    clone = work / "clone"
    run(["git", "clone", "-q", str(REPO), str(clone)], cwd=work)
    venv = work / "venv"
    run([sys.executable, "-m", "venv", str(venv)], cwd=work)
    run([str(venv / "bin/pip"), "install", "-q", "moto[server]==5.2.5", "boto3==1.44.5"], cwd=work)
    python = venv / "bin/python"
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [str(python), "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    pants_env = {**os.environ, **ENV}
    sync = [
        "./pants",
        "lambda-sync",
        f"--name-prefix={PREFIX}",
        f"--endpoint-url={endpoint}",
        "--lambda-sync-allowed-accounts=['123456789012']",
        "infrastructure::",
    ]
    one_shot, looped = [], []
    loop = None
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=2).close()
                break
            except OSError:
                time.sleep(0.3)
        run(["./pants", "package", "infrastructure::"], cwd=clone, env=pants_env)
        run(
            [str(python), str(REPO / "tests/python/e2e/deploy.py"), "deploy", endpoint,
             str(clone), PREFIX],
            cwd=clone,
            env={"PATH": "/usr/bin:/bin", **ENV},
        )
        run(sync, cwd=clone, env=pants_env, capture_output=True)  # warms pantsd
        for n in range(args.edits):
            before = deployed_hash(python, endpoint)
            edit(clone, n)
            start = time.monotonic()
            run(sync, cwd=clone, env=pants_env, capture_output=True)
            one_shot.append(time.monotonic() - start)
            assert deployed_hash(python, endpoint) != before, "the sync did not update it"

        loop = subprocess.Popen(
            ["./pants", "--loop", *sync[1:]],
            cwd=clone,
            env=pants_env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        time.sleep(20)  # its first iteration
        for n in range(args.edits):
            before = deployed_hash(python, endpoint)
            edit(clone, 100 + n)
            start = time.monotonic()
            while deployed_hash(python, endpoint) == before:
                if time.monotonic() - start > 300:
                    raise SystemExit("the loop did not sync the edit within 300 s")
                time.sleep(0.2)
            looped.append(time.monotonic() - start)
            time.sleep(5)  # let the iteration finish before the next edit
    finally:
        for process in (loop, server):
            if process is not None:
                os.killpg(process.pid, signal.SIGTERM)
        for pid_file in clone.glob(".pants.d/**/pantsd/pid"):
            with contextlib.suppress(ValueError, OSError):
                os.kill(int(pid_file.read_text().strip()), signal.SIGTERM)
        shutil.rmtree(work, ignore_errors=True)

    def cell(times: list[float]) -> str:
        return f"{statistics.median(times):.1f} s (min {min(times):.1f}, max {max(times):.1f})"

    print("| edit of one handler, then | edit-to-updated, median of %d |" % args.edits)
    print("|---|---|")
    print(f"| `./pants lambda-sync infrastructure::` (warm pantsd) | {cell(one_shot)} |")
    print(f"| `./pants --loop lambda-sync infrastructure::` running | {cell(looped)} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
