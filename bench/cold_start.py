#!/usr/bin/env python3
"""Cold-start init time of Lambda ZIPs: ours with bytecode, ours without, the built-in, the limit.

Lambda mounts /var/task and /opt read-only, so CPython cannot write the bytecode of what it
imports there: a ZIP without bytecode compiles every module at every cold start. This script
packages three representative python3.12 functions in a copy of this repository, each four ways:

- **ours**: `lambda_function` + `lambda_layer` with bytecode (the default);
- **ours, no bytecode**: the same targets with `compile_bytecode=False`;
- **built-in**: Pants' `python_awslambda` (`[lambdex].layout = "zip"`), everything in one ZIP;
- **limit**: the no-bytecode files after one import with a writable folder, i.e. with the warm
  `__pycache__` CPython writes itself: nothing left to compile.

Each variant is unpacked as Lambda lays it out (`task/`, `opt/`), bind-mounted read-only in a
private mount namespace (root and `unshare` needed), and its handler module imported in fresh
`python3.12 -I -S` interpreters, `--runs` times, interleaved across variants. The init time is
the import of the handler module (Lambda's init phase) with `sys.path` as Lambda sets it; the
interpreter's own start-up, the same for all, is not counted. Writes a table to
`bench/results.md` (between markers, beside `bench/run.py`'s report) and prints it.

    python3 bench/cold_start.py [--runs 11]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
import zipfile
from pathlib import Path

from generate import copy_plugin

REPO = Path(__file__).resolve().parent.parent
RUNTIME = "python3.12"
BEGIN, END = "<!-- cold-start:begin -->", "<!-- cold-start:end -->"

FUNCTIONS = {
    "boto3_client": (
        "boto3 client created at import, boto3 from a layer",
        "import boto3\n\nCLIENT = boto3.client('s3', region_name='us-east-1')\n\n\n"
        "def handler(event, context):\n    return CLIENT.meta.region_name\n",
    ),
    "pydantic_models": (
        "pydantic models, pydantic from a layer",
        "from pydantic import BaseModel\n\n\nclass Address(BaseModel):\n    street: str\n"
        "    city: str\n\n\nclass Customer(BaseModel):\n    id: str\n    name: str\n"
        "    addresses: list[Address] = []\n\n\n"
        "DEFAULT = Customer(id='c0', name='none')\n\n\n"
        "def handler(event, context):\n    return Customer(**event).model_dump()\n",
    ),
    "tiny": (
        "a tiny handler",
        "import json\n\n\ndef handler(event, context):\n    return json.dumps(event)\n",
    ),
}
VARIANTS = ("ours", "ours, no bytecode", "built-in", "limit (warm __pycache__)")


class BenchError(Exception):
    pass


PANTS_TOML = """\
[GLOBAL]
pants_version = "{pants_version}"
pythonpath = ["%(buildroot)s/pants-plugins"]
backend_packages = ["pants.backend.python", "pants.backend.awslambda.python", "pants_lambda"]

[source]
root_patterns = ["/src/python"]

[python]
interpreter_constraints = ["CPython>=3.10,<3.15"]
# Both sides resolve from PyPI, each version pinned to this repository's lambda.lock. (Pants'
# built-in cannot build from that lockfile for python3.12: pex 2.1.137 checks its wheels'
# Requires-Python against Pants' own CPython 3.9, pex#2395.)
requirement_constraints = "constraints.txt"

[python-bootstrap]
search_path = ["<PYENV>", "<PATH>"]

[python-infer]
use_rust_parser = true

[subprocess-environment]
env_vars.add = ["PIP_CONFIG_FILE=/dev/null"]

