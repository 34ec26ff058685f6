"""Lambda's size quotas, checked at package time with real oversized artifacts (no mocks)."""

from __future__ import annotations

import json
import os
from typing import Iterator

import pytest

from e2e.clones import Clone, make_clone, served_by_pantsd, write_files

MB = 1_000_000


def layer_build(name: str, blob: str, upload: str = "direct") -> str:
    return (
        f'file(name="blob", source="{blob}")\n'
        f'lambda_layer(name="{name}", runtime="python3.12", dependencies=[":blob"], '
        f'upload="{upload}")\n'
    )


def function_build(layers: list[str], upload: str = "direct") -> str:
    return (
        'python_sources(name="src")\n'
        f'lambda_function(name="fn", handler="handler.py:handler", runtime="python3.12", '
        f'layers={layers!r}, upload="{upload}")\n'
    )


HANDLER = "def handler(event, context):\n    return 'ok'\n"


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Clone]:
    repo = make_clone(tmp_path_factory.mktemp("limits"))
    big = repo.root / "src/python/big"
    files = {
        # Two layers of 135 MB each, unzipped (zeros: their ZIPs are small), for one function.
        "wide/one/BUILD": layer_build("one", "zeros1.bin"),
        "wide/two/BUILD": layer_build("two", "zeros2.bin"),
        "wide/fn/BUILD": function_build(["src/python/big/wide/one", "src/python/big/wide/two"]),
        "wide/fn/handler.py": HANDLER,
        # A layer of 53 MB of random bytes: its ZIP is over the direct-upload limit...
        "heavy/direct/BUILD": layer_build("direct", "random.bin"),
        # ...unless it goes through S3, which the manifest then says.
        "heavy/s3/BUILD": layer_build("s3", "random.bin", upload="s3"),
        "heavy/fn/BUILD": function_build(["src/python/big/heavy/s3"])
        + 'lambda_manifest(name="manifest", functions=[":fn"])\n',
        "heavy/fn/handler.py": HANDLER,
    }
    write_files(big, files)
    for relpath in ("wide/one/zeros1.bin", "wide/two/zeros2.bin"):
        with (big / relpath).open("wb") as fp:
            fp.truncate(135 * MB)
    random_bytes = os.urandom(53 * MB)
    for relpath in ("heavy/direct/random.bin", "heavy/s3/random.bin"):
        (big / relpath).write_bytes(random_bytes)
    with served_by_pantsd(repo) as served:
        yield served


def test_a_function_and_its_layers_over_the_unzipped_limit(clone: Clone) -> None:
    result = clone.pants("package", "src/python/big/wide/fn", check=False)
    assert result.returncode != 0
    assert (
        "src/python/big/wide/fn:fn and its layers hold 270,000,292 bytes unzipped, over Lambda's "
        "262,144,000-byte limit for a function and all its layers"
    ) in result.stderr, result.stderr
    # The quota counts the bytecode: the handler's 45 bytes and its 247-byte .pyc.
    assert "the function's own ZIP: 292 bytes (largest: big (292 bytes))" in result.stderr
    assert (
        "src/python/big/wide/one:one: 135,000,000 bytes (largest: zeros1.bin (135,000,000 bytes))"
    ) in result.stderr
    assert "src/python/big/wide/two:two: 135,000,000 bytes" in result.stderr
    assert "split the function" in result.stderr
    assert not (clone.root / "dist/src.python.big.wide.fn").exists()


def test_a_zip_over_the_direct_upload_limit_needs_s3(clone: Clone) -> None:
    result = clone.pants("package", "src/python/big/heavy/direct", check=False)
    assert result.returncode != 0
    assert "src/python/big/heavy/direct:direct packages to " in result.stderr, result.stderr
    assert "over Lambda's 52,428,800-byte limit for a direct upload" in result.stderr
    assert 'Set `upload="s3"` on it to deploy it through S3' in result.stderr
    assert not (clone.root / "dist/src.python.big.heavy.direct").exists()


def test_upload_s3_packages_and_the_manifest_says_so(clone: Clone) -> None:
    result = clone.pants(
        "package", "src/python/big/heavy/fn:fn", "src/python/big/heavy/fn:manifest"
    )
    dist = clone.root / "dist"
    manifest = json.loads((dist / "src.python.big.heavy.fn/manifest.json").read_text())
    layer = manifest["layers"]["s3"]
    assert layer["upload"] == "s3" and layer["size"] > 52_428_800
    function = manifest["functions"]["fn"]
    assert function["upload"] == "direct"
    described = json.loads((dist / "src.python.big.heavy.fn/fn.json").read_text())
    total = described["unzipped_size"] + layer["unzipped_size"]
    assert described["unzipped_size_with_layers"] == total
    assert described["unzipped_limit_share"] == f"{100 * total / 262_144_000:.1f}%"
    assert (
        f"Unzipped with layers: {total:,} bytes ({described['unzipped_limit_share']} of "
        "Lambda's 262,144,000-byte limit)"
    ) in result.stderr
