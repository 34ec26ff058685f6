"""A real REAPI remote cache for tests: BuildGrid 0.9.1 from PyPI, run on 127.0.0.1.

BuildGrid needs CPython 3.13, so it is installed once into its own virtualenv under
XDG_CACHE_HOME (never mocked, never skipped: a machine that cannot install it fails the test
with the reason). The install is built in a staging folder beside its final place, marked
complete by a file written last, and renamed into place, so an interrupted or racing install
never leaves a half-built one that gets reused.

    with buildgrid_server(tmp_path / "buildgrid") as server:
        clone.pants("--remote-cache-read", "--remote-cache-write",
                    f"--remote-store-address={server.address}", "--remote-instance-name=",
                    "package", "::")
        server.kill()  # Abruptly, e.g. while a build runs.

This module is imported by tests running on CPython 3.9: standard library only.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, List, Optional

BUILDGRID_VERSION = "0.9.1"

# BuildGrid 0.9.1 and everything it pulls in, pinned so that a later release of a dependency
# cannot change the server under the tests.
REQUIREMENTS = (
    f"buildgrid=={BUILDGRID_VERSION}",
    "alembic==1.20.1",
    "annotated-types==0.8.0",
    "attrs==26.1.0",
    "boto3==1.44.5",
    "botocore==1.44.5",
    "cachetools==8.0.1",
    "certifi==2026.10.18",
    "cffi==2.1.1",
    "charset-normalizer==3.5.2",
    "click==8.5.1",
    "cryptography==50.0.2",
    "dnspython==2.9.2",
    "grpcio==1.85.1",
    "grpcio-health-checking==1.85.1",
    "grpcio-reflection==1.85.1",
    "idna==3.20",
    "janus==2.0.0",
    "Jinja2==3.1.6",
    "jmespath==1.1.0",
    "jsonschema==4.26.0",
    "jsonschema-specifications==2025.9.1",
    "lark==1.3.1",
    "Mako==1.4.3",
    "MarkupSafe==3.0.4",
    "mmh3==5.3.1",
    "protobuf==7.36.2",
    "psycopg==3.3.9",
    "psycopg-binary==3.3.9",
    "pycparser==3.12",
    "pycurl==7.49.0",
    "pydantic==2.14.3",
    "pydantic_core==2.50.4",
    "PyJWT==2.15.1",
    "python-dateutil==2.9.0.post0",
    "PyYAML==6.0.3",
    "referencing==0.37.0",
    "requests==2.34.2",
    "rpds-py==2026.9.1",
    "s3transfer==0.19.3",
    "sentry-sdk==2.75.0",
    "six==1.17.0",
    "SQLAlchemy==2.1.9",
    "typing-inspection==0.4.5",
    "typing_extensions==4.16.0",
    "urllib3==2.8.0",
)

INSTALL_NAME = f"buildgrid-{BUILDGRID_VERSION}"
COMPLETE_MARKER = "install-complete.json"
START_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 15.0

# Runs BuildGrid's `bgd` command line from the virtualenv's interpreter rather than through the
# `bin/bgd` script, whose shebang names the staging folder the virtualenv was built in.
_BGD = "import sys; from buildgrid.server.app.cli import cli; sys.argv[0] = 'bgd'; sys.exit(cli())"


class BuildGridError(RuntimeError):
    pass


def _test_tools() -> Path:
    root = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
    return Path(root) / "pants-lambda" / "test-tools"


def _python313_candidates() -> List[str]:
    candidates = []
    on_path = shutil.which("python3.13")
    if on_path:
        candidates.append(on_path)
    pyenv_root = Path(os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv"))
    candidates.extend(
        str(p) for p in sorted((pyenv_root / "versions").glob("3.13*/bin/python3.13"), reverse=True)
    )
    return candidates


def find_python313() -> Path:
    """The real executable of a working CPython 3.13 (found through a pyenv shim, if need be)."""
    tried = []
    for candidate in _python313_candidates():
        try:
            probe = subprocess.run(
                [
                    candidate,
                    "-I",
                    "-c",
                    "import sys, platform; print(platform.python_implementation(), "
                    "'%d.%d' % sys.version_info[:2], sys.executable)",
                ],
                capture_output=True,
                text=True,
                timeout=60,
            )
        except (OSError, subprocess.TimeoutExpired) as e:
            tried.append(f"{candidate}: {e}")
            continue
        fields = probe.stdout.strip().split(" ", 2)
        if probe.returncode == 0 and fields[:2] == ["CPython", "3.13"] and len(fields) == 3:
            return Path(fields[2])
        output = f"{probe.stdout.strip()} {probe.stderr.strip()}".strip()
        tried.append(f"{candidate}: exit {probe.returncode} {output}")
    raise BuildGridError(
        f"BuildGrid {BUILDGRID_VERSION} needs CPython 3.13, and none was found. Tried `python3.13` "
        "on PATH and ${PYENV_ROOT:-~/.pyenv}/versions/3.13*/bin/python3.13:\n  "
        + ("\n  ".join(tried) or "(no candidate exists)")
    )


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove_stale_staging(tools: Path) -> None:
    """Removes staging folders left by installs whose process is gone (killed mid-install)."""
    for staging in tools.glob(f".{INSTALL_NAME}.*-*-*"):
        try:
            pid = int(staging.name.rsplit("-", 2)[-2])
        except ValueError:
            continue
        if not _pid_alive(pid):
            shutil.rmtree(staging, ignore_errors=True)


def _complete(install: Path) -> bool:
    try:
        marker = json.loads((install / COMPLETE_MARKER).read_text())
    except (OSError, ValueError):
        return False
    # The virtualenv's interpreter links to the base CPython 3.13: it must still be there.
    python = install / "venv/bin/python"
    return marker.get("requirements") == list(REQUIREMENTS) and python.exists()


def _run_logged(cmd: List[str], log: Path, what: str) -> None:
    with log.open("a") as out:
        out.write(f"$ {' '.join(cmd)}\n")
        out.flush()
        result = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    if result.returncode != 0:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-60:])
        raise BuildGridError(
            f"Could not install BuildGrid {BUILDGRID_VERSION} ({what} exited {result.returncode}). "
            f"It comes from PyPI and needs network access to it. Last lines of the log:\n{tail}"
        )


def install_buildgrid() -> Path:
    """Installs BuildGrid into XDG_CACHE_HOME once; returns the virtualenv's python executable.

    Raises BuildGridError, with pip's output, when it cannot.
    """
    tools = _test_tools()
    install = tools / INSTALL_NAME
    tools.mkdir(parents=True, exist_ok=True)
    _remove_stale_staging(tools)
    if _complete(install):
        return install / "venv/bin/python"
    python313 = find_python313()
    staging = tools / f".{INSTALL_NAME}.staging-{os.getpid()}-{secrets.token_hex(4)}"
    staging.mkdir()
    try:
        log = staging / "install.log"
        venv = staging / "venv"
        _run_logged([str(python313), "-I", "-m", "venv", str(venv)], log, "python3.13 -m venv")
        _run_logged(
            [
                str(venv / "bin/python"),
                "-I",
                "-m",
                "pip",
                "install",
                "--no-input",
                "--disable-pip-version-check",
                "--no-warn-script-location",
                "--no-compile",
                *REQUIREMENTS,
            ],
            log,
            "pip install",
        )
        # Bytecode compiled here names the final folder, where tracebacks will find the sources.
        site_packages = "venv/lib/python3.13/site-packages"
        _run_logged(
            [
                str(venv / "bin/python"),
                "-I",
                "-m",
                "compileall",
                "-q",
                "-j",
                "0",
                "-d",
                str(install / site_packages),
                str(staging / site_packages),
            ],
            log,
            "compileall",
        )
        _run_logged(
            [str(venv / "bin/python"), "-I", "-c", _BGD, "server", "--help"],
            log,
            "bgd server --help",
        )
        # Written last: only a folder holding this file is ever reused.
        (staging / COMPLETE_MARKER).write_text(
            json.dumps({"python": str(python313), "requirements": list(REQUIREMENTS)}, indent=2)
        )
        if install.exists() and not _complete(install):
            # Left by something other than this function (renames only ever publish complete
            # installs), or its base CPython 3.13 is gone: move it aside, then replace it.
            broken = tools / f".{INSTALL_NAME}.broken-{os.getpid()}-{secrets.token_hex(4)}"
            try:
                install.rename(broken)
            except OSError:
                pass
            shutil.rmtree(broken, ignore_errors=True)
        try:
            staging.rename(install)
        except OSError:
            # Another process published its install first; use that one.
            if not _complete(install):
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    if not _complete(install):
        raise BuildGridError(f"{install} is not a complete BuildGrid install after installing it")
    return install / "venv/bin/python"


def buildgrid_config(port: int, *, storage_size: str = "2G") -> str:
    """BuildGrid's config for a remote cache Pants can use: CAS, ByteStream, ActionCache.

    Capabilities is served by BuildGrid for every configured instance. Only the instance named ""
    exists; everything is kept in memory; no authorization, no monitoring; loopback only; enough
    gRPC threads for Pants' default RPC concurrency (128 a service).
    `grpc.so_reuseport: 0` makes a second server on the same port fail instead of sharing it.
    """
    return f"""\
