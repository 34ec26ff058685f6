#!/usr/bin/env python3
"""Benchmarks `lambda_function`/`lambda_layer` (pants_lambda) against Pants' `python_awslambda`.

Generates the same synthetic monorepo twice under bench/out/ (one per side), runs the real
`./pants package ::` on each with its own empty caches, and writes a markdown table of the results
to bench/results.md. Standard library only; run from the repository root:

    python3 bench/run.py            # see --help and bench/README.md
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import hashlib
import json
import os
import platform
import re
import resource
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

REPO = Path(__file__).resolve().parent.parent
BENCH = REPO / "bench"
SIDES = ("ours", "builtin")
SIDE_TITLES = {"ours": "ours (`lambda_function`)", "builtin": "built-in (`python_awslambda`)"}
RUNTIME = "python3.12"
EDITED_FILE = "src/python/shared/lib0.py"
# Import name -> requirement name in 3rdparty/python/lambda-requirements.txt.
THIRD_PARTY = {"requests": "requests", "pydantic": "pydantic", "yaml": "PyYAML"}
PANTSD_STOP_TIMEOUT_SECONDS = 20.0
# Check that cached outputs exist remotely, but download only those the build reads.
LAZY_FETCH = ("--cache-content-behavior=validate",)

# Goals (ours / built-in unless said otherwise).
GOAL_COLD_RATIO = 0.35
GOAL_INCREMENTAL_RATIO = 0.2
GOAL_ZIP_BYTES_RATIO = 0.01
GOAL_NOOP_PANTSD_SECONDS = 3.0
GOAL_REMOTE_SPEEDUP = 4.0


class BenchError(RuntimeError):
    """A failure that ends the benchmark with a non-zero exit status."""


# --------------------------------------------------------------------------------------------
# The shape of the synthetic monorepo
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Shape:
    modules: int
    functions_per_module: int
    libs: int

    @property
    def functions(self) -> int:
        return self.modules * self.functions_per_module


@dataclass(frozen=True)
class FunctionSpec:
    index: int
    module: int
    name: str
    libs: Tuple[int, ...]
    third_party: Optional[str]  # an import name from THIRD_PARTY, or None

    @property
    def folder(self) -> str:
        return f"src/python/mod{self.module}/{self.name}"


def shared_libs_for(index: int, libs: int) -> Tuple[int, ...]:
    """2 or 3 shared libs; lib0 for every fifth function, the others spread over lib1..libN-1."""
    count = 2 + index % 2
    chosen = [0] if index % 5 == 0 else []
    others = libs - 1
    start = (index * 7) % others
    offset = 0
    while len(chosen) < count:
        chosen.append(1 + (start + offset) % others)
        offset += 1
    return tuple(sorted(chosen))


def third_party_for(index: int) -> Optional[str]:
    """Three functions in four import one third-party project directly."""
    return (None, "requests", "pydantic", "yaml")[index % 4]


def plan_functions(shape: Shape) -> List[FunctionSpec]:
    width = len(str(shape.functions - 1))
    return [
        FunctionSpec(
            index=i,
            module=i // shape.functions_per_module,
            name=f"fn{i:0{width}d}",
            libs=shared_libs_for(i, shape.libs),
            third_party=third_party_for(i),
        )
        for i in range(shape.functions)
    ]


# --------------------------------------------------------------------------------------------
# Generating a repository
# --------------------------------------------------------------------------------------------


def pants_version_pinned() -> str:
    text = (REPO / "pants.toml").read_text()
    match = re.search(r'^\s*pants_version\s*=\s*"([^"]+)"', text, re.MULTILINE)
    if not match:
        raise BenchError(f"{REPO / 'pants.toml'} does not pin pants_version")
    return match.group(1)


def render_pants_toml(side: str) -> str:
    if side == "ours":
        globals_ = (
            'pythonpath = ["%(buildroot)s/pants-plugins"]\n'
            'backend_packages = ["pants.backend.python", "pants_lambda"]\n'
        )
        backend_section = '[lambda]\nruntime = "python3.12"\narchitecture = "x86_64"\n'
    else:
        globals_ = 'backend_packages = ["pants.backend.python", "pants.backend.awslambda.python"]\n'
        backend_section = '[lambdex]\n# The plain-zip layout, not the deprecated lambdex one.\nlayout = "zip"\n'
    return f"""\
[GLOBAL]
pants_version = "{pants_version_pinned()}"
{globals_}
[source]
root_patterns = ["/src/python"]

[python]
enable_resolves = true
default_resolve = "lambda"
interpreter_constraints = ["CPython>=3.10,<3.15"]
interpreter_versions_universe = ["3.9", "3.10", "3.11", "3.12", "3.13", "3.14"]

[python.resolves]
lambda = "3rdparty/python/lambda.lock"

[python-bootstrap]
search_path = ["<PYENV>", "<PATH>"]

[python-infer]
init_files = "content_only"
use_rust_parser = true

[subprocess-environment]
# Both sides: pip reads no machine pip.conf (a constraint there breaks `pex --lock` builds).
env_vars.add = ["PIP_CONFIG_FILE=/dev/null"]

