from __future__ import annotations

import hashlib
import json
import os
import sys
import zipfile
from pathlib import Path

import pytest

from pants_lambda.sandbox import zip_tool


def make_tree(root: Path, mtime: int, umask: int) -> None:
    old = os.umask(umask)
    try:
        files = {
            "src/pkg/mod.py": "X = 1\n",
            "src/pkg/__pycache__/mod.cpython-312.pyc": "junk",
            "src/pkg/stale.pyc": "junk",
            "src/run.sh": "#!/bin/sh\n",
            "site/dep/__init__.py": "",
            "site/dep-1.0.dist-info/RECORD": "dep/__init__.py,,\ndep-1.0.dist-info/RECORD,,\n",
            "site/keep/__init__.py": "",
            "site/keep-2.0.dist-info/RECORD": "keep/__init__.py,,\n",
            "site/bin/console": "#!python\n",
        }
        for relpath, content in files.items():
            path = root / relpath
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content)
        (root / "src/run.sh").chmod(0o777 & ~umask | 0o100)
        for path in root.rglob("*"):
            os.utime(path, (mtime, mtime))
    finally:
        os.umask(old)


def build(root: Path, spec_in_env: bool = False) -> tuple[bytes, str]:
    """The ZIP's bytes and the tool's list of its entries; the spec in a file, or in the
    environment as the zip step passes it."""
    spec = {
        "output": "out/x.zip",
        "entries_output": "entries.txt",
        "sources": [
            {"dir": "src", "prefix": "python/"},
            {"dir": "site", "prefix": "python/", "drop_dists": ["dep"], "drop_top_dirs": ["bin"]},
        ],
    }
    (root / "spec.json").write_text(json.dumps(spec))
    cwd = os.getcwd()
    os.chdir(root)
    try:
        if spec_in_env:
            os.environ[zip_tool.SPEC_ENV] = json.dumps(spec)
            try:
                assert zip_tool.main(None) == 0
            finally:
                del os.environ[zip_tool.SPEC_ENV]
        else:
            assert zip_tool.main("spec.json") == 0
    finally:
        os.chdir(cwd)
    return (root / "out/x.zip").read_bytes(), (root / "entries.txt").read_text()


def test_same_inputs_same_bytes_whatever_mtime_and_umask(tmp_path: Path) -> None:
    make_tree(tmp_path / "a", mtime=1_000_000_000, umask=0o022)
    make_tree(tmp_path / "b", mtime=1_700_000_000, umask=0o077)
    zip_a, entries_a = build(tmp_path / "a")
    zip_b, entries_b = build(tmp_path / "b")
    assert zip_a == zip_b
    assert entries_a == entries_b


def test_the_spec_from_the_environment_or_a_file(tmp_path: Path) -> None:
    make_tree(tmp_path / "a", mtime=1_000_000_000, umask=0o022)
    make_tree(tmp_path / "b", mtime=1_000_000_000, umask=0o022)
    assert build(tmp_path / "a", spec_in_env=True) == build(tmp_path / "b")


def test_same_bytes_when_built_on_windows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_tree(tmp_path / "a", mtime=1_000_000_000, umask=0o022)
    make_tree(tmp_path / "b", mtime=1_000_000_000, umask=0o022)
    zip_a, _ = build(tmp_path / "a")
    # zipfile records the building OS in every entry; the tool pins it to Unix, whose permission
    # bits Lambda reads.
    monkeypatch.setattr(sys, "platform", "win32")
    zip_b, _ = build(tmp_path / "b")
    assert zip_a == zip_b


def test_contents_modes_and_entries(tmp_path: Path) -> None:
    make_tree(tmp_path, mtime=1_000_000_000, umask=0o022)
    build(tmp_path)
    zf = zipfile.ZipFile(tmp_path / "out/x.zip")
    # Bytecode, the dropped distribution and console scripts are left out.
    assert zf.namelist() == [
        "python/keep-2.0.dist-info/RECORD",
        "python/keep/__init__.py",
        "python/pkg/mod.py",
        "python/run.sh",
    ]
    modes = {info.filename: info.external_attr >> 16 for info in zf.infolist()}
    assert modes["python/run.sh"] == 0o100755
    assert modes["python/pkg/mod.py"] == 0o100644
    assert {info.date_time for info in zf.infolist()} == {(1980, 1, 1, 0, 0, 0)}
    # No extra fields: nothing records the owner (uid/gid) or another timestamp.
    assert {info.extra for info in zf.infolist()} == {b""}
    assert sum(info.file_size for info in zf.infolist()) == (
        len("keep/__init__.py,,\n") + len("X = 1\n") + len("#!/bin/sh\n")
    )
    listing = [line.split(" ", 2) for line in (tmp_path / "entries.txt").read_text().splitlines()]
    assert [path for _, _, path in listing] == zf.namelist()
    for sha256, size, path in listing:
        content = zf.read(path)
        assert (sha256, int(size)) == (hashlib.sha256(content).hexdigest(), len(content))


def test_two_sources_writing_one_path_is_an_error(tmp_path: Path) -> None:
    for name in ("a", "b"):
        (tmp_path / name / "m").mkdir(parents=True)
        (tmp_path / name / "m" / "x.py").write_text(name)
    with pytest.raises(
        zip_tool.ZipSpecError, match="two inputs ship 'm/x.py': its sources and its requirements"
    ):
        zip_tool.collect_entries(
            [
                {"dir": str(tmp_path / "a"), "label": "its sources"},
                {"dir": str(tmp_path / "b"), "label": "its requirements"},
            ]
        )


def test_paths_escaping_the_root_are_refused(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x.py").write_text("")
    with pytest.raises(zip_tool.ZipSpecError, match="escapes the ZIP root"):
        zip_tool.collect_entries([{"dir": str(tmp_path / "a"), "prefix": "../"}])
