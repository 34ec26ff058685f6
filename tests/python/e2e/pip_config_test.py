"""A machine's pip configuration decides nothing: same lockfile, same bytes, same cache keys.

Corporate laptops and CI runners often carry a machine-wide pip configuration. Pants' cache keys
do not cover it, so if pip read it, two machines would write different bytes under one key. The
test gives the machine a hostile one and builds a new repository (the README's recipe) twice, once
with every pip configuration file empty and once, from empty caches, with the hostile one:

- a constraint file with a constraint-only entry (which makes pip's legacy resolver fail
  `pex --lock` builds, pypa/pip#9283) and a cap below the newest `six`;
- find-links and an extra index serving `six` wheels with build tags, which pip prefers over
  PyPI's wheel of the same version, holding other bytes.

The hostile files go where pip reads them inside Pants' processes, whose environment Pants
scrubs: the machine-wide `/etc/xdg/pip/pip.conf` and `/etc/pip.conf`, replaced by bind mounts in
a private mount namespace of the launcher (nothing on the machine changes), plus the user's
`~/.config/pip/pip.conf`, `XDG_CONFIG_DIRS` and `PIP_CONFIG_FILE` in the launcher's environment.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from e2e import new_repo
from e2e.clones import shared_caches_dir, stop_pantsd
from e2e.wheels import write_wheel

FILES = {
    "BUILD": 'python_requirement(name="six", requirements=["six"])\n'
    # A PEX built with `pex --lock`, as Pants builds its own tools (pytest) from lockfiles.
    'pex_binary(name="tool", entry_point="six", dependencies=[":six"])\n',
    # python3.12: resolved hash-checked from the lockfile.
    "src/locked/BUILD": 'python_sources(name="src")\n'
    'lambda_function(name="locked", handler="handler.py:handler", runtime="python3.12")\n',
    "src/locked/handler.py": "import six\n\n\ndef handler(event, context):\n"
    "    return six.__version__\n",
    # python3.13: hash-checked from the Lambda platform lockfile that generate-lockfiles writes.
    "src/pinned/BUILD": 'python_sources(name="src")\n'
    'lambda_function(name="pinned", handler="handler.py:handler", runtime="python3.13")\n',
    "src/pinned/handler.py": "import six\n\n\ndef handler(event, context):\n"
    "    return six.__version__\n",
}

# pip's machine-wide files: the first always exists in the namespace, the second if it does here.
MACHINE_PIP_CONFS = ("/etc/xdg/pip/pip.conf", "/etc/pip.conf")


def fake_six_wheel(folder: Path, version: str, build: str) -> Path:
    """A `six` wheel with a build tag, which pip prefers to PyPI's wheel of the same version."""
    code = f"__version__ = {version!r}\nFROM_PIP_CONFIG = {build!r}\n"
    return write_wheel(folder, "six", version, {"six.py": code}, build=build)


def hostile_pip_conf(base: Path) -> str:
    find_links, index = base / "find-links", base / "index"
    for version in ("1.16.0", "1.17.0"):
        fake_six_wheel(find_links, version, "1")
        fake_six_wheel(index / "files", version, "2")
    simple = index / "simple/six"
    simple.mkdir(parents=True)
    links = "".join(
        f'<a href="../../files/{w.name}">{w.name}</a>\n'
        for w in sorted((index / "files").iterdir())
    )
    (simple / "index.html").write_text(f"<html><body>\n{links}</body></html>\n")
    constraints = base / "constraints.txt"
    constraints.write_text("six<1.17\ntorch<=2.14.1\n")
    return clean_pip_conf() + "".join(
        f"{line}\n"
        for line in (
            f"constraint = {constraints}",
            f"find-links = {find_links}",
            f"extra-index-url = file://{index}/simple",
        )
    )


def clean_pip_conf() -> str:
    """Only what a machine behind a TLS-intercepting proxy needs, if this one is behind one:
    without the fix, that `cert` is how pip got its CA bundle."""
    ca_certs = os.environ.get("PANTS_CA_CERTS_PATH")
    return f"[global]\ncert = {ca_certs}\n" if ca_certs else "[global]\n"