{backend_section}"""


def render_requirements_build() -> str:
    return (
        "python_requirements(\n"
        '    name="reqs",\n'
        '    source="lambda-requirements.txt",\n'
        '    resolve="lambda",\n'
        ")\n"
    )


def render_layer_build() -> str:
    deps = ", ".join(f'"3rdparty/python:reqs#{req}"' for req in THIRD_PARTY.values())
    return (
        "# Every third-party requirement of the functions, shared as one layer.\n"
        "lambda_layer(\n"
        '    name="deps",\n'
        f'    runtime="{RUNTIME}",\n'
        '    architecture="x86_64",\n'
        f"    dependencies=[{deps}],\n"
        ")\n"
    )


def render_lib(number: int) -> str:
    return f'''\
"""Shared helpers, group {number} (generated by bench/run.py)."""

import hashlib

NAME = "lib{number}"


def normalize(value) -> str:
    return " ".join(str(value).split()).lower()


def fingerprint(payload: dict) -> str:
    text = ",".join(f"{{key}}={{normalize(payload[key])}}" for key in sorted(payload))
    return hashlib.sha256(f"{{NAME}}:{{text}}".encode()).hexdigest()[:12]


def describe(event: dict) -> dict:
    return {{"lib": NAME, "keys": sorted(event), "fingerprint": fingerprint(event)}}
'''


def render_handler(fn: FunctionSpec) -> str:
    imports: List[str] = []
    extra: List[str] = []
    if fn.third_party == "requests":
        imports.append("import requests")
        extra.append('        "client": f"requests/{requests.__version__}",')
    elif fn.third_party == "pydantic":
        imports.append("from pydantic import BaseModel")
        extra.append('        "event": Event.model_validate({"id": str(event.get("id", "none"))}).model_dump(),')
    elif fn.third_party == "yaml":
        imports.append("import yaml")
        extra.append('        "yaml": yaml.safe_dump(event, sort_keys=True),')
    imports.append("from shared import " + ", ".join(f"lib{n}" for n in fn.libs))
    model = '\n\nclass Event(BaseModel):\n    id: str = "none"\n' if fn.third_party == "pydantic" else ""
    shared = ", ".join(f"lib{n}.describe(event)" for n in fn.libs)
    extra_lines = "\n".join(extra) + "\n" if extra else ""
    return f'''\
"""Handler of mod{fn.module}/{fn.name} (generated by bench/run.py)."""

{chr(10).join(imports)}
{model}

def handler(event, context):
    body = {{
        "function": "mod{fn.module}.{fn.name}",
        "shared": [{shared}],
{extra_lines}    }}
    return {{"statusCode": 200, "body": body}}
'''


def render_function_build(side: str, fn: FunctionSpec) -> str:
    if side == "ours":
        target = (
            "lambda_function(\n"
            f'    name="{fn.name}",\n'
            '    handler="handler.py:handler",\n'
            f'    runtime="{RUNTIME}",\n'
            '    layers=["layers/deps"],\n'
            ")\n"
        )
    else:
        target = (
            "python_awslambda(\n"
            f'    name="{fn.name}",\n'
            '    handler="handler.py:handler",\n'
            f'    runtime="{RUNTIME}",\n'
            ")\n"
        )
    return 'python_sources(name="src")\n\n' + target


def write_file(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def copy_launcher_and_lockfile(dest: Path) -> None:
    shutil.copy2(REPO / "pants", dest / "pants")
    for name in ("lambda.lock", "lambda-requirements.txt"):
        target = dest / "3rdparty/python" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / "3rdparty/python" / name, target)


def copy_plugin(dest: Path) -> None:
    """The plugin's sources without its tests, loaded through `pythonpath` as this repository
    loads them: the same code as the wheel README.md installs, without building it."""
    source = REPO / "src/python/pants_lambda"
    target = dest / "pants-plugins/pants_lambda"
    target.mkdir(parents=True, exist_ok=True)
    for path in sorted(source.glob("*.py")):
        if path.name.endswith("_test.py") or path.name == "conftest.py":
            continue
        shutil.copy2(path, target / path.name)


def write_repo(side: str, shape: Shape, dest: Path) -> None:
    """Writes the synthetic monorepo for `side` into the empty folder `dest`."""
    dest.mkdir(parents=True)
    copy_launcher_and_lockfile(dest)
    write_file(dest / "pants.toml", render_pants_toml(side))
    write_file(dest / "3rdparty/python/BUILD", render_requirements_build())
    if side == "ours":
        copy_plugin(dest)
        write_file(dest / "layers/deps/BUILD", render_layer_build())
    write_file(dest / "src/python/shared/BUILD", "python_sources()\n")
    for number in range(shape.libs):
        write_file(dest / f"src/python/shared/lib{number}.py", render_lib(number))
    for fn in plan_functions(shape):
        write_file(dest / fn.folder / "handler.py", render_handler(fn))
        write_file(dest / fn.folder / "BUILD", render_function_build(side, fn))


# --------------------------------------------------------------------------------------------
# Running Pants
# --------------------------------------------------------------------------------------------


@dataclass
class PantsRun:
    label: str
    seconds: float
    counters: Dict[str, int]
    idle_before: Optional[float]  # the machine's idle CPU fraction just before, if measured
    own_cpu_s: float  # CPU time of `./pants` and its subprocesses (not pantsd's)
    machine_busy_cpu_s: float  # CPU time used by everything on the machine meanwhile
    steal_s: float  # CPU time the hypervisor gave to other guests meanwhile


# --------------------------------------------------------------------------------------------
# The machine's CPU load (other work on the machine skews the times)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CpuTimes:
    """The whole machine's CPU time from /proc/stat, in seconds."""

    busy: float  # user, nice, system, irq, softirq
    steal: float
    total: float

    @staticmethod
    def now() -> "CpuTimes":
        ticks = os.sysconf("SC_CLK_TCK")
        user, nice, system, idle, iowait, irq, softirq, steal = (
            int(v) / ticks for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]
        )
        busy = user + nice + system + irq + softirq
        return CpuTimes(busy, steal, busy + steal + idle + iowait)