server:
  - !channel
    address: "127.0.0.1:{port}"
    insecure-mode: true
grpc-server-options:
  grpc.so_reuseport: 0
authorization:
  method: none
monitoring:
  enabled: false
# BuildGrid's defaults (5 threads a core, as many concurrent RPCs as threads: 10 on 2 cores)
# make it refuse Pants' concurrent requests with "ResourceExhausted: Concurrent RPC limit
# exceeded!", which Pants counts as remote cache write errors.
thread-pool-size: 128
maximum-concurrent-rpcs: 1024
storages:
  - !lru-storage &cas
    size: {storage_size}
caches:
  - !lru-action-cache &action-cache
    storage: *cas
    max-cached-refs: 1000000
    allow-updates: true
    cache-failed-actions: true
instances:
  - name: ""
    services:
      - !cas
        storage: *cas
      - !bytestream
        storage: *cas
      - !action-cache
        cache: *action-cache
"""


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


class BuildGridServer:
    """A running BuildGrid, started by `buildgrid_server`."""

    def __init__(self, process: subprocess.Popen, port: int, workdir: Path, log_path: Path) -> None:
        self.process = process
        self.port = port
        self.workdir = workdir
        self.log_path = log_path

    @property
    def address(self) -> str:
        """The value for Pants' `--remote-store-address`."""
        return f"grpc://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        return self.process.pid

    def __str__(self) -> str:
        return self.address

    def alive(self) -> bool:
        return self.process.poll() is None

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def _signal(self, sig: int) -> None:
        # Only while the process is not reaped, so its PID cannot belong to anything else yet.
        if self.process.returncode is None:
            try:
                self.process.send_signal(sig)
            except ProcessLookupError:
                pass

    def kill(self) -> None:
        """Kills the server at once (SIGKILL), as a crash would: for tests of a cache going away."""
        self._signal(signal.SIGKILL)
        self.process.wait()

    def stop(self, timeout: float = STOP_TIMEOUT_SECONDS) -> None:
        """SIGTERM, then SIGKILL if the server has not exited within `timeout` seconds."""
        self._signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()


