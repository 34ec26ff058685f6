"""The benchmark's markdown report and JSON results (bench/run.py)."""

from __future__ import annotations

import dataclasses
import datetime
import json
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

from generate import (
    EDITED_FILE,
    RUNTIME,
    SIDE_TITLES,
    THIRD_PARTY,
    Shape,
    plan_functions,
)
from measure import SideResult, machine_info

# Goals (ours / built-in unless said otherwise).
GOAL_COLD_RATIO = 0.35
GOAL_INCREMENTAL_RATIO = 0.2
GOAL_ZIP_BYTES_RATIO = 0.01
GOAL_NOOP_PANTSD_SECONDS = 3.0
GOAL_REMOTE_SPEEDUP = 4.0


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
