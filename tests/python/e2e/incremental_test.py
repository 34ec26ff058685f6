"""Only affected artifacts rebuild, shown with Pants' own counters, and `--changed-since` selects them."""

from __future__ import annotations

import collections
import dataclasses
import json
import re
import shutil
import subprocess
import zipfile
from pathlib import Path
from typing import Iterator

import pytest

from e2e.clones import Clone, commit_all, git, make_clone, served_by_pantsd, source_repo

# The artifacts that ship shared/text.py: the `shared` layer, and the functions importing it that
# do not use that layer.
TEXT_SHIPPERS = {"shared", "audit", "sessions", "reports"}
# The shippers built for more than one runtime, each with its own bytecode.
SHIPPER_RUNTIMES = {"shared": ("python3.11", "python3.12")}
# What Pants selects after an edit to it: its importers, the layer, and the layer's users.
TEXT_SELECTED = TEXT_SHIPPERS | {"invoices", "profiles", "refunds"}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Clone]:
    """The repository committed and packaged, on the caches the test run's clones share (each
    edit below is this test's own, a line naming it, so no other clone has built it), through a
    pantsd: what runs again after an edit, and what `--changed-since` selects, do not depend on a
    fresh Pants process."""
    clone = make_clone(tmp_path_factory.mktemp("incremental"), shared_caches=True)
    commit_all(clone, "fixture")
    with served_by_pantsd(clone) as served:
        served.pants(SPAWNS, "package", "::")
        yield served


@pytest.fixture(scope="module")
def repo(served: Clone) -> Clone:
    """The same copy, each run a fresh Pants process, as CI runs it."""
    return dataclasses.replace(served, daemon=False)


@pytest.fixture(scope="module")
def committed(repo: Clone) -> dict[str, bytes]:
    """The ZIPs of the committed sources (each test puts its edits back with `git checkout`)."""
    return zips(repo)


def counters(result: subprocess.CompletedProcess) -> dict[str, int]:
    block = result.stderr.split("Counters:", 1)[1]
    return {k: int(v) for k, v in re.findall(r"^\s+(\w+): (\d+)$", block, re.MULTILINE)}


# Pants' local runner logs each process it starts, at debug level (not a daemon option: the runs
# through pantsd and the fresh ones all pass it, and it restarts nothing).
SPAWNS = '--log-levels-by-target={"process_execution::local": "debug"}'


@dataclasses.dataclass(frozen=True)
class Run:
    stats: dict[str, int]
    # Each process the run started, as Pants logged it (its argv, env, input digests, ...).
    spawned: list[str]
    # What pantsd said of files changing during the run (it then starts the goal again).
    retries: list[str]

    @property
    def descriptions(self) -> list[str]:
        return sorted(_description(p) for p in self.spawned)

    @property
    def distinct_descriptions(self) -> list[str]:
        """One per distinct process (argv, environment, inputs, ...), however often it started."""
        return sorted(_description(p) for p in set(self.spawned))

    def artifacts(self, step: str) -> set[str]:
        """The names of the artifacts whose `step` ran (e.g. "Zip the Lambda ")."""
        names = set()
        for description in self.distinct_descriptions:
            if description.startswith(step):
                address = description[len(step) :].split()[1 if step.startswith("Zip") else 0]
                names.add(address.rsplit(":", 1)[-1].rsplit("/", 1)[-1])
        return names

    def why(self, *context: str) -> str:
        """For an assertion's message: every counter, and each process the run started."""
        repeated = len(self.spawned) - len(set(self.spawned))
        return "\n".join(
            [
                *context,
                json.dumps(self.stats, indent=1),
                *self.retries,
                f"started ({repeated} of them a process already started in this run):",
                *self.descriptions,
            ]
        )


def _description(spawned: str) -> str:
    return re.sub(r'.*description: "([^"]*)".*', r"\1", spawned)


def package(clone: Clone) -> Run:
    """`package ::` with Pants' counters, and what it ran."""
    result = clone.pants("--stats-log", SPAWNS, "package", "::")
    spawned = re.findall(r"spawned local process as \S+ for (Process \{.*)$", result.stderr, re.M)
    retries = re.findall(r"^.*Filesystem changed during run.*$", result.stderr, re.M)
    run = Run(counters(result), spawned, retries)
    # Pants' own count, and what its log shows, agree.
    assert len(spawned) == run.stats["local_execution_requests"], run.why()
    return run


