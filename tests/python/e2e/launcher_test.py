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


def ca_certs_path_handed_to_pants(tmp_path: Path, **env: str) -> str:
    """What the launcher exports as PANTS_CA_CERTS_PATH, as seen by a stand-in for CPython 3.9
    that prints it instead of starting Pants (and runs everything else, pip included)."""
    pyenv = Path(os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv")))
    python39 = sorted(pyenv.glob("versions/3.9*/bin/python3.9"))
    assert python39, f"this test needs pyenv's CPython 3.9 under {pyenv}"
    stand_in = tmp_path / "python3.9"
    stand_in.write_text(
        "#!/bin/sh\n"
        'if [ "$1 $2 $3" = "-s -m pants" ]; then echo "${PANTS_CA_CERTS_PATH-<unset>}"; exit; fi\n'
        f'exec {python39[-1]} "$@"\n'
    )
    stand_in.chmod(0o755)
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    result = subprocess.run(
        [str(source_repo() / "pants"), "--version"],
        cwd=source_repo(),
        env={
            **launcher_env(Path(os.environ["XDG_CACHE_HOME"])),
            "HOME": str(home),
            "PANTS_PYTHON": str(stand_in),
            **env,
        },
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_the_launcher_hands_the_machines_ca_bundle_to_pants(tmp_path: Path) -> None:
    bundle, other = tmp_path / "proxy-ca.crt", tmp_path / "other-ca.crt"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")
    other.write_text("-----BEGIN CERTIFICATE-----\n")
    assert ca_certs_path_handed_to_pants(tmp_path, SSL_CERT_FILE=str(bundle)) == str(bundle)
    assert ca_certs_path_handed_to_pants(tmp_path, PIP_CERT=str(bundle)) == str(bundle)
    # pip's `cert` setting in the user's pip.conf, which overrides the machine's files.
    user_conf = tmp_path / "home/.config/pip/pip.conf"
    user_conf.parent.mkdir(parents=True)
    user_conf.write_text(f"[global]\ncert = {other}\n")
    assert ca_certs_path_handed_to_pants(tmp_path) == str(other)
    # Set by the user: kept as it is.
    assert (
        ca_certs_path_handed_to_pants(
            tmp_path, SSL_CERT_FILE=str(bundle), PANTS_CA_CERTS_PATH="/their/ca.crt"
        )
        == "/their/ca.crt"
    )
    # No pip configuration and no SSL_CERT_FILE, or a bundle that does not exist: nothing.
    user_conf.unlink()
    assert ca_certs_path_handed_to_pants(tmp_path, PIP_CONFIG_FILE="/dev/null") == "<unset>"
    missing = str(tmp_path / "missing.crt")
    assert (
        ca_certs_path_handed_to_pants(tmp_path, SSL_CERT_FILE=missing, PIP_CONFIG_FILE="/dev/null")
        == "<unset>"
    )