def _start(
    python: Path, workdir: Path, attempt: int, storage_size: str, timeout: float
) -> Optional[BuildGridServer]:
    """Starts one server; None if its port was taken meanwhile (the caller picks another)."""
    port = _free_port()
    config = workdir / f"buildgrid-{attempt}.yml"
    config.write_text(buildgrid_config(port, storage_size=storage_size))
    pid_file = workdir / f"buildgrid-{attempt}.pid"
    log_path = workdir / f"buildgrid-{attempt}.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "PEX_"))}
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                str(python),
                "-I",
                "-c",
                _BGD,
                "server",
                "start",
                "-v",
                "--pid-file",
                str(pid_file),
                str(config),
            ],
            cwd=workdir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = BuildGridServer(process, port, workdir, log_path)
    deadline = time.monotonic() + timeout
    try:
        while True:
            if process.poll() is not None:
                log_text = server.log()
                if "Failed to bind to address" in log_text:
                    return None
                raise BuildGridError(
                    f"BuildGrid exited with {process.returncode} before serving on port {port}. "
                    f"Config {config}; log {log_path}:\n{log_text}"
                )
            # BuildGrid writes its PID file once its gRPC server has started; the connection
            # check then proves the port answers (and the PID, that it is this server's port).
            try:
                ready = pid_file.read_text().strip() == str(process.pid)
            except OSError:
                ready = False
            if ready and _accepts(port):
                return server
            if time.monotonic() > deadline:
                raise BuildGridError(
                    f"BuildGrid did not answer on 127.0.0.1:{port} within {timeout:.0f} s. "
                    f"Config {config}; log {log_path}:\n{server.log()}"
                )
            time.sleep(0.1)
    except BaseException:
        server.kill()
        raise


@contextmanager
def buildgrid_server(
    workdir: Path, *, storage_size: str = "2G", start_timeout: float = START_TIMEOUT_SECONDS
) -> Iterator[BuildGridServer]:
    """Runs BuildGrid on 127.0.0.1 and a free port while the block runs; yields the server.

    `server.address` is "grpc://127.0.0.1:PORT" (instance name ""); `server.kill()` kills it
    abruptly. On exit the server is stopped (SIGTERM, then SIGKILL). Its config and log are in
    `workdir`.
    """
    python = install_buildgrid()
    workdir.mkdir(parents=True, exist_ok=True)
    server = None
    for attempt in range(5):
        server = _start(python, workdir, attempt, storage_size, start_timeout)
        if server is not None:
            break
    if server is None:
        raise BuildGridError(
            f"BuildGrid could not bind a free port on 127.0.0.1 in 5 attempts; see {workdir}"
        )
    try:
        yield server
    finally:
        server.stop()