def idle_fraction(window: float) -> float:
    before = CpuTimes.now()
    time.sleep(window)
    after = CpuTimes.now()
    return 1.0 - (after.busy - before.busy + after.steal - before.steal) / max(
        0.01, after.total - before.total)


def wait_for_quiet_machine(min_idle: float, timeout: float) -> Optional[float]:
    """Waits (up to `timeout` s) until the CPUs are at least `min_idle` idle over 5 s."""
    if min_idle <= 0:
        return None
    deadline = time.monotonic() + timeout
    idle = idle_fraction(5.0)
    while idle < min_idle and time.monotonic() < deadline:
        idle = idle_fraction(5.0)
    if idle < min_idle:
        print(f"    (machine only {idle:.0%} idle after waiting {timeout:.0f} s; running anyway)",
              flush=True)
    return idle


def children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def parse_counters(stderr: str) -> Dict[str, int]:
    """The `Counters:` block `--stats-log` prints at the end of a run."""
    counters: Dict[str, int] = {}
    if "Counters:" not in stderr:
        return counters
    for line in stderr.split("Counters:", 1)[1].splitlines()[1:]:
        match = re.match(r"^\s+(\w+): (\d+)\s*$", line)
        if not match:
            break
        counters[match.group(1)] = int(match.group(2))
    return counters


def pants_env() -> Dict[str, str]:
    """This process's environment without Pants or Pex settings, which would change the runs."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("PANTS_", "PEX_"))}


@dataclass
class Workspace:
    """A generated repository with its own Pants caches, work dir and pantsd metadata."""

    root: Path
    caches: Path
    logs: Path
    quiet: Tuple[float, float] = (0.0, 0.0)  # (min idle fraction, max wait s) before timed runs
    runs: List[PantsRun] = field(default_factory=list)

    @property
    def pids_dir(self) -> Path:
        return self.caches / "pids"

    def command(self, args: Sequence[str], pantsd: bool, remote: Sequence[str]) -> List[str]:
        return [
            "./pants",
            "--pantsd" if pantsd else "--no-pantsd",
            "--no-dynamic-ui",
            "--stats-log",
            f"--local-store-dir={self.caches}/lmdb_store",
            f"--named-caches-dir={self.caches}/named_caches",
            f"--pants-workdir={self.caches}/workdir",
            f"--pants-subprocessdir={self.pids_dir}",
            *(remote or ("--no-remote-cache-read", "--no-remote-cache-write")),
            *args,
        ]

    def pants(self, label: str, *args: str, pantsd: bool = False,
              remote: Sequence[str] = ()) -> PantsRun:
        """Runs `./pants`, timed; raises BenchError with Pants' output if it fails."""
        cmd = self.command(args, pantsd, remote)
        idle_before = wait_for_quiet_machine(*self.quiet)
        own_before, machine_before = children_cpu_seconds(), CpuTimes.now()
        started = time.monotonic()
        result = subprocess.run(cmd, cwd=self.root, env=pants_env(), capture_output=True,
                                text=True, stdin=subprocess.DEVNULL)
        seconds = time.monotonic() - started
        own_cpu, machine = children_cpu_seconds() - own_before, CpuTimes.now()
        log = self.write_log(label, cmd, result, seconds)
        if result.returncode != 0:
            raise BenchError(
                f"Pants failed ({label}) with exit code {result.returncode} after {seconds:.1f} s\n"
                f"  cwd: {self.root}\n  command: {' '.join(cmd)}\n  log: {log}\n"
                f"--- stdout ---\n{result.stdout}\n--- stderr ---\n{result.stderr}"
            )
        run = PantsRun(label, seconds, parse_counters(result.stderr), idle_before, own_cpu,
                       machine.busy - machine_before.busy, machine.steal - machine_before.steal)
        self.runs.append(run)
        print(f"    {label}: {seconds:.1f} s (CPU: ./pants {own_cpu:.1f} s, machine "
              f"{run.machine_busy_cpu_s:.1f} s, steal {run.steal_s:.1f} s)", flush=True)
        return run

    def write_log(self, label: str, cmd: List[str], result: subprocess.CompletedProcess,
                  seconds: float) -> Path:
        self.logs.mkdir(parents=True, exist_ok=True)
        log = self.logs / f"{len(list(self.logs.iterdir())):02d}-{label}.log"
        log.write_text(
            f"$ (cd {self.root} && {' '.join(cmd)})\nexit code: {result.returncode}\n"
            f"seconds: {seconds:.3f}\n--- stdout ---\n{result.stdout}\n--- stderr ---\n{result.stderr}"
        )
        return log


