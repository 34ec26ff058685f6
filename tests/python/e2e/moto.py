"""A real AWS API for tests: moto's server from PyPI, on 127.0.0.1, with boto3 beside it.

Installed into a virtualenv of the test's own (CPython 3.11) and stopped by PID; never mocked. A
machine that cannot install it fails the test with pip's output. `deploy.py` runs in the same
virtualenv to deploy ZIPs the way the reference Terraform does.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from e2e.clones import Clone, interpreter_for, stop_process_group

# The services the tests call (Lambda, IAM, STS) and the server's Flask: `moto[server]` would add
# every other service's dependencies (cfn-lint, sympy, ...), twice the install's CPU time.
REQUIREMENTS = (
    "moto[awslambda,iam,sts]==5.2.5",
    "flask!=2.2.0,!=2.2.1",
    "flask-cors",
    "boto3==1.44.5",
)
# What boto3 needs to sign requests to moto; moto accepts any keys.
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
}


def install(venv: Path) -> Path:
    """A virtualenv with moto's server and boto3; returns its python."""
    python = interpreter_for("python3.11")
    assert python, "moto's server runs on CPython 3.11 here, and none was found"
    subprocess.run([python, "-m", "venv", str(venv)], check=True)
    # The machine's pip configuration applies to this test tool; the CA bundle Pants got too.
    env = {k: v for k, v in os.environ.items() if k != "PIP_CONFIG_FILE"}
    cert = os.environ.get("PANTS_CA_CERTS_PATH")
    pip = subprocess.run(
        [str(venv / "bin/python"), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
        + ([f"--cert={cert}"] if cert else [])
        + list(REQUIREMENTS),
        env=env,
        capture_output=True,
        text=True,
    )
    assert pip.returncode == 0, f"could not install {REQUIREMENTS} from PyPI:\n{pip.stderr}"
    return venv / "bin/python"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def moto_server(python: Path, log: Path) -> Iterator[tuple[str, subprocess.Popen]]:
    """Starts moto's server on a free loopback port; yields its endpoint URL and process."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    with log.open("w") as out:
        server = subprocess.Popen(
            [str(python), "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{url}/moto-api/", timeout=2).close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"moto's server did not start:\n{log.read_text()}")
                time.sleep(0.3)
        yield url, server
    finally:
        stop_process_group(server)


# Deployed as the reference Terraform names things: `<prefix><module>-<key>`.
PREFIX = "test-"
DEPLOY = Path(__file__).with_name("deploy.py")
# The artifacts that ship src/python/shared/text.py, once it is edited.
SHIP_TEXT = {
    "access/layer/shared": "changed",
    "billing/layer/shared": "changed",
    "access/function/audit": "changed",
    "access/function/sessions": "changed",
    "billing/function/reports": "changed",
}
LINE = re.compile(r"^(\w+)\s+(function|layer)\s+(\S+)\s+(\S+)\s+(.+?)\s*$", re.MULTILINE)


def aws_goal(
    clone: Clone,
    goal: str,
    endpoint: str,
    *options: str,
    aws_env: dict[str, str] = FAKE_CREDENTIALS,
) -> tuple[int, dict[str, str], str]:
    """The exit code, `module/kind/key -> status` and stderr of `./pants <goal>` (`lambda-drift`,
    `lambda-sync`) on the example's manifests."""
    result = clone.pants(
        goal,
        f"--name-prefix={PREFIX}",
        f"--endpoint-url={endpoint}",
        *options,
        "infrastructure::",
        check=False,
        extra_env=aws_env,
    )
    statuses = {
        f"{module}/{kind}/{key}": status
        for module, kind, key, _, status in LINE.findall(result.stdout)
    }
    return result.returncode, statuses, result.stderr


def drift(
    clone: Clone, endpoint: str, aws_env: dict[str, str] = FAKE_CREDENTIALS
) -> tuple[int, dict[str, str], str]:
    """`./pants lambda-drift`'s exit code, statuses without their details, and stderr."""
    code, statuses, stderr = aws_goal(clone, "lambda-drift", endpoint, aws_env=aws_env)
    return code, {artifact: s.split(" (")[0] for artifact, s in statuses.items()}, stderr


def drifted(statuses: dict[str, str]) -> dict[str, str]:
    return {artifact: status for artifact, status in statuses.items() if status != "in sync"}


def boto3_script(python: Path, *args: str) -> str:
    """Runs deploy.py with boto3 in the moto virtualenv; returns its stdout."""
    return subprocess.run(
        [str(python), str(DEPLOY), *args],
        check=True,
        env={"PATH": "/usr/bin:/bin", **FAKE_CREDENTIALS},
        capture_output=True,
        text=True,
    ).stdout
