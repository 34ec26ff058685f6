"""The README's "Use the plugin in your own repository", followed in a repository unlike this one.

An empty folder gets the launcher, the plugin's wheel (built by Pants into the test sandbox) in a
find-links folder and the README's `pants.toml`: `[GLOBAL].plugins`, Pants' default settings (no
resolves, no lockfile, source root `/`), regular packages with `__init__.py`, and the seeds'
two-layer architecture. The constraints-file and lockfile variants the README offers, and their
errors, are checked in copies of it.
"""

from __future__ import annotations

import json
import re
import subprocess
import zipfile
from pathlib import Path
from typing import Iterator

import pytest

from e2e import new_repo
from e2e.clones import (
    Clone,
    interpreter_for,
    served_by_pantsd,
    shared_caches_dir,
    write_files,
)

FILES = {
    "3rdparty/python/BUILD": 'python_requirements(name="reqs")\n',
    # A range with a top: what PyPI serves next changes no lockfile this test writes, and the
    # constraints file still picks 6.0.2 in it.
    "3rdparty/python/requirements.txt": "PyYAML>=6.0,<=6.0.3\n",
    "layers/deps/BUILD": 'lambda_layer(name="deps", runtime="python3.11", '
    'dependencies=["3rdparty/python:reqs"])\n',
    "layers/shared/BUILD": 'lambda_layer(name="shared", runtime="python3.11", '
    'dependencies=["shared"], include_requirements=False)\n',
    "shared/BUILD": "python_sources()\n",
    "shared/__init__.py": '"""What every function shares."""\n',
    "shared/settings.py": "import yaml\n\n\ndef render(settings):\n"
    "    return {'yaml': yaml.safe_dump(settings), 'libyaml': yaml.__with_libyaml__}\n",
    "orders/BUILD": 'python_sources(name="src")\n'
    'lambda_function(name="create", handler="handler.py:handler", runtime="python3.11",\n'
    '                layers=["layers/deps", "layers/shared"])\n',
    "orders/__init__.py": '"""Order functions."""\n',
    "orders/handler.py": "from shared.settings import render\n\n\ndef handler(event, context):\n"
    "    return render(event)\n",
    # No layers, on the newest runtime: PyYAML and its compiled extension are bundled.
    # No CPython 3.14 on these machines: it ships without bytecode.
    "reports/BUILD": 'python_sources(name="src")\n'
    'lambda_function(name="newest", handler="handler.py:handler", runtime="python3.14",\n'
    "                compile_bytecode=False)\n",
    "reports/__init__.py": "",
    "reports/handler.py": "import yaml\n\n\ndef handler(event, context):\n"
    "    return yaml.safe_load('a: 1')\n",
}


@pytest.fixture(scope="module")
def caches() -> Path:
    """The test run's shared Pants caches: the plugin's wheel is resolved once for all the new
    repositories of the end-to-end tests."""
    return shared_caches_dir()


def zip_names(path: Path) -> list[str]:
    return zipfile.ZipFile(path).namelist()


def lock_artifacts(path: Path) -> dict[str, str]:
    """Every artifact a pex lockfile locks: file name -> sha256."""
    lock = json.loads(
        "".join(l for l in path.read_text().splitlines(True) if not l.startswith("//"))
    )
    return {
        artifact["url"].rsplit("/", 1)[1]: artifact["hash"]
        for resolve in lock["locked_resolves"]
        for requirement in resolve["locked_requirements"]
        for artifact in requirement["artifacts"]
        if artifact["algorithm"] == "sha256"
    }


def dist_info(names: list[str], project: str) -> list[str]:
    """The `.dist-info` folders of a project in a layer, lower-cased (wheels differ in case)."""
    pattern = rf"python/{project.lower()}-[^/]*\.dist-info/"
    return sorted({n.split("/")[1].lower() for n in names if re.match(pattern, n.lower())})


@pytest.fixture(scope="module")
def their_repo(tmp_path_factory: pytest.TempPathFactory, caches: Path) -> Iterator[Clone]:
    """The new repository with Pants' defaults (no resolves), through a pantsd of its own; the
    constraints test adds its files to it once the defaults test has packaged `::`."""
    root = tmp_path_factory.mktemp("defaults") / "their-repo"
    with served_by_pantsd(new_repo.new_repository(root, caches, FILES)) as repo:
        yield repo


