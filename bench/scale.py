#!/usr/bin/env python3
"""CI at scale: a monorepo of 1,000 functions on fresh runners with a warm remote cache.

Generates the example repository's architecture at scale (generate.write_scale_repo: two layers,
a manifest per module, the lockfile) as a git repository of three commits, starts a real
BuildGrid on 127.0.0.1, and runs `./pants` as a fresh CI runner would: every run in a fresh
clone at a path of its own, with empty local caches, without pantsd, against the remote cache.

    python3 bench/scale.py                     # 100 modules x 10 functions; see --help
    python3 bench/scale.py --modules 5 --functions-per-module 4 --libs 6   # a quick check

Writes its table into bench/results.md between `<!-- scale:begin -->` and `<!-- scale:end -->`
(the other sections stay) and logs of every run under --out. Standard library only.
"""

from __future__ import annotations

import argparse
import datetime
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from generate import BENCH, REPO, BenchError, Shape, plan_functions, write_scale_repo
from measure import PantsRun, Workspace, load_buildgrid_server, machine_info, remote_flags

# The README's CI command, against the commit before (CI would say origin/main).
CHANGED = (
    "--changed-since=HEAD~1",
    "--changed-dependents=transitive",
    "--filter-target-type=lambda_function,lambda_layer,lambda_manifest",
    "package",
)
GIT_ENV = {
    "GIT_AUTHOR_NAME": "bench",
    "GIT_AUTHOR_EMAIL": "bench@example.invalid",
    "GIT_COMMITTER_NAME": "bench",
    "GIT_COMMITTER_EMAIL": "bench@example.invalid",
    "GIT_AUTHOR_DATE": "2026-01-01T00:00:00Z",
    "GIT_COMMITTER_DATE": "2026-01-01T00:00:00Z",
}
BEGIN, END = "<!-- scale:begin -->", "<!-- scale:end -->"


def git(repo: Path, *args: str) -> str:
    result = subprocess.run(
        ["git", "-c", "init.defaultBranch=main", "-c", "commit.gpgsign=false", *args],
        cwd=repo, env={**os.environ, **GIT_ENV}, capture_output=True, text=True,
    )
    if result.returncode != 0:
        raise BenchError(f"git {' '.join(args)} failed in {repo}:\n{result.stderr}")
    return result.stdout.strip()


def commit_all(repo: Path, message: str) -> str:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD")


@dataclass(frozen=True)
class Commits:
    main: str  # what main's CI built
    handler: str  # main + one handler edited
    shared: str  # that + one file of the shared layer edited


def make_origin(shape: Shape, origin: Path) -> Commits:
    write_scale_repo(shape, origin)
    git(origin, "init", "-q")
    main = commit_all(origin, "main")
    handler = plan_functions(shape)[-1].folder + "/handler.py"
    with open(origin / handler, "a") as f:
        f.write("\n# A handler-only change.\n")
    handler_commit = commit_all(origin, f"Edit {handler}")
    with open(origin / "src/python/shared/lib1.py", "a") as f:
        f.write("\n# A change to a file of the shared layer.\n")
    shared_commit = commit_all(origin, "Edit src/python/shared/lib1.py")
    return Commits(main, handler_commit, shared_commit)


def fresh_clone(origin: Path, commit: str, base: Path, quiet: tuple) -> Workspace:
    """A runner's checkout: a clone at a path of its own, with empty local caches."""
    base.mkdir(parents=True)
    git(base, "clone", "-q", str(origin), "repo")
    git(base / "repo", "checkout", "-q", commit)
    return Workspace(root=base / "repo", caches=base / "caches", logs=base / "logs", quiet=quiet)


@dataclass(frozen=True)
class Row:
    label: str
    what: str
    run: PantsRun
    zips: Optional[int] = None  # ZIPs written to dist/


def zips_in(ws: Workspace) -> int:
    return sum(1 for _ in (ws.root / "dist").glob("*/*.zip"))


def measure(shape: Shape, out: Path, quiet: tuple, storage: str) -> List[Row]:
    buildgrid_server = load_buildgrid_server()
    commits = make_origin(shape, out / "origin")
    rows: List[Row] = []
    floor = fresh_clone(out / "origin", commits.main, out / "floor", quiet)
    floor.pants("warm-up", "--version")  # Not reported: installs Pants for the launcher.
    rows.append(Row("floor_version", "Pants' floor: `--version`", floor.pants("version", "--version")))
    rows.append(Row("floor_list", "Pants' floor: `list ::`", floor.pants("list", "list", "::")))
    with buildgrid_server(out / "buildgrid", storage_size=storage) as server:
        flags = remote_flags(server.address, write=True)
        cold = fresh_clone(out / "origin", commits.main, out / "cold", quiet)
        rows.append(Row("cold", "main's cold build, filling the cache: `package ::`",
                        cold.pants("cold", "package", "::", remote=flags), None))
        rows[-1] = Row(rows[-1].label, rows[-1].what, rows[-1].run, zips_in(cold))
        warm = fresh_clone(out / "origin", commits.main, out / "warm", quiet)
        run = warm.pants("warm", "package", "::", remote=flags)
        rows.append(Row("warm", "fresh clone of main, fully warm: `package ::`", run, zips_in(warm)))
        handler = fresh_clone(out / "origin", commits.handler, out / "handler", quiet)
        run = handler.pants("handler", *CHANGED, remote=flags)
        rows.append(Row("handler", "fresh clone after a handler-only commit: CI command", run,
                        zips_in(handler)))
        shared = fresh_clone(out / "origin", commits.shared, out / "shared", quiet)
        run = shared.pants("shared", *CHANGED, remote=flags)
        rows.append(Row("shared", "fresh clone after a shared-layer commit: CI command", run,
                        zips_in(shared)))
        log = server.log()
    if "Concurrent RPC limit" in log or "RESOURCE_EXHAUSTED" in log:
        raise BenchError(f"BuildGrid refused requests; its log is in {out / 'buildgrid'}")
    return rows


