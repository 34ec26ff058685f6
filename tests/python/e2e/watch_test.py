"""`./pants --loop package ::`: an edited handler's ZIP is rebuilt, the others keep their bytes."""

from __future__ import annotations

import hashlib
import subprocess
import time
from pathlib import Path

import pytest

from e2e.clones import Clone, make_clone, stop_pantsd, stop_process_group

EDITED = "src/python/billing/payments/handler.py"
FIRST_BUILD_TIMEOUT = 600
REBUILD_TIMEOUT = 120


def zip_hashes(clone: Clone) -> dict[str, str | None]:
    """Each ZIP's SHA-256; None for one that Pants is rewriting at that moment."""
    hashes: dict[str, str | None] = {}
    for path in sorted((clone.root / "dist").glob("*/*.zip")):
        try:
            hashes[str(path.relative_to(clone.root))] = hashlib.sha256(
                path.read_bytes()
            ).hexdigest()
        except FileNotFoundError:
            hashes[str(path.relative_to(clone.root))] = None
    return hashes


def wait_for(condition, timeout: float, what: str, log: Path) -> float:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if condition():
            return time.monotonic() - start
        time.sleep(0.2)
    tail = "\n".join(log.read_text(errors="replace").splitlines()[-40:])
    raise AssertionError(f"{what} did not happen within {timeout} s. Last lines:\n{tail}")


@pytest.fixture
def clone(tmp_path_factory: pytest.TempPathFactory):
    repo = make_clone(tmp_path_factory.mktemp("watch"), shared_caches=True)
    try:
        yield repo
    finally:
        stop_pantsd(repo.root)


def test_loop_rebuilds_only_the_edited_function(clone: Clone, tmp_path: Path) -> None:
    log = tmp_path / "loop.log"
    with log.open("w") as out:
        loop = subprocess.Popen(
            # --loop needs pantsd, which watches the files.
            clone.command("--pantsd", "--loop", "package", "::"),
            cwd=clone.root,
            env=clone.env(),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        payments = clone.root / "dist/src.python.billing.payments/payments.zip"
        wait_for(
            lambda: "Wrote dist/infrastructure.billing/manifest.json" in log.read_text(),
            FIRST_BUILD_TIMEOUT,
            "the first build",
            log,
        )
        before = zip_hashes(clone)
        assert len(before) == 14, before
        handler = clone.root / EDITED
        handler.write_text(handler.read_text() + "\n# edited while `--loop` runs\n")
        saved = time.monotonic()
        key = str(payments.relative_to(clone.root))
        took = wait_for(
            lambda: zip_hashes(clone).get(key) not in (None, before[key]),
            REBUILD_TIMEOUT,
            "the rebuild of payments.zip",
            log,
        )
        # Let the iteration finish writing, then compare everything else.
        wait_for(
            lambda: log.read_text().count("Wrote dist/infrastructure.billing/manifest.json") >= 2,
            REBUILD_TIMEOUT,
            "the end of the second build",
            log,
        )
        finished = time.monotonic() - saved
        after = zip_hashes(clone)
        changed = {path for path in after if after[path] != before[path]}
        assert changed == {key}, changed
        print(
            f"saving {EDITED}: new payments.zip on disk after {took:.1f} s, "
            f"the whole `package ::` iteration done after {finished:.1f} s"
        )
    finally:
        stop_process_group(loop)
    assert loop.returncode is not None