def make_workspace(side: str, shape: Shape, base: Path,
                   quiet: Tuple[float, float] = (0.0, 0.0)) -> Workspace:
    write_repo(side, shape, base / "repo")
    return Workspace(root=base / "repo", caches=base / "caches", logs=base / "logs", quiet=quiet)


# --------------------------------------------------------------------------------------------
# pantsd
# --------------------------------------------------------------------------------------------


def process_cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
    except OSError:
        return ""


def pantsd_pids(ws: Workspace) -> List[int]:
    """The pantsd serving this workspace: from its pid file, and any other whose title names it."""
    title = f"pantsd [{ws.root}]"
    pids = set()
    for pid_file in ws.pids_dir.glob("*/pantsd/pid"):
        try:
            pids.add(int(pid_file.read_text().strip()))
        except (OSError, ValueError):
            continue
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit() and process_cmdline(int(proc.name)) == title:
            pids.add(int(proc.name))
    return sorted(pid for pid in pids if process_cmdline(pid) == title)


def wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not process_cmdline(pid):
            return True
        time.sleep(0.1)
    return not process_cmdline(pid)


def stop_pantsd(ws: Workspace) -> None:
    """SIGTERM, then SIGKILL, to the pantsd of this workspace; raises if one survives."""
    for pid in pantsd_pids(ws):
        os.kill(pid, signal.SIGTERM)
        if not wait_gone(pid, PANTSD_STOP_TIMEOUT_SECONDS):
            os.kill(pid, signal.SIGKILL)
            wait_gone(pid, 5.0)
    left = pantsd_pids(ws)
    if left:
        raise BenchError(f"pantsd for {ws.root} still running after SIGKILL: pids {left}")


# --------------------------------------------------------------------------------------------
# The ZIPs Pants wrote
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ZipFile:
    path: str  # relative to dist/
    sha256: str
    size: int
    is_layer: bool


def is_layer_zip(path: Path) -> bool:
    """pants_lambda writes `<name>.json` beside each ZIP; a layer's says `"kind": "layer"`."""
    sidecar = path.with_suffix(".json")
    if not sidecar.is_file():
        return False
    return json.loads(sidecar.read_text()).get("kind") == "layer"


def zip_inventory(ws: Workspace) -> Dict[str, ZipFile]:
    dist = ws.root / "dist"
    inventory = {}
    for path in sorted(dist.rglob("*.zip")):
        data = path.read_bytes()
        rel = str(path.relative_to(dist))
        inventory[rel] = ZipFile(rel, hashlib.sha256(data).hexdigest(), len(data), is_layer_zip(path))
    return inventory


def function_zips(inventory: Dict[str, ZipFile]) -> List[ZipFile]:
    return [z for z in inventory.values() if not z.is_layer]


def layer_zips(inventory: Dict[str, ZipFile]) -> List[ZipFile]:
    return [z for z in inventory.values() if z.is_layer]


def changed_zips(before: Dict[str, ZipFile], after: Dict[str, ZipFile]) -> List[ZipFile]:
    return [z for rel, z in sorted(after.items())
            if rel not in before or before[rel].sha256 != z.sha256]


def zip_stem(rel: str) -> str:
    return Path(rel).stem


# --------------------------------------------------------------------------------------------
# Measurements
# --------------------------------------------------------------------------------------------


@dataclass
class SideResult:
    side: str
    runs: Dict[str, PantsRun] = field(default_factory=dict)  # by label, in run order
    function_zip_count: int = 0
    function_zip_bytes: int = 0
    layer_zip_count: int = 0
    layer_zip_bytes: int = 0
    changed: List[str] = field(default_factory=list)  # ZIPs (under dist/) the edit changed
    changed_bytes: int = 0
    checks: List[str] = field(default_factory=list)

    def seconds(self, label: str) -> Optional[float]:
        run = self.runs.get(label)
        return None if run is None else run.seconds

    def counters(self, label: str) -> Dict[str, int]:
        run = self.runs.get(label)
        return {} if run is None else run.counters


def timed(result: SideResult, ws: Workspace, label: str, *, pantsd: bool = False,
          remote: Sequence[str] = ()) -> PantsRun:
    """`./pants package ::` in `ws`, recorded in `result` under `label`."""
    run = ws.pants(label, "package", "::", pantsd=pantsd, remote=remote)
    result.runs[label] = run
    return run


def record_zip_sizes(result: SideResult, inventory: Dict[str, ZipFile], shape: Shape) -> None:
    names = sorted(zip_stem(z.path) for z in function_zips(inventory))
    expected = sorted(fn.name for fn in plan_functions(shape))
    if names != expected:
        raise BenchError(
            f"{result.side}: `package ::` wrote function ZIPs {names}, expected one per function "
            f"{expected}"
        )
    result.checks.append(f"`package ::` wrote {len(names)} function ZIPs, one per function.")
    result.function_zip_count = len(names)
    result.function_zip_bytes = sum(z.size for z in function_zips(inventory))
    result.layer_zip_count = len(layer_zips(inventory))
    result.layer_zip_bytes = sum(z.size for z in layer_zips(inventory))


def append_comment(ws: Workspace, relpath: str) -> None:
    path = ws.root / relpath
    path.write_text(path.read_text() + "# edited by bench/run.py\n")


