"""Runs the real `./pants` on a generated repository and records times, counters and ZIPs."""

from __future__ import annotations

import hashlib
import json
import os
import platform
import re
import resource
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

from generate import EDITED_FILE, REPO, BenchError, Shape, plan_functions, write_repo

PANTSD_STOP_TIMEOUT_SECONDS = 20.0
# Check that cached outputs exist remotely, but download only those the build reads.
LAZY_FETCH = ("--cache-content-behavior=validate",)


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
    peak_rss_kib: int = 0  # the largest resident set of `./pants` or any process it waited for


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


def run_measured(cmd: Sequence[str], cwd: Path) -> Tuple[subprocess.CompletedProcess, int]:
    """Runs `cmd` like `subprocess.run(capture_output=True, text=True)`, and also returns the
    peak resident memory (KiB) of it and the processes it waited for: without pantsd, that of
    the Pants process itself, by far the largest of them."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        process = subprocess.Popen(list(cmd), cwd=cwd, env=pants_env(), stdout=out, stderr=err,
                                   stdin=subprocess.DEVNULL)
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        result = subprocess.CompletedProcess(
            list(cmd), process.returncode, out.read().decode(errors="replace"),
            err.read().decode(errors="replace"))
    return result, usage.ru_maxrss


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
        result, peak_rss_kib = run_measured(cmd, self.root)
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
                       machine.busy - machine_before.busy, machine.steal - machine_before.steal,
                       peak_rss_kib)
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