def zips(clone: Clone) -> dict[str, bytes]:
    return {p.stem: p.read_bytes() for p in (clone.root / "dist").glob("*/*.zip")}


def edit(clone: Clone, relpath: str) -> None:
    path = clone.root / relpath
    path.write_text(path.read_text() + "\n# edited by incremental_test\n")


ACCESS, BILLING = "infrastructure/access", "infrastructure/billing"
# The example's artifacts built with `compile_bytecode=False` (python3.14: no CPython 3.14 here).
WITHOUT_BYTECODE = {"pydantic-py314", "pydantic-py314-arm64"}


def selected(clone: Clone) -> set[str]:
    """What the README's CI recipe packages: functions and layers by name, manifests by folder."""
    listed = clone.pants(
        "--changed-since=HEAD",
        "--changed-dependents=transitive",
        "--filter-target-type=lambda_function,lambda_layer,lambda_manifest",
        "list",
    ).stdout
    names = set()
    for address in listed.split():
        folder, name = address.rsplit(":", 1)
        names.add(folder if folder.startswith("infrastructure/") else name)
    return names


def test_noop_rebuild_runs_nothing(repo: Clone, committed: dict[str, bytes]) -> None:
    run = package(repo)
    stats = run.stats
    assert stats["local_execution_requests"] == 0, run.why()
    assert stats["local_cache_requests"] == stats["local_cache_requests_cached"] > 0
    assert zips(repo) == committed


def test_shared_file_change_rebuilds_only_its_importers(
    repo: Clone, committed: dict[str, bytes], served: Clone
) -> None:
    edit(repo, "src/python/shared/text.py")
    try:
        assert selected(served) == TEXT_SELECTED | {ACCESS, BILLING}
        run = package(served)
        stats = run.stats
        after = zips(repo)
        assert {name for name in after if after[name] != committed[name]} == TEXT_SHIPPERS
        # For each artifact shipping the file, the compile step of its first-party code (one per
        # runtime: the shared layer serves python3.11 and python3.12) and its zip step, nothing
        # else: no resolve, no install, no third-party compile, no zip of a function that gets
        # the file from the layer (invoices imports it too).
        steps = sum(len(SHIPPER_RUNTIMES.get(name, ("one",))) + 1 for name in TEXT_SHIPPERS)
        assert steps == 9
        assert len(run.distinct_descriptions) == steps, run.why()
        # Each of them started after a miss in the local cache.
        assert stats["local_cache_requests_uncached"] == len(run.spawned), run.why()
    finally:
        git(repo, "checkout", "--", ".")


def test_handler_change_selects_and_rebuilds_one_function(
    repo: Clone, committed: dict[str, bytes], served: Clone
) -> None:
    edit(repo, "src/python/billing/payments/handler.py")
    try:
        assert selected(served) == {"payments", BILLING}
        run = package(served)
        after = zips(repo)
        assert {name for name in after if after[name] != committed[name]} == {"payments"}
        # Its handler check and its compile step on CPython 3.12, and its zip step.
        assert len(run.distinct_descriptions) == 3, run.why()
    finally:
        git(repo, "checkout", "--", ".")


def test_layer_file_change_selects_the_layer_and_its_users(repo: Clone, served: Clone) -> None:
    edit(repo, "src/python/shared/db.py")
    try:
        # The layer holding db.py, and the functions importing it: their ZIPs do not change
        # (db.py comes from the layer) but they deploy against a new layer version.
        assert selected(served) == {"shared", "profiles", "invoices", "refunds", ACCESS, BILLING}
    finally:
        git(repo, "checkout", "--", ".")


# The artifacts that install third-party requirements themselves, one requirement set each: two
# pinned from lambda.lock (deps, reports: python3.12 and python3.11) and five from the Lambda
# platform lockfiles (python3.13 and python3.14).
REQUIREMENT_SETS = {
    "deps",
    "reports",
    "audit",
    "deps-arm64",
    "pydantic-py313",
    "pydantic-py314",
    "pydantic-py314-arm64",
}


# Lockfiles generate-lockfiles wrote with PyYAML==6.0.1 in lambda-requirements.txt.
PYYAML_BUMP = "tests/python/e2e/data/pyyaml-6.0.1"