def record_changed(result: SideResult, changed: List[ZipFile], shape: Shape) -> None:
    result.changed = [z.path for z in changed]
    result.changed_bytes = sum(z.size for z in changed)
    expected = sorted(fn.name for fn in plan_functions(shape) if 0 in fn.libs)
    names = sorted(zip_stem(z.path) for z in changed)
    if names == expected:
        result.checks.append(
            f"Editing `{EDITED_FILE}` changed exactly the {len(expected)} ZIPs of its importers."
        )
    else:
        result.checks.append(
            f"WARNING: editing `{EDITED_FILE}` changed ZIPs {names}; its importers are {expected}."
        )


def measure_local(side: str, shape: Shape, base: Path, result: SideResult,
                  quiet: Tuple[float, float]) -> None:
    """Cold, no-op (without and with pantsd) and incremental builds in one workspace."""
    ws = make_workspace(side, shape, base, quiet)
    timed(result, ws, "cold")
    record_zip_sizes(result, zip_inventory(ws), shape)
    timed(result, ws, "noop")
    try:
        timed(result, ws, "pantsd_warmup", pantsd=True)
        if not pantsd_pids(ws):
            raise BenchError(f"{side}: no pantsd is running after a `--pantsd` run in {ws.root}")
        timed(result, ws, "noop_pantsd", pantsd=True)
        before = zip_inventory(ws)
        append_comment(ws, EDITED_FILE)
        time.sleep(1.0)  # Not timed: lets pantsd's file watcher see the edit.
        timed(result, ws, "incremental_pantsd", pantsd=True)
        record_changed(result, changed_zips(before, zip_inventory(ws)), shape)
    finally:
        stop_pantsd(ws)


def remote_flags(address: str, write: bool) -> List[str]:
    return [
        "--remote-cache-read",
        "--remote-cache-write" if write else "--no-remote-cache-write",
        f"--remote-store-address={address}",
        "--remote-instance-name=",
    ]


def load_buildgrid_server():
    """`buildgrid_server` from tests/python/e2e/remote_cache.py."""
    tests = str(REPO / "tests/python")
    if tests not in sys.path:
        sys.path.insert(0, tests)
    try:
        from e2e.remote_cache import buildgrid_server
    except ImportError as e:
        raise BenchError(
            f"Cannot import buildgrid_server from {REPO / 'tests/python/e2e/remote_cache.py'}: {e}. "
            "Pass --skip-remote to run without the remote cache rows."
        ) from e
    return buildgrid_server


def measure_remote(side: str, shape: Shape, base: Path, result: SideResult,
                   quiet: Tuple[float, float], storage_size: str) -> None:
    """Copy A packaged cold writing to BuildGrid; copy B, elsewhere with empty caches, reads it."""
    buildgrid_server = load_buildgrid_server()
    copy_a = make_workspace(side, shape, base / "remote-a", quiet)
    copy_b = make_workspace(side, shape, base / "remote-b", quiet)
    copy_c = make_workspace(side, shape, base / "remote-c", quiet)
    with buildgrid_server(base / "buildgrid", storage_size=storage_size) as server:
        print(f"    BuildGrid at {server.address} (pid {server.pid})", flush=True)
        try:
            timed(result, copy_a, "remote_cold", remote=remote_flags(server.address, write=True))
            timed(result, copy_b, "remote_warm", remote=remote_flags(server.address, write=False))
            timed(result, copy_c, "remote_warm_lazy",
                  remote=[*remote_flags(server.address, write=False), *LAZY_FETCH])
        finally:
            for ws in (copy_a, copy_b, copy_c):
                stop_pantsd(ws)  # None should run (--no-pantsd); this makes sure.
        if not server.alive():
            raise BenchError(f"BuildGrid exited during the benchmark; log:\n{server.log()}")
    for name, ws in (("B", copy_b), ("C", copy_c)):
        same = zip_inventory(copy_a) == zip_inventory(ws)
        result.checks.append(
            f"Fresh clone {name}'s ZIPs are byte-identical to copy A's." if same
            else f"WARNING: fresh clone {name}'s ZIPs differ from copy A's."
        )


def measure_side(side: str, shape: Shape, out: Path, remote: bool,
                 quiet: Tuple[float, float], storage_size: str) -> SideResult:
    print(f"== {side}", flush=True)
    result = SideResult(side)
    measure_local(side, shape, out / side / "local", result, quiet)
    if remote:
        measure_remote(side, shape, out / side, result, quiet, storage_size)
    return result