def counter(run: PantsRun, name: str) -> int:
    return run.counters.get(name, 0)


def render(rows: List[Row], shape: Shape, command: str, started: datetime.datetime) -> str:
    by_label: Dict[str, Row] = {row.label: row for row in rows}
    floor = by_label["floor_list"].run.seconds
    machine = machine_info()
    lines = [
        BEGIN,
        f"## CI at scale: {shape.functions:,} functions on fresh runners, warm remote cache",
        "",
        f"`{command}`, {started:%Y-%m-%d %H:%M} UTC, on {machine['nproc']} CPUs "
        f"({machine['cpu']}), {machine['memory']}. "
        f"{shape.modules} modules of {shape.functions_per_module} functions, {shape.libs} shared "
        "files in layers/shared, third-party requirements in layers/deps, a `lambda_manifest` "
        "per module, `3rdparty/python/lambda.lock`. Every run is a fresh clone at a path of its "
        "own, with empty local caches, no pantsd, remote cache read and write (a real BuildGrid "
        "0.9.1 on 127.0.0.1). `local` = processes Pants ran on the runner "
        "(`local_execution_requests`), `hits` = `remote_cache_requests_cached` / "
        "`remote_cache_requests`, `peak RSS` = the Pants process's largest resident memory.",
        "",
        "| run | time | beyond `list ::` | local | hits | ZIPs written | peak RSS |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        run = row.run
        requests = counter(run, "remote_cache_requests")
        hits = f"{counter(run, 'remote_cache_requests_cached')} / {requests}" if requests else "—"
        beyond = "" if row.label.startswith("floor") else f"{run.seconds - floor:+.1f} s"
        lines.append(
            f"| {row.what} | {run.seconds:.1f} s | {beyond} | "
            f"{counter(run, 'local_execution_requests')} | {hits} | "
            f"{'' if row.zips is None else row.zips} | {run.peak_rss_kib / 1024:.0f} MiB |"
        )
    goals = [
        ("fully warm fresh clone ≤ `list ::` + 10 s", "warm", 10.0),
        ("handler-only change ≤ `list ::` + 5 s", "handler", 5.0),
    ]
    lines += ["", "| goal | measured | met |", "|---|---|---|"]
    for text, label, margin in goals:
        seconds = by_label[label].run.seconds
        lines.append(
            f"| {text} | {seconds:.1f} s vs {floor + margin:.1f} s | "
            f"{'yes' if seconds <= floor + margin else '**NO**'} |"
        )
    lines += ["", END, ""]
    return "\n".join(lines)


def write_section(results: Path, section: str) -> None:
    previous = results.read_text() if results.exists() else ""
    pattern = re.compile(re.escape(BEGIN) + ".*?" + re.escape(END) + r"\n?", re.S)
    if pattern.search(previous):
        results.write_text(pattern.sub(lambda _: section, previous))
    else:
        results.write_text(previous + ("\n" if previous else "") + section)


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--modules", type=int, default=100)
    parser.add_argument("--functions-per-module", type=int, default=10)
    parser.add_argument("--libs", type=int, default=20, help="files in src/python/shared")
    parser.add_argument("--buildgrid-storage", default="8G", help="BuildGrid's in-memory CAS")
    parser.add_argument("--quiet-idle", type=float, default=0.8, metavar="FRACTION",
                        help="before each run, wait until the CPUs are this idle (0: never)")
    parser.add_argument("--quiet-timeout", type=float, default=120.0, metavar="SECONDS")
    parser.add_argument("--out", type=Path, default=BENCH / "out" / "scale",
                        help="work folder, emptied first (default bench/out/scale)")
    parser.add_argument("--results", type=Path, default=BENCH / "results.md")
    args = parser.parse_args(argv)
    if args.modules < 1 or args.functions_per_module < 1 or args.libs < 4:
        parser.error("--modules and --functions-per-module at least 1, --libs at least 4")
    return args


def main(argv: Sequence[str]) -> int:
    args = parse_args(argv)
    shape = Shape(args.modules, args.functions_per_module, args.libs)
    out = args.out.resolve()
    if out.exists():
        if any(out.iterdir()) and not (out / ".bench-scale-out").exists():
            print(f"bench/scale.py: --out {out} is not empty and not its own", file=sys.stderr)
            return 1
        shutil.rmtree(out)
    out.mkdir(parents=True)
    (out / ".bench-scale-out").write_text("created by bench/scale.py\n")
    command = " ".join(["python3", "bench/scale.py", *argv])
    started = datetime.datetime.now(datetime.timezone.utc)
    try:
        rows = measure(shape, out, (args.quiet_idle, args.quiet_timeout), args.buildgrid_storage)
    except BenchError as e:
        print(f"\nbench/scale.py: FAILED\n{e}", file=sys.stderr)
        return 1
    section = render(rows, shape, command, started)
    print("\n" + section)
    write_section(args.results, section)
    print(f"Wrote {args.results}; logs of every run under {out}")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(REPO / "bench"))
    sys.exit(main(sys.argv[1:]))
