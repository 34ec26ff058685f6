"""The `./pants` launcher on an empty cache: racing, interrupted, and without CPython 3.9."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

from e2e.clones import source_repo


def launcher_env(cache: Path, **extra: str) -> dict[str, str]:
    env = {key: os.environ[key] for key in ("HOME", "PATH", "PYENV_ROOT") if key in os.environ}
    return {**env, "XDG_CACHE_HOME": str(cache), **extra}


def start(cache: Path, *args: str, **extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [str(source_repo() / "pants"), "--no-pantsd", *args],
        cwd=source_repo(),
        env=launcher_env(cache, **extra),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def race(cache: Path) -> list[tuple[str, str]]:
    """Starts two launchers at once and checks that both print the Pants version."""
    first, second = start(cache, "--version"), start(cache, "--version")
    outputs = [process.communicate(timeout=900) for process in (first, second)]
    assert [process.returncode for process in (first, second)] == [0, 0], outputs
    assert [out.strip() for out, _ in outputs] == ["2.17.1", "2.17.1"]
    # Exactly one of them installed; the other waited for the lock and used that install.
    assert sum("installing Pants" in err for _, err in outputs) == 1, outputs
    return outputs


def test_racing_launchers_then_an_interrupted_install_then_a_warm_start(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    bootstrap = cache / "pants-lambda/bootstrap"
    race(cache)  # On an empty cache: no folder, no lock file yet.

    # An install killed half-way leaves a staging folder that must never be used.
    for install in bootstrap.glob("pants-*-cp39"):
        shutil.rmtree(install)
    victim = start(cache, "--version")
    deadline = time.monotonic() + 120
    while not list(bootstrap.glob("*.staging.*/site-packages")) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert list(bootstrap.glob("*.staging.*")), "the launcher never started installing"
    os.killpg(victim.pid, signal.SIGKILL)
    victim.wait()
    assert not list(bootstrap.glob("*/bootstrap.env"))

    race(cache)  # The leftovers of the killed install are cleaned up, never reused.
    assert not list(bootstrap.glob("*.staging.*"))

    again = start(cache, "--version")
    out, err = again.communicate(timeout=300)
    assert again.returncode == 0 and out.strip() == "2.17.1"
    assert "installing" not in err


def test_without_cpython_39_the_launcher_says_what_to_install(tmp_path: Path) -> None:
    env = {
        "HOME": str(tmp_path),
        "PATH": "/usr/bin:/bin",
        "PYENV_ROOT": str(tmp_path / "no-pyenv"),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
    }
    if subprocess.run(["sh", "-c", "command -v python3.9"], env=env).returncode == 0:
        raise AssertionError("this test needs a PATH without python3.9; /usr/bin has one")
    result = subprocess.run(
        [str(source_repo() / "pants"), "--version"],
        cwd=source_repo(),
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert "needs CPython 3.9, and none was found" in result.stderr
    assert "pyenv install 3.9" in result.stderr and "PANTS_PYTHON" in result.stderr
    assert not (tmp_path / "cache/pants-lambda/bootstrap").exists() or not any(
        (tmp_path / "cache/pants-lambda/bootstrap").glob("*/bootstrap.env")
    )

    wrong = subprocess.run(
        [str(source_repo() / "pants"), "--version"],
        cwd=source_repo(),
        env={**env, "PANTS_PYTHON": "/usr/bin/python3"},
        capture_output=True,
        text=True,
    )
    assert wrong.returncode != 0
    assert "PANTS_PYTHON=/usr/bin/python3 is not a working CPython 3.9 interpreter" in wrong.stderr