def pants_version_of(out: Path, shape: Shape) -> str:
    """`./pants --version` in a throwaway generated repository (its own caches)."""
    ws = make_workspace("builtin", Shape(1, 1, shape.libs), out / "version")
    result = subprocess.run(ws.command(["--version"], pantsd=False, remote=()), cwd=ws.root,
                            env=pants_env(), capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if result.returncode != 0:
        raise BenchError(f"./pants --version failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout.strip()


# --------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------


def machine_info() -> Dict[str, str]:
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem_kb = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            mem_kb = int(line.split()[1])
    os_name = platform.system()
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                os_name = line.split("=", 1)[1].strip('"')
    except OSError:
        pass
    return {
        "nproc": str(os.cpu_count()),
        "memory": f"{mem_kb / 1024 / 1024:.1f} GiB",
        "cpu": cpu,
        "os": f"{os_name} (Linux {platform.release()})",
    }


def fmt_seconds(value: Optional[float]) -> str:
    return "—" if value is None else f"{value:.1f} s"


def fmt_bytes(value: Optional[int]) -> str:
    if value is None:
        return "—"
    for unit, scale in (("MiB", 1024 ** 2), ("KiB", 1024)):
        if value >= scale:
            return f"{value:,} B ({value / scale:.1f} {unit})"
    return f"{value:,} B"


def ratio(ours: Optional[float], builtin: Optional[float]) -> Optional[float]:
    if ours is None or builtin is None or builtin == 0:
        return None
    return ours / builtin


def fmt_ratio(value: Optional[float]) -> str:
    if value is None:
        return "—"
    return f"{value:.4f}×" if value < 0.01 else f"{value:.2f}×"


def fmt_met(met: Optional[bool]) -> str:
    return "n/a" if met is None else ("yes" if met else "**NO**")


@dataclass
class Row:
    label: str
    ours: str
    builtin: str
    ratio: str
    goal: str
    met: Optional[bool]


def speedup(result: Optional[SideResult], warm_run: str) -> Optional[float]:
    """How much faster a fresh clone with a warm remote cache builds than the cold build."""
    if result is None:
        return None
    cold, warm = result.seconds("cold"), result.seconds(warm_run)
    return None if not cold or not warm else cold / warm


def speedup_row(results: Dict[str, SideResult], label: str, warm_run: str) -> Row:
    ours, builtin = speedup(results.get("ours"), warm_run), speedup(results.get("builtin"), warm_run)
    return Row(label, fmt_ratio(ours), fmt_ratio(builtin), fmt_ratio(ratio(ours, builtin)),
               f"ours ≥ {GOAL_REMOTE_SPEEDUP:.0f}×",
               None if ours is None else ours >= GOAL_REMOTE_SPEEDUP)


def time_row(results: Dict[str, SideResult], label: str, run: str, goal: str = "—",
             max_ratio: Optional[float] = None, max_ours: Optional[float] = None) -> Row:
    ours = results["ours"].seconds(run) if "ours" in results else None
    builtin = results["builtin"].seconds(run) if "builtin" in results else None
    r = ratio(ours, builtin)
    met: Optional[bool] = None
    if max_ratio is not None and r is not None:
        met = r <= max_ratio
    if max_ours is not None and ours is not None:
        met = ours < max_ours
    return Row(label, fmt_seconds(ours), fmt_seconds(builtin), fmt_ratio(r), goal, met)


def bytes_row(results: Dict[str, SideResult], label: str, attr: str, goal: str = "—",
              max_ratio: Optional[float] = None) -> Row:
    ours = getattr(results["ours"], attr) if "ours" in results else None
    builtin = getattr(results["builtin"], attr) if "builtin" in results else None
    r = ratio(ours, builtin)
    met = None if max_ratio is None or r is None else r <= max_ratio
    return Row(label, fmt_bytes(ours), fmt_bytes(builtin), fmt_ratio(r), goal, met)


def changed_text(result: Optional[SideResult]) -> str:
    if result is None or "incremental_pantsd" not in result.runs:
        return "—"
    return f"{len(result.changed)} of {result.function_zip_count + result.layer_zip_count}"


def hits_text(result: Optional[SideResult], run: str) -> str:
    counters = {} if result is None else result.counters(run)
    if not counters:
        return "—"
    return (f"{counters.get('remote_cache_requests_cached', 0)} / "
            f"{counters.get('remote_cache_requests', 0)}")


def build_rows(results: Dict[str, SideResult]) -> List[Row]:
    ours, builtin = results.get("ours"), results.get("builtin")
    return [
        time_row(results, "Cold `package ::` (empty caches, no pantsd)", "cold",
                 f"ours ≤ {GOAL_COLD_RATIO}× built-in", max_ratio=GOAL_COLD_RATIO),
        time_row(results, "No-op rebuild, no pantsd", "noop"),
        time_row(results, "No-op rebuild, pantsd (after a warm-up run)", "noop_pantsd",
                 f"ours < {GOAL_NOOP_PANTSD_SECONDS:.0f} s", max_ours=GOAL_NOOP_PANTSD_SECONDS),
        time_row(results, f"Incremental: comment appended to `{EDITED_FILE}`, pantsd",
                 "incremental_pantsd", f"ours ≤ {GOAL_INCREMENTAL_RATIO}× built-in",
                 max_ratio=GOAL_INCREMENTAL_RATIO),
        Row("ZIPs whose bytes changed after the edit", changed_text(ours), changed_text(builtin),
            "—", "—", None),
        bytes_row(results, "Bytes a deploy uploads after the edit (changed ZIPs)",
                  "changed_bytes"),
        bytes_row(results, "Function ZIPs, total bytes", "function_zip_bytes",
                  f"ours ≤ {GOAL_ZIP_BYTES_RATIO:.0%} of built-in", GOAL_ZIP_BYTES_RATIO),
        Row("Layer ZIPs, total bytes (not in the row above)",
            fmt_bytes(None if ours is None else ours.layer_zip_bytes),
            "— (no layers)" if builtin else "—", "—", "—", None),
        time_row(results, "Remote cache: copy A, cold, remote read+write, no pantsd",
                 "remote_cold"),
        time_row(results, "Remote cache: fresh clone B at another path, empty local caches, "
                 "warm remote, no pantsd", "remote_warm"),
        time_row(results, "Remote cache: fresh clone C, as B plus "
                 "`--cache-content-behavior=validate`", "remote_warm_lazy"),
        speedup_row(results, "Remote-warm speed-up: cold time ÷ clone B time", "remote_warm"),
        speedup_row(results, "Remote-warm speed-up: cold time ÷ clone C time (validate, no eager fetch)",
                    "remote_warm_lazy"),
        Row("Remote cache hits in clone B (cached / requests)", hits_text(ours, "remote_warm"),
            hits_text(builtin, "remote_warm"), "—", "—", None),
        Row("Remote cache hits in clone C (cached / requests)",
            hits_text(ours, "remote_warm_lazy"), hits_text(builtin, "remote_warm_lazy"), "—",
            "—", None),
    ]


def render_table(rows: List[Row]) -> str:
    lines = [
        f"| measurement | {SIDE_TITLES['ours']} | {SIDE_TITLES['builtin']} "
        "| ratio (ours / built-in) | goal | met |",
        "|---|---:|---:|---:|---|---|",
    ]
    for row in rows:
        lines.append(f"| {row.label} | {row.ours} | {row.builtin} | {row.ratio} | {row.goal} "
                     f"| {fmt_met(row.met)} |")
    return "\n".join(lines)


def render_runs(results: Dict[str, SideResult]) -> str:
    """Every Pants run with its CPU time and the machine's, to show contention from other work."""
    lines = [
        "| side | run | wall | CPU of `./pants` + its processes | CPU used on the whole machine "
        "| CPU stolen by the hypervisor | idle before |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for side, result in results.items():
        for label, run in result.runs.items():
            idle = "—" if run.idle_before is None else f"{run.idle_before:.0%}"
            lines.append(f"| {side} | {label} | {run.seconds:.1f} s | {run.own_cpu_s:.1f} s "
                         f"| {run.machine_busy_cpu_s:.1f} s | {run.steal_s:.1f} s | {idle} |")
    return "\n".join(lines)


def describe_shape(shape: Shape) -> str:
    fns = plan_functions(shape)
    lib0 = sum(1 for fn in fns if 0 in fn.libs)
    third = ", ".join(f"{name} {sum(1 for fn in fns if fn.third_party == name)}"
                      for name in THIRD_PARTY)
    return (
        f"{shape.modules} modules × {shape.functions_per_module} functions = {shape.functions} "
        f"functions; {shape.libs} shared libraries `shared/libN.py`, each function imports 2–3 of "
        f"them, `shared/lib0.py` is imported by {lib0}; functions importing a third-party project "
        f"directly: {third}. Runtime {RUNTIME} x86_64. Ours: one `lambda_layer` `layers/deps` "
        f"with {', '.join(THIRD_PARTY.values())}, used by every function."
    )


def render_checks(results: Dict[str, SideResult]) -> str:
    lines = []
    for side, result in results.items():
        lines.extend(f"- {side}: {check}" for check in result.checks)
        incremental = result.counters("incremental_pantsd")
        if incremental:
            lines.append(
                f"- {side}: incremental run: local_execution_requests="
                f"{incremental.get('local_execution_requests', '?')}, "
                f"local_cache_requests_uncached="
                f"{incremental.get('local_cache_requests_uncached', '?')}."
            )
        for name, run in (("B", "remote_warm"), ("C", "remote_warm_lazy")):
            remote = {k: v for k, v in result.counters(run).items()
                      if k.startswith("remote_cache") and v}
            if remote:
                counters = ", ".join(f"{k}={v}" for k, v in sorted(remote.items()))
                lines.append(f"- {side}: clone {name}'s non-zero remote cache counters: "
                             f"{counters}.")
    return "\n".join(lines)


def render_report(results: Dict[str, SideResult], shape: Shape, pants_version: str,
                  command: str, started: datetime.datetime, load: Tuple[str, str]) -> str:
    machine = machine_info()
    rows = build_rows(results)
    missed = [row.label for row in rows if row.met is False]
    summary = "All goals met." if not missed else "Goals missed: " + "; ".join(missed) + "."
    return f"""\
# pants_lambda vs built-in `python_awslambda`

- Date: {started.strftime('%Y-%m-%d %H:%M UTC')}
- Machine: {machine['nproc']} CPUs ({machine['cpu']}), {machine['memory']} RAM, {machine['os']}
- Load average (1 min) at start / end: {load[0]} / {load[1]}
- Pants: {pants_version}
- Shape: {describe_shape(shape)}
- Command: `{command}`

{render_table(rows)}

{summary}

Each time is one run of `./pants package ::` measured with `time.monotonic()`, with
`--no-dynamic-ui --stats-log` and each side's own `--local-store-dir`, `--named-caches-dir`,
`--pants-workdir` and `--pants-subprocessdir`, all empty before each cold run. The remote cache
is a real BuildGrid server (one per side) on 127.0.0.1; copy A reads and writes it, clones B and
C only read it; C also sets `--cache-content-behavior=validate`, so Pants checks that cached
outputs exist but downloads only those the build reads (the ZIPs, not every intermediate PEX and
virtualenv). The remote-warm speed-up compares a
fresh clone's time with the cold build without a remote cache (first row). A Pants run without
pantsd spends the "No-op rebuild, no pantsd" time before and after any work (start-up, BUILD
files, the rule graph), so no fresh clone can be faster than that.

## Checks

{render_checks(results)}

## Every run

{render_runs(results)}
"""


def results_json(results: Dict[str, SideResult], shape: Shape, pants_version: str) -> str:
    return json.dumps(
        {
            "shape": dataclasses.asdict(shape),
            "pants_version": pants_version,
            "machine": machine_info(),
            "results": {side: dataclasses.asdict(result) for side, result in results.items()},
        },
        indent=2, sort_keys=True,
    )


# --------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--modules", type=int, default=4, help="modules (default 4)")
    parser.add_argument("--functions-per-module", type=int, default=10,
                        help="functions per module (default 10)")
    parser.add_argument("--libs", type=int, default=10,
                        help="shared library files shared/libN.py (default 10, at least 4)")
    parser.add_argument("--sides", default=",".join(SIDES),
                        help="comma-separated sides to run: ours,builtin (default both)")
    parser.add_argument("--skip-remote", action="store_true",
                        help="skip the remote cache rows (no BuildGrid)")
    parser.add_argument("--buildgrid-storage", default="4G",
                        help="BuildGrid's in-memory CAS size (default 4G)")
    parser.add_argument("--quiet-idle", type=float, default=0.8, metavar="FRACTION",
                        help="before each run, wait until the CPUs are at least this idle over "
                             "5 s (default 0.8; 0: do not wait)")
    parser.add_argument("--quiet-timeout", type=float, default=120.0, metavar="SECONDS",
                        help="longest wait for --quiet-idle before running anyway (default 120)")
    parser.add_argument("--out", type=Path, default=BENCH / "out",
                        help="work folder, emptied first (default bench/out)")
    parser.add_argument("--results", type=Path, default=BENCH / "results.md",
                        help="markdown report to write (default bench/results.md)")
    parser.add_argument("--fail-on-missed-goals", action="store_true",
                        help="exit with status 2 when a goal is missed")
    args = parser.parse_args(argv)
    args.sides = [s.strip() for s in args.sides.split(",") if s.strip()]
    if not args.sides or any(side not in SIDES for side in args.sides):
        parser.error(f"--sides takes a comma-separated subset of {', '.join(SIDES)}")
    if args.modules < 1 or args.functions_per_module < 1:
        parser.error("--modules and --functions-per-module must be at least 1")
    if args.libs < 4:
        parser.error("--libs must be at least 4 (a function imports up to 3 libs besides lib0)")
    if not 0.0 <= args.quiet_idle < 1.0:
        parser.error("--quiet-idle must be in [0, 1)")
    return args


def prepare_out(out: Path) -> Path:
    """Empties the work folder; refuses folders that are not the benchmark's own."""
    out = out.resolve()
    if (REPO == out or REPO in out.parents) and BENCH / "out" not in (out, *out.parents):
        raise BenchError(f"--out {out} is inside the repository but not under bench/out/")
    marker = out / ".bench-run-out"
    if out.exists():
        if any(out.iterdir()) and not marker.exists():
            raise BenchError(f"--out {out} is not empty and was not created by bench/run.py")
        # Never leave a daemon behind from an interrupted earlier run.
        for pids_dir in out.glob("*/*/caches/pids"):
            base = pids_dir.parent.parent
            stop_pantsd(Workspace(base / "repo", base / "caches", base / "logs"))
        shutil.rmtree(out)
    out.mkdir(parents=True)
    marker.write_text("created by bench/run.py\n")
    return out


def load_average() -> str:
    return f"{os.getloadavg()[0]:.2f}"


def main(argv: Sequence[str]) -> int:
    args = parse_args(argv)
    shape = Shape(args.modules, args.functions_per_module, args.libs)
    quiet = (args.quiet_idle, args.quiet_timeout)
    command = " ".join(["python3", "bench/run.py", *argv])
    started = datetime.datetime.now(datetime.timezone.utc)
    load_start = load_average()
    try:
        if not args.skip_remote:
            load_buildgrid_server()  # Fail before the long runs if the module is missing.
        out = prepare_out(args.out)
        pants_version = pants_version_of(out, shape)
        print(f"Pants {pants_version}; {describe_shape(shape)}", flush=True)
        results = {
            side: measure_side(side, shape, out, not args.skip_remote, quiet,
                               args.buildgrid_storage)
            for side in args.sides
        }
    except BenchError as e:
        print(f"\nbench/run.py: FAILED\n{e}", file=sys.stderr)
        return 1
    report = render_report(results, shape, pants_version, command, started,
                           (load_start, load_average()))
    print("\n" + report)
    # Keep the section bench/cold_start.py writes into the same file.
    previous = args.results.read_text() if args.results.exists() else ""
    cold_start = re.search(r"<!-- cold-start:begin -->.*?<!-- cold-start:end -->\n", previous, re.S)
    args.results.write_text(report + ("\n" + cold_start.group(0) if cold_start else ""))
    (out / "results.json").write_text(results_json(results, shape, pants_version))
    print(f"Wrote {args.results} (and {out / 'results.json'}; logs of every run under {out})")
    missed = any(row.met is False for row in build_rows(results))
    return 2 if missed and args.fail_on_missed_goals else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
