"""Copies of this repository, and the real `./pants` launcher run on them."""

from __future__ import annotations

import contextlib
import dataclasses
import glob
import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator


def source_repo() -> Path:
    repo = os.environ.get("PANTS_LAMBDA_REPO")
    if not repo or not (Path(repo) / "pants.toml").is_file():
        raise RuntimeError(
            "PANTS_LAMBDA_REPO must name this repository's root; pants.toml sets it through "
            "[test].extra_env_vars. Run these tests with `./pants test ::`."
        )
    return Path(repo)


def copy_repo(dest: Path) -> Path:
    """Copies the files git knows (tracked, or new and not ignored), as a fresh clone would hold."""
    repo = source_repo()
    listed = (
        subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=repo,
            check=True,
            capture_output=True,
        )
        .stdout.decode()
        .split("\0")
    )
    for relpath in filter(None, listed):
        source = repo / relpath
        if not source.is_file():
            continue  # Deleted in the work tree but not yet in git.
        target = dest / relpath
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
    return dest


def write_files(root: Path, files: dict[str, str]) -> None:
    """Writes each `relpath -> text` of `files` under `root`, making folders as needed."""
    for relpath, content in files.items():
        (root / relpath).parent.mkdir(parents=True, exist_ok=True)
        (root / relpath).write_text(content)


@dataclass(frozen=True)
class Clone:
    root: Path
    caches: Path
    # Run through a pantsd of the clone's own (see `served_by_pantsd`), else each run starts Pants.
    daemon: bool = False
    # Pants' per-run state; the clone's own even where the caches are shared.
    workdir: Path | None = None

    def command(self, *args: str) -> list[str]:
        """`./pants` with the clone's own caches and no ~/.pants.rc: only the repository's
        pants.toml and `args` count."""
        return [
            "./pants",
            "--no-dynamic-ui",
            "--no-pantsrc",
            f"--local-store-dir={self.caches}/lmdb_store",
            f"--named-caches-dir={self.caches}/named_caches",
            f"--pants-workdir={self.workdir or self.caches / 'workdir'}",
            *args,
        ]

    @staticmethod
    def env(extra_env: dict[str, str] | None = None) -> dict[str, str]:
        """What the launcher gets from the test's environment, plus `extra_env`."""
        env = {
            key: os.environ[key]
            for key in ("HOME", "PATH", "PYENV_ROOT", "PANTS_CA_CERTS_PATH")
            if key in os.environ
        }
        # The launcher's cache stays the test run's even where `extra_env` gives another HOME:
        # else it would install Pants again under that HOME, at another path, which is part of
        # the keys of the processes Pants runs on its own interpreter.
        env["XDG_CACHE_HOME"] = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
        env.update(extra_env or {})
        return env

    def pants(
        self,
        *args: str,
        umask: int = 0o022,
        extra_env: dict[str, str] | None = None,
        check: bool = True,
        wrapper: tuple[str, ...] = (),
        stdin: str | None = None,
    ) -> subprocess.CompletedProcess:
        """Runs `./pants` in the clone with its own Pants caches (no shared store), through the
        clone's pantsd if it has one, else as a fresh Pants process, as CI runs it.

        `wrapper` is a command prefix that execs its arguments, e.g. to run in another namespace.
        """
        cmd = [*wrapper, *self.command("--pantsd" if self.daemon else "--no-pantsd", *args)]
        result = subprocess.run(
            cmd,
            cwd=self.root,
            env=self.env(extra_env),
            capture_output=True,
            text=True,
            input=stdin,
            stdin=None if stdin is not None else subprocess.DEVNULL,
            preexec_fn=lambda: os.umask(umask),
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"{' '.join(cmd)} exited {result.returncode}\n{result.stdout}\n{result.stderr}"
            )
        return result