def test_pants_defaults_and_the_two_layer_architecture(tmp_path: Path, their_repo: Clone) -> None:
    repo = their_repo
    result = repo.pants("package", "::")
    assert "Handler: orders.handler.handler" in result.stderr
    assert "count twice" not in result.stderr

    dist = repo.root / "dist"
    deps = zip_names(dist / "layers.deps/deps.zip")
    assert "python/yaml/__init__.py" in deps and dist_info(deps, "PyYAML")
    assert not any(n.startswith("python/shared/") for n in deps)
    # Layer 2: the shared code, without the PyYAML it imports.
    assert zip_names(dist / "layers.shared/shared.zip") == [
        "python/shared/__init__.py",
        "python/shared/__pycache__/__init__.cpython-311.pyc",
        "python/shared/__pycache__/settings.cpython-311.pyc",
        "python/shared/settings.py",
    ]
    # The function: only its own code, and its bytecode.
    assert zip_names(dist / "orders/create.zip") == [
        "orders/__init__.py",
        "orders/__pycache__/__init__.cpython-311.pyc",
        "orders/__pycache__/handler.cpython-311.pyc",
        "orders/handler.py",
    ]
    create = json.loads((dist / "orders/create.json").read_text())
    assert create["layers"] == ["deps", "shared"] and create["runtime"] == "python3.11"
    newest = zip_names(dist / "reports/newest.zip")
    assert "reports/handler.py" in newest
    assert any(re.fullmatch(r"yaml/_yaml\.cpython-314-x86_64-linux-gnu\.so", n) for n in newest)

    # The handler under the Lambda layout: /var/task, then the layers' /opt/python.
    task, opt = tmp_path / "task", tmp_path / "opt"
    zipfile.ZipFile(dist / "orders/create.zip").extractall(task)
    for layer in ("deps", "shared"):
        zipfile.ZipFile(dist / f"layers.{layer}/{layer}.zip").extractall(opt)
    python = interpreter_for("python3.11")
    assert python, "this test runs the python3.11 function, and no CPython 3.11 was found"
    ran = subprocess.run(
        [
            python,
            "-I",
            "-S",
            "-c",
            "import json, sys; sys.path[:0] = [sys.argv[1], sys.argv[2]]; "
            "from orders.handler import handler; print(json.dumps(handler({'b': 2}, None)))",
            str(task),
            str(opt / "python"),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(ran.stdout) == {"yaml": "b: 2\n", "libyaml": True}


def test_a_constraints_file_decides_every_version(their_repo: Clone) -> None:
    repo = their_repo
    added = {
        "constraints.txt": "# What the whole repository uses.\nPyYAML==6.0.2\n",
        # A function wanting another PyYAML than the one its layer ships.
        "legacy/BUILD": 'python_requirement(name="yaml", requirements=["PyYAML==6.0.1"])\n'
        'python_sources(name="src", dependencies=[":yaml"])\n'
        'lambda_function(name="fn", handler="handler.py:handler", runtime="python3.11",\n'
        '                layers=["layers/deps"])\n',
        "legacy/handler.py": "import yaml\n\n\ndef handler(event, context):\n"
        "    return yaml.__version__\n",
    }
    write_files(repo.root, added)
    constraints = "--python-requirement-constraints=constraints.txt"
    repo.pants(constraints, "package", "layers/deps")
    deps = zip_names(repo.root / "dist/layers.deps/deps.zip")
    assert dist_info(deps, "PyYAML") == ["pyyaml-6.0.2.dist-info"]

    result = repo.pants(constraints, "package", "legacy:fn", check=False)
    assert result.returncode != 0
    assert (
        "legacy:fn needs PyYAML==6.0.1, but its layer layers/deps:deps (field `layers`) "
        "provides pyyaml==6.0.2"
    ) in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert not (repo.root / "dist/legacy").exists()

    (repo.root / "constraints.txt").write_text("PyYAML=6.0.2\n")
    result = repo.pants(constraints, "package", "layers/deps", check=False)
    assert result.returncode != 0
    assert (
        "constraints.txt (`[python].requirement_constraints`, used by the `lambda_layer` "
        "layers/deps:deps) holds a line that is not a requirement: Invalid requirement "
        "'PyYAML=6.0.2' in constraints.txt at line 1"
    ) in result.stderr, result.stderr


def test_lockfiles_missing_stale_and_generated(tmp_path: Path, caches: Path, with_pantsd) -> None:
    repo = with_pantsd(
        new_repo.new_repository(tmp_path / "their-repo", caches, FILES, with_lockfiles=True)
    )
    lockfile = "3rdparty/python/default.lock"

    # Pants itself stops first, at the requirements' dependency on their lockfile.
    missing = repo.pants("package", "layers/deps", check=False)
    assert missing.returncode != 0
    assert f"The file or directory '{lockfile}' does not exist" in missing.stderr, missing.stderr

    generated = repo.pants("generate-lockfiles")
    assert (repo.root / lockfile).is_file()
    assert (
        "Wrote lockfile for the resolve `python-default.lambda-platforms` to "
        f"{lockfile}, 3rdparty/python/default.python3.14-x86_64.lock"
    ) in generated.stderr, generated.stderr
    # pex 2.1.137's lockfile holds no cp314 wheel: the python3.14 function's PyYAML is locked, by
    # hash, in the Lambda platform lockfile written beside it.
    platform_lock = repo.root / "3rdparty/python/default.python3.14-x86_64.lock"
    locked = lock_artifacts(platform_lock)
    [(pyyaml_wheel, pyyaml_hash)] = [
        (name, digest) for name, digest in locked.items() if name.lower().startswith("pyyaml-")
    ]
    assert "-cp314-cp314-manylinux" in pyyaml_wheel and re.fullmatch("[0-9a-f]{64}", pyyaml_hash)
    assert "cp314" not in (repo.root / lockfile).read_text()
    repo.pants("package", "orders:create", "reports:newest")
    assert [n for n in zip_names(repo.root / "dist/orders/create.zip") if n.endswith(".py")] == [
        "orders/__init__.py",
        "orders/handler.py",
    ]
    newest = zip_names(repo.root / "dist/reports/newest.zip")
    assert any(re.fullmatch(r"yaml/_yaml\.cpython-314-x86_64-linux-gnu\.so", n) for n in newest)

    # A wheel whose bytes differ from the lock's hash never reaches a ZIP.
    locked_text = platform_lock.read_text()
    platform_lock.write_text(locked_text.replace(pyyaml_hash, "0" * 64))
    tampered = repo.pants("package", "reports:newest", check=False)
    assert tampered.returncode != 0
    assert "DO NOT MATCH THE HASHES" in tampered.stderr, tampered.stderr
    assert "0" * 64 in tampered.stderr and pyyaml_hash in tampered.stderr
    platform_lock.write_text(locked_text)

    # A requirement the lockfile does not hold, without generating the lockfile again.
    (repo.root / "3rdparty/python/requirements.txt").write_text("PyYAML==6.0.1\n")
    stale = repo.pants("package", "layers/deps", check=False)
    assert stale.returncode != 0
    assert (
        "The third-party requirements of the `lambda_layer` layers/deps:deps (PyYAML==6.0.1) "
        f"cannot be pinned for python3.11 x86_64 from the lockfile {lockfile}"
    ) in stale.stderr, stale.stderr
    assert "run `pants generate-lockfiles --resolve=python-default`" in stale.stderr
    stale_platform = repo.pants("package", "reports:newest", check=False)
    assert stale_platform.returncode != 0
    assert (
        "The Lambda platform lockfile 3rdparty/python/default.python3.14-x86_64.lock is stale: "
        "the `lambda_function` reports:newest needs PyYAML==6.0.1 on python3.14-x86_64"
    ) in stale_platform.stderr, stale_platform.stderr
    assert (
        "Run `pants generate-lockfiles --resolve=python-default.lambda-platforms`"
        in stale_platform.stderr
    )

    # A direct-URL requirement cannot be pinned by hash for a Lambda platform: one clear error,
    # whether the build or the lockfile generation meets it first.
    url = "https://files.pythonhosted.org/packages/example/PyYAML-6.0.2.tar.gz"
    (repo.root / "3rdparty/python/requirements.txt").write_text(f"PyYAML @ {url}\n")
    exotic = repo.pants("package", "layers/deps", check=False)
    assert exotic.returncode != 0
    assert (
        f"the `lambda_layer` layers/deps:deps needs direct-URL or VCS requirements: PyYAML@ {url}"
    ) in exotic.stderr, exotic.stderr
    assert "require it as `name==version`" in exotic.stderr
    generate = repo.pants(
        "generate-lockfiles", "--resolve=python-default.lambda-platforms", check=False
    )
    assert generate.returncode != 0
    assert (
        "Lambda targets of the resolve `python-default` build for python3.14-x86_64 and need "
        f"direct-URL or VCS requirements: PyYAML@ {url}"
    ) in generate.stderr, generate.stderr