def locked_versions(lockfile: Path) -> dict[str, str]:
    text = "\n".join(
        line for line in lockfile.read_text().splitlines() if not line.startswith("//")
    )
    (resolve,) = json.loads(text)["locked_resolves"]
    return {r["project_name"]: r["version"] for r in resolve["locked_requirements"]}


def test_lockfile_change_rebuilds_only_artifacts_with_a_changed_distribution(
    repo: Clone, committed: dict[str, bytes], served: Clone
) -> None:
    before = committed
    lockfile = repo.root / "3rdparty/python/lambda.lock"
    old = locked_versions(lockfile)
    requirements = repo.root / "3rdparty/python/lambda-requirements.txt"
    requirements.write_text(requirements.read_text().replace("PyYAML==6.0.2", "PyYAML==6.0.1"))
    try:
        # The resolve's lockfile and its Lambda platform lockfiles, as generate-lockfiles wrote
        # them for this change (committed: the test does not depend on what PyPI serves today).
        bumped = source_repo() / PYYAML_BUMP
        for written in bumped.glob("*.lock"):
            shutil.copy2(written, lockfile.parent / written.name)
        header = lockfile.read_text().split("--- END PANTS LOCKFILE METADATA ---")[0]
        assert all(f'"{line}"' in header for line in requirements.read_text().split()), (
            f"{PYYAML_BUMP} was generated for other requirements than 3rdparty/python/"
            "lambda-requirements.txt with PyYAML==6.0.1: write that requirement, run "
            "`pants generate-lockfiles --resolve=lambda.lambda-platforms` and copy "
            f"3rdparty/python/lambda*.lock to {PYYAML_BUMP}/"
        )
        new = locked_versions(lockfile)
        changed = {
            project for project in old.keys() | new.keys() if old.get(project) != new.get(project)
        }
        assert "pyyaml" in changed
        # Pants selects everything that depends on a requirement of the changed resolve,
        # including the functions whose layers do (`layers` counts as a dependency).
        assert selected(served) == {
            "deps",
            "deps-arm64",
            "pydantic-py313",
            "pydantic-py314",
            "pydantic-py314-arm64",
            # The shared layer's code imports yaml, though the layer leaves it to `deps`.
            "shared",
            "refunds",
            "audit",
            "profiles",
            "tokens",
            "payments",
            "reports",
            "sessions",
            "invoices",
            ACCESS,
            BILLING,
        }
        run = package(served)
        after = zips(repo)

        def ships_changed(name: str) -> bool:
            (path,) = (repo.root / "dist").glob(f"*/{name}.zip")
            dists = {
                re.sub(r"[-_.]+", "-", part[: -len(".dist-info")].rsplit("-", 1)[0]).lower()
                for entry in zipfile.ZipFile(path).namelist()
                for part in entry.split("/")[:-1]
                if part.endswith(".dist-info")
            }
            return bool(dists & changed)

        rebuilt = {name for name in after if after[name] != before[name]}
        assert rebuilt == {name for name in after if ships_changed(name)}
        assert {"deps", "reports"} <= rebuilt <= REQUIREMENT_SETS
        # What runs again: the pin step of every requirement set, since each reads a lockfile
        # that changed (lambda.lock, or a Lambda platform lockfile, which records lambda.lock's
        # versions as its constraints). Then the resolve, install and zip of each set whose
        # pinned versions changed: the two holding PyYAML, plus any set holding a project that
        # PyPI had released when the bumped lockfiles were generated.
        # A compile step too for each of those that carries bytecode. Nothing else.
        # Counted by process: Pants may start one process twice in a run (an engine retry), which
        # rebuilds nothing more, so a repeat is reported but not counted.
        kinds = collections.Counter(d.split(" ", 1)[0] for d in run.distinct_descriptions)
        assert kinds == {
            "Pin": len(REQUIREMENT_SETS),
            "Resolve": len(rebuilt),
            "Install": len(rebuilt),
            "Compile": len(rebuilt - WITHOUT_BYTECODE),
            "Zip": len(rebuilt),
        }, run.why(f"rebuilt: {sorted(rebuilt)}")
        assert run.artifacts("Zip the Lambda ") == rebuilt, run.why()
        assert run.artifacts("Compile the bytecode of ") == rebuilt - WITHOUT_BYTECODE, run.why()
    finally:
        git(repo, "checkout", "--", ".")
