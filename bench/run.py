#!/usr/bin/env python3
"""Benchmarks `lambda_function`/`lambda_layer` (pants_lambda) against Pants' `python_awslambda`.

Generates the same synthetic monorepo twice under bench/out/ (one per side, generate.py), runs the
real `./pants package ::` on each with its own empty caches (measure.py), and writes a markdown
table of the results to bench/results.md (report.py). Standard library only; run from the
repository root:

    python3 bench/run.py            # see --help and bench/README.md
"""

from __future__ import annotations

import argparse
import datetime
import os
import re
import shutil
import sys
from pathlib import Path
from typing import Sequence

from generate import BENCH, REPO, SIDES, BenchError, Shape
from measure import Workspace, load_buildgrid_server, measure_side, pants_version_of, stop_pantsd
from report import build_rows, describe_shape, render_report, results_json

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
    # Keep the sections bench/cold_start.py and bench/scale.py write into the same file.
    previous = args.results.read_text() if args.results.exists() else ""
    kept = [
        "\n" + found.group(0)
        for name in ("cold-start", "scale")
        for found in [re.search(f"<!-- {name}:begin -->.*?<!-- {name}:end -->\n", previous, re.S)]
        if found
    ]
    args.results.write_text(report + "".join(kept))
    (out / "results.json").write_text(results_json(results, shape, pants_version))
    print(f"Wrote {args.results} (and {out / 'results.json'}; logs of every run under {out})")
    missed = any(row.met is False for row in build_rows(results))
    return 2 if missed and args.fail_on_missed_goals else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