@contextlib.contextmanager
def served_by_pantsd(clone: Clone) -> Iterator[Clone]:
    """The clone, its Pants runs served by one pantsd of its own, as on a developer's machine:
    every run after the first skips Pants' start-up (its rule graph, tens of seconds here). For
    tests of what a run does, not of what a fresh Pants process does. pantsd stops on exit."""
    served = dataclasses.replace(clone, daemon=True)
    try:
        yield served
    finally:
        stop_pantsd(served.root)


def stop_pantsd(root: Path) -> None:
    """Stops the pantsd of the repository at `root`, if one runs (its pid file: Pants'
    `[GLOBAL].pants_subprocessdir`, `<root>/.pids` by default)."""
    for pid_file in glob.glob(f"{root}/.pids/*/pantsd/pid"):
        try:
            pid = int(Path(pid_file).read_text().strip())
            os.kill(pid, signal.SIGTERM)
        except (ValueError, ProcessLookupError, FileNotFoundError):
            continue
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and Path(f"/proc/{pid}").exists():
            time.sleep(0.1)
        if Path(f"/proc/{pid}").exists():
            os.kill(pid, signal.SIGKILL)


def lambda_outputs(root: Path) -> dict[str, bytes]:
    """The bytes of every Lambda ZIP, JSON description and manifest under `root`/dist (what
    Terraform reads; `package ::` also writes the plugin's own wheel)."""
    dist = root / "dist"
    return {
        str(path.relative_to(dist)): path.read_bytes()
        for path in sorted(dist.rglob("*"))
        if path.suffix in (".zip", ".json")
    }


def make_clone(base: Path, shared_caches: bool = False) -> Clone:
    """A copy of the repository under `base`, with empty Pants caches of its own, or with the
    caches the test run's clones share (`shared_caches`): for tests of what a build does rather
    than of what it costs from nothing, which then reuse what other tests already built."""
    if not shared_caches:
        return Clone(copy_repo(base / "repo"), base / "caches")
    return Clone(copy_repo(base / "repo"), shared_caches_dir(), workdir=base / "workdir")


def shared_caches_dir() -> Path:
    """Pants' local store and named caches for the clones of one test run (`./pants test ::`
    runs each test file in a process of its own): in `$XDG_CACHE_HOME`, which CI starts empty.
    Pants and pex are made for several processes sharing them, as on any developer machine."""
    cache_home = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
    return Path(cache_home) / "pants-lambda" / "e2e-caches"


def interpreter_for(runtime: str) -> str | None:
    """A local CPython of a Lambda runtime (e.g. `python3.12`): pyenv's, else one on PATH."""
    version = runtime[len("python") :]
    pyenv = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    for candidate in sorted(glob.glob(f"{pyenv}/versions/{version}.*/bin/python{version}")):
        return candidate
    return shutil.which(f"python{version}")


def check_golden_compilers(compilers: dict[str, str]) -> None:
    """Golden hashes of ZIPs with bytecode hold for the CPython releases that compiled it:
    `compilers` maps each runtime to the release the hashes were made with."""
    for runtime, version in compilers.items():
        python = interpreter_for(runtime)
        assert python, f"the golden hashes need a CPython of {runtime}"
        found = subprocess.run(
            [python, "-c", "import platform; print(platform.python_version())"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        assert found == version, (
            f"the golden hashes of ZIPs with bytecode were made with CPython {version}, and this "
            f"machine's {runtime} is {found}: bytecode may differ between patch releases (see "
            "README, 'Bytecode'). Check the ZIPs, then add this release's hashes."
        )


def stop_process_group(process: subprocess.Popen) -> None:
    """Stops a process started with `start_new_session=True`, and everything it started."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def git(clone: Clone, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=test", "-c", "user.email=test@example.com", *args],
        cwd=clone.root,
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def commit_all(clone: Clone, message: str) -> None:
    """Makes the copy a git repository whose `main` holds every file, as one commit."""
    git(clone, "init", "-q", "-b", "main")
    git(clone, "add", "-A")
    git(clone, "commit", "-q", "-m", message)