[lambdex]
layout = "zip"
"""


def locked_versions() -> list[str]:
    lines = (REPO / "3rdparty/python/lambda.lock").read_text().splitlines()
    lock = json.loads("\n".join(line for line in lines if not line.startswith("//")))
    return sorted(
        f"{req['project_name']}=={req['version']}"
        for resolve in lock["locked_resolves"]
        for req in resolve["locked_requirements"]
    )


def write_repo(root: Path) -> None:
    """A new repository: the launcher, the plugin, boto3 and pydantic, the three functions."""
    if root.exists():
        shutil.rmtree(root)
    copy_plugin(root)
    shutil.copy2(REPO / "pants", root / "pants")
    version = re.search(r'pants_version = "([^"]+)"', (REPO / "pants.toml").read_text())
    assert version, "pants.toml pins pants_version"
    files = {
        "pants.toml": PANTS_TOML.format(pants_version=version.group(1)),
        "constraints.txt": "".join(f"{pin}\n" for pin in locked_versions()),
        "BUILD": 'python_requirements(name="reqs")\n',
        "requirements.txt": "boto3\npydantic\n",
        "layers/BUILD": 'lambda_layer(name="deps", runtime="python3.12", dependencies=["//:reqs"])\n'
        'lambda_layer(name="deps-nobc", runtime="python3.12", dependencies=["//:reqs"], '
        "compile_bytecode=False)\n",
    }
    build = ['python_sources(name="src")']
    for name, (_, source) in FUNCTIONS.items():
        files[f"src/python/coldstart/{name}.py"] = source
        build += [
            f'lambda_function(name="{name}", handler="{name}.py:handler", runtime="{RUNTIME}", '
            'layers=["layers:deps"])',
            f'lambda_function(name="{name}-nobc", handler="{name}.py:handler", '
            f'runtime="{RUNTIME}", layers=["layers:deps-nobc"], compile_bytecode=False)',
            f'python_awslambda(name="{name}-builtin", handler="{name}.py:handler", '
            f'runtime="{RUNTIME}")',
        ]
    files["src/python/coldstart/BUILD"] = "\n".join(build) + "\n"
    for relpath, text in files.items():
        (root / relpath).parent.mkdir(parents=True, exist_ok=True)
        (root / relpath).write_text(text)


def package(root: Path) -> None:
    cmd = ["./pants", "--no-dynamic-ui", "package", "::"]
    result = subprocess.run(cmd, cwd=root, capture_output=True, text=True)
    if result.returncode != 0:
        raise BenchError(f"{' '.join(cmd)} failed:\n{result.stdout}\n{result.stderr}")


def unpack(into: Path, function_zip: Path, layer_zip: Path | None) -> None:
    zipfile.ZipFile(function_zip).extractall(into / "task")
    (into / "opt").mkdir(parents=True)
    if layer_zip:
        zipfile.ZipFile(layer_zip).extractall(into / "opt")


def interpreter() -> str:
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    found = sorted(pyenv.glob(f"versions/3.12.*/bin/{RUNTIME}")) or [shutil.which(RUNTIME)]
    if not found[0]:
        raise BenchError(f"no CPython {RUNTIME} found (pyenv or PATH)")
    return str(found[0])


IMPORT = """
import importlib, sys, time
root, module = sys.argv[1], sys.argv[2]
start = time.perf_counter()
sys.path[:0] = [root + "/task", root + "/opt/python/lib/python3.12/site-packages", root + "/opt/python"]
importlib.import_module(module)
print((time.perf_counter() - start) * 1000)
"""


def init_ms(python: str, root: Path, module: str, read_only: bool = True) -> float:
    """One cold import in a fresh interpreter; `root` read-only, as /var/task and /opt are."""
    run = [python, "-I", "-S", "-c", IMPORT, str(root), module]
    if read_only:
        mount = f'mount --bind {root} {root} && mount -o remount,bind,ro {root} && exec "$@"'
        run = ["unshare", "--mount", "--propagation", "private", "sh", "-c", mount, "sh", *run]
    result = subprocess.run(run, capture_output=True, text=True)
    if result.returncode != 0:
        raise BenchError(f"importing {module} from {root} failed:\n{result.stderr}")
    return float(result.stdout)


def layouts(root: Path, work: Path, python: str) -> dict[tuple[str, str], Path]:
    dist = root / "dist"
    folders = {}
    for name in FUNCTIONS:
        plan = {
            "ours": (dist / f"src.python.coldstart/{name}.zip", dist / "layers/deps.zip"),
            "ours, no bytecode": (
                dist / f"src.python.coldstart/{name}-nobc.zip",
                dist / "layers/deps-nobc.zip",
            ),
            "built-in": (dist / f"src.python.coldstart/{name}-builtin.zip", None),
        }
        plan["limit (warm __pycache__)"] = plan["ours, no bytecode"]
        for variant, (function_zip, layer_zip) in plan.items():
            folder = work / f"{name}-{VARIANTS.index(variant)}"
            unpack(folder, function_zip, layer_zip)
            folders[(name, variant)] = folder
        # CPython writes its own timestamp-based bytecode where it can: the limit.
        init_ms(python, folders[(name, VARIANTS[3])], f"coldstart.{name}", read_only=False)
    return folders


def zip_bytes(root: Path, name: str) -> dict[str, int]:
    dist = root / "dist"
    return {
        "ours": (dist / f"src.python.coldstart/{name}.zip").stat().st_size
        + (dist / "layers/deps.zip").stat().st_size,
        "ours, no bytecode": (dist / f"src.python.coldstart/{name}-nobc.zip").stat().st_size
        + (dist / "layers/deps-nobc.zip").stat().st_size,
        "built-in": (dist / f"src.python.coldstart/{name}-builtin.zip").stat().st_size,
    }


def report(medians: dict, sizes: dict, runs: int, python: str, version: str) -> str:
    lines = [
        BEGIN,
        "## Cold starts: init time with and without bytecode",
        "",
        f"- Date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; CPython {version} "
        f"(`{python}`); median of {runs} fresh `-I -S` interpreters per cell, interleaved, each "
        "importing the handler module from a read-only bind mount of the unpacked ZIPs "
        "(function in `task/`, layer in `opt/`).",
        "- Command: `python3 bench/cold_start.py`",
        "",
        "| function | ours | ours, no bytecode | built-in `python_awslambda` | limit (warm `__pycache__`) "
        "| ours ÷ limit | built-in ÷ ours | bytes: ours (function + layer) / no bytecode / built-in |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for name, (title, _) in FUNCTIONS.items():
        m = medians[name]
        ours, nobc, builtin, limit = (m[v] for v in VARIANTS)
        s = sizes[name]
        lines.append(
            f"| `{name}`: {title} | {ours:.1f} ms | {nobc:.1f} ms | {builtin:.1f} ms "
            f"| {limit:.1f} ms | {ours / limit:.2f}× | {builtin / ours:.2f}× "
            f"| {s['ours']:,} / {s['ours, no bytecode']:,} / {s['built-in']:,} |"
        )
    lines += ["", END, ""]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=11)
    parser.add_argument("--out", type=Path, default=REPO / "bench/out/cold-start")
    parser.add_argument("--results", type=Path, default=REPO / "bench/results.md")
    args = parser.parse_args(argv)
    if os.geteuid() != 0 or not shutil.which("unshare"):
        raise BenchError("needs root and `unshare` for the read-only bind mounts")
    python = interpreter()
    version = subprocess.run(
        [python, "-c", "import platform; print(platform.python_version())"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    root, work = args.out / "repo", args.out / "unpacked"
    write_repo(root)
    print("packaging the functions (first run: several minutes)", file=sys.stderr)
    package(root)
    if work.exists():
        shutil.rmtree(work)
    folders = layouts(root, work, python)
    samples: dict = {name: {v: [] for v in VARIANTS} for name in FUNCTIONS}
    for _ in range(args.runs):
        for (name, variant), folder in folders.items():
            samples[name][variant].append(init_ms(python, folder, f"coldstart.{name}"))
    medians = {
        name: {v: statistics.median(values) for v, values in per.items()}
        for name, per in samples.items()
    }
    (args.out / "samples.json").write_text(json.dumps(samples, indent=1))
    table = report(medians, {n: zip_bytes(root, n) for n in FUNCTIONS}, args.runs, python, version)
    previous = args.results.read_text() if args.results.exists() else ""
    if BEGIN in previous and END in previous:
        head, rest = previous.split(BEGIN, 1)
        updated = head + table.rstrip("\n") + rest.split(END, 1)[1]
    else:
        updated = previous.rstrip("\n") + "\n\n" + table
    args.results.write_text(updated)
    print(table)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except BenchError as e:
        print(f"bench/cold_start.py: {e}", file=sys.stderr)
        sys.exit(1)