def machine_with(pip_conf: str, base: Path) -> tuple[tuple[str, ...], dict[str, str]]:
    """A command prefix and environment for the launcher: every pip configuration file pip could
    read holds `pip_conf`."""
    if shutil.which("unshare") is None:
        pytest.fail("this test needs `unshare` (util-linux) to give the machine a pip config")
    conf_dir = base / "etc-xdg"
    (conf_dir / "pip").mkdir(parents=True)
    (conf_dir / "pip/pip.conf").write_text(pip_conf)
    home = base / "home"
    (home / ".config/pip").mkdir(parents=True)
    (home / ".config/pip/pip.conf").write_text(pip_conf)
    mounts = [f"mount --bind {conf_dir} /etc/xdg"]
    if Path("/etc/pip.conf").is_file():
        mounts.append(f"mount --bind {conf_dir}/pip/pip.conf /etc/pip.conf")
    script = " && ".join([*mounts, 'exec "$@"'])
    wrapper = ("unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh")
    env = {
        "HOME": str(home),
        "XDG_CONFIG_DIRS": str(conf_dir),
        "PIP_CONFIG_FILE": str(conf_dir / "pip/pip.conf"),
    }
    return wrapper, env


def build(repo_root: Path, caches: Path, machine: Path, pip_conf: str) -> dict[str, bytes]:
    """generate-lockfiles and package :: in a new repository at `repo_root`, on a machine with
    this pip configuration. Every build uses the same `repo_root`: the README's find-links folder
    is under the repository, and its path is part of the keys of the processes that resolve."""
    if repo_root.exists():
        shutil.rmtree(repo_root)
    repo = new_repo.new_repository(repo_root, caches, FILES, with_lockfiles=True)
    wrapper, env = machine_with(pip_conf, machine)
    present = [MACHINE_PIP_CONFS[0], *(c for c in MACHINE_PIP_CONFS[1:] if Path(c).is_file())]
    probe = subprocess.run([*wrapper, "cat", *present], capture_output=True, text=True)
    assert probe.returncode == 0 and probe.stdout == pip_conf * len(present), (
        "could not give the machine a pip configuration in a private mount namespace (the test "
        f"needs root and `unshare --mount`): {probe.stderr}"
    )
    # Both runs served by one pantsd, started by the first inside the machine's mount namespace
    # (so every process it runs sees that pip configuration), and stopped before the next build.
    served = dataclasses.replace(repo, daemon=True)
    try:
        served.pants("generate-lockfiles", wrapper=wrapper, extra_env=env)
        served.pants("package", "::", wrapper=wrapper, extra_env=env)
    finally:
        stop_pantsd(repo.root)
    outputs = {
        lockfile: (repo.root / "3rdparty/python" / lockfile).read_bytes()
        for lockfile in ("default.lock", "default.python3.13-x86_64.lock")
    }
    for path in sorted((repo.root / "dist").rglob("*")):
        if path.is_file():
            outputs[str(path.relative_to(repo.root))] = path.read_bytes()
    return outputs


def test_a_hostile_pip_configuration_changes_nothing(tmp_path: Path) -> None:
    repo_root = tmp_path / "their-repo"
    # The clean machine's build is the reference, on the caches the test run's clones share
    # (nothing of this repository is in them: its path is in the keys). The hostile machine's
    # build starts from empty caches, so that pip resolves and installs everything there.
    clean_caches, hostile_caches = shared_caches_dir(), tmp_path / "hostile-caches"
    clean = build(repo_root, clean_caches, tmp_path / "clean", clean_pip_conf())
    hostile_conf = hostile_pip_conf(tmp_path / "pip-files")
    hostile = build(repo_root, hostile_caches, tmp_path / "hostile", hostile_conf)

    assert "dist/tool.pex" in clean
    assert {"dist/src.locked/locked.zip", "dist/src.pinned/pinned.zip"} <= set(clean)
    for path in clean:
        if path.endswith(".zip"):
            six_py = zipfile.ZipFile(repo_root / path).read("six.py")
            assert b"FROM_PIP_CONFIG" not in six_py, f"{path} holds a wheel pip.conf pointed at"
    assert set(hostile) == set(clean)
    differ = sorted(path for path in clean if clean[path] != hostile[path])
    assert not differ, f"these differ with the hostile pip configuration: {differ}"

    # Same cache keys: the hostile machine's build, on the clean build's caches, runs no process
    # that Pants caches (only its per-restart probes: plugin locations, interpreters, bash).
    wrapper, env = machine_with(hostile_conf, tmp_path / "hostile-again")
    again = new_repo.repository(repo_root, clean_caches).pants(
        "-ldebug", "package", "::", wrapper=wrapper, extra_env=env
    )
    spawned = re.findall(
        r'spawned local process .*?description: "([^"]*)".*?cache_scope: (\w+)', again.stderr
    )
    assert spawned, "no process was logged: did Pants' debug log format change?"
    cacheable = [(what, scope) for what, scope in spawned if not scope.startswith("PerRestart")]
    assert not cacheable, f"processes that missed the clean build's cache: {cacheable}"
