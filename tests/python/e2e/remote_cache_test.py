"""A real REAPI remote cache (BuildGrid) serves a fresh clone, and its loss never breaks a build."""

from __future__ import annotations

import re
import subprocess
import threading
import time
from pathlib import Path

import pytest

from e2e.clones import Clone, lambda_outputs, make_clone
from e2e.remote_cache import buildgrid_server


def remote_flags(address: str) -> tuple[str, ...]:
    return (
        "--remote-cache-read",
        "--remote-cache-write",
        f"--remote-store-address={address}",
        "--remote-instance-name=",
        "--stats-log",
    )


def counters(result: subprocess.CompletedProcess) -> dict[str, int]:
    block = result.stderr.split("Counters:", 1)[1]
    return {k: int(v) for k, v in re.findall(r"^\s+(\w+): (\d+)$", block, re.MULTILINE)}


# A function of the example that installs its requirements itself (python3.11, from lambda.lock).
FUNCTION = "src/python/billing/reports"


def outputs(clone: Clone) -> dict[str, bytes]:
    return lambda_outputs(clone.root)


@pytest.fixture(scope="module")
def writer(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Clone, dict[str, int], dict[str, int]]:
    """Clone A, packaged from empty local caches against an empty BuildGrid, which it fills;
    then clone B at another path, with empty local caches of its own, reading."""
    base = tmp_path_factory.mktemp("remote")
    with buildgrid_server(base / "buildgrid") as server:
        clone = make_clone(base / "a")
        written = counters(clone.pants(*remote_flags(server.address), "package", "::"))
        reader = make_clone(base / "b-somewhere" / "else")
        read = counters(reader.pants(*remote_flags(server.address), "package", "::"))
        server_log = server.log()
    # A server at its concurrency limit refuses writes, and later runners then miss in silence.
    assert "Concurrent RPC limit" not in server_log and "RESOURCE_EXHAUSTED" not in server_log
    assert outputs(reader) == outputs(clone)
    return clone, written, read


def remote(counts: dict[str, int]) -> dict[str, int]:
    return {k: v for k, v in counts.items() if "remote" in k or "local_execution" in k}


def test_a_cold_build_writes_every_entry(
    writer: tuple[Clone, dict[str, int], dict[str, int]],
) -> None:
    _, written, _ = writer
    # Pants reports cache failures as warnings and exits 0: the counters are the evidence.
    assert written["remote_cache_write_errors"] == 0, remote(written)
    assert written["remote_cache_read_errors"] == 0, remote(written)
    # Every process looked up and missed was run, and its result written.
    assert written["remote_cache_requests_uncached"] > 0, remote(written)
    assert (
        written["remote_cache_write_successes"]
        == written["remote_cache_write_attempts"]
        == written["remote_cache_requests_uncached"]
    ), remote(written)


def test_a_fresh_clone_runs_no_process_locally(
    writer: tuple[Clone, dict[str, int], dict[str, int]],
) -> None:
    _, _, read = writer
    assert read["remote_cache_requests"] > 0, remote(read)
    assert read["remote_cache_read_errors"] == 0, remote(read)
    # Every lookup hits, and, since the plugin's processes wait for their lookup
    # (`[lambda].remote_cache_speculation_delay`), none of them starts on this machine.
    assert read["remote_cache_requests_cached"] == read["remote_cache_requests"], remote(read)
    assert read.get("local_execution_requests", 0) == 0, remote(read)
    assert read.get("remote_cache_speculation_local_completed_first", 0) == 0, remote(read)


def connected(port: int) -> bool:
    """Whether a client holds an established TCP connection to 127.0.0.1:port."""
    server = f"0100007F:{port:04X}"
    rows = [row.split() for row in Path("/proc/net/tcp").read_text().splitlines()[1:]]
    return any(fields[2] == server and fields[3] == "01" for fields in rows)


@pytest.mark.parametrize("when", ["before the build", "during the build"])
def test_build_succeeds_locally_when_the_cache_server_dies(
    writer: tuple[Clone, dict[str, int], dict[str, int]], tmp_path: Path, when: str
) -> None:
    reference, _, _ = writer
    clone = make_clone(tmp_path)
    # One function that resolves, installs, compiles and zips, from an empty local store: every
    # kind of process runs and meets the dead server, in a fraction of the whole build's time.
    # Clone A's named caches (pex's downloads and interpreters) spare it PyPI, not any process.
    clone.caches.mkdir()
    (clone.caches / "named_caches").symlink_to(reference.caches / "named_caches")
    results: list[subprocess.CompletedProcess] = []
    with buildgrid_server(tmp_path / "buildgrid") as server:
        if when == "before the build":
            server.kill()
            results.append(clone.pants(*remote_flags(server.address), "package", FUNCTION))
        else:
            build = threading.Thread(
                target=lambda: results.append(
                    clone.pants(*remote_flags(server.address), "package", FUNCTION)
                )
            )
            build.start()
            # Kill it as a crash would, once Pants is talking to it.
            while build.is_alive() and not connected(server.port):
                time.sleep(0.05)
            assert build.is_alive(), "the build finished before it reached the cache server"
            server.kill()
            build.join()
        assert not server.alive()
    (result,) = results
    built = outputs(clone)
    assert sorted(built) == [
        "src.python.billing.reports/reports.json",
        "src.python.billing.reports/reports.zip",
    ]
    assert built == {path: content for path, content in outputs(reference).items() if path in built}
    assert re.search(
        r"\[WARN\].*Failed to (read from|write to) remote cache", result.stderr
    ), result.stderr
