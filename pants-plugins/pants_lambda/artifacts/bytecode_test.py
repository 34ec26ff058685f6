"""Bytecode in Lambda ZIPs: compiled by the runtime's CPython, hash-based, used at import."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from pants.engine.addresses import Address
from pants.testutil.rule_runner import RuleRunner

from pants_lambda.conftest import REPO, package, package_error, set_options, zip_listing
from pants_lambda.conftest import local_interpreter as interpreter

FUNCTION = Address("src/python/app", target_name="fn")
LAYER = Address("layers/shared", target_name="shared")


def code_filename(runtime: str, pyc: bytes) -> str:
    """The file name a `.pyc`'s code object carries, read by the runtime's CPython."""
    read = "import marshal, sys; print(marshal.loads(bytes.fromhex(sys.argv[1])[16:]).co_filename)"
    return subprocess.run(
        [interpreter(runtime), "-I", "-S", "-c", read, pyc.hex()],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


def test_function_zip_carries_unchecked_hash_bytecode(rule_runner: RuleRunner) -> None:
    rule_runner.write_files(REPO)
    files, infos, metadata = zip_listing(rule_runner, package(rule_runner, FUNCTION))
    pycs = sorted(name for name in files if name.endswith(".pyc"))
    assert pycs == [
        "app/__pycache__/handler.cpython-312.pyc",
        "shared/__pycache__/text.cpython-312.pyc",
    ]
    assert all(info.date_time == (1980, 1, 1, 0, 0, 0) for info in infos.values())
    # PEP 552: flags 0b01, hash-based and never checked against the source.
    assert {files[name][4:8] for name in pycs} == {b"\x01\x00\x00\x00"}
    assert metadata["bytecode"] == {
        "cache_tags": ["cpython-312"],
        "files": 2,
        "unzipped_size": sum(len(files[name]) for name in pycs),
    }
    pyc = files["app/__pycache__/handler.cpython-312.pyc"]
    assert code_filename("python3.12", pyc) == "/var/task/app/handler.py"


def test_the_runtime_imports_the_bytecode_whatever_the_sources_timestamps(
    rule_runner: RuleRunner, tmp_path: Path
) -> None:
    rule_runner.write_files(REPO)
    files, _, _ = zip_listing(rule_runner, package(rule_runner, FUNCTION))
    for name, content in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(content)
    # Sources newer than anything a timestamp-based .pyc would record, as after an unzip.
    for source in tmp_path.rglob("*.py"):
        subprocess.run(["touch", "-d", "2031-01-01", str(source)], check=True)
    verbose = subprocess.run(
        [
            interpreter("python3.12"),
            "-I",
            "-S",
            "-B",
            "-v",
            "-c",
            f"import sys; sys.path.insert(0, {str(tmp_path)!r}); import shared.text",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stderr
    pyc = tmp_path / "shared/__pycache__/text.cpython-312.pyc"
    # The import system's own report: the bytecode is used, nothing is compiled.
    assert f"# code object from '{pyc}'" in verbose, verbose
    assert f"# code object from {tmp_path / 'shared/text.py'}" not in verbose


def test_a_layer_for_several_runtimes_carries_each_ones_bytecode(rule_runner: RuleRunner) -> None:
    rule_runner.write_files(REPO)
    files, _, metadata = zip_listing(rule_runner, package(rule_runner, LAYER))
    assert sorted(name for name in files if name.endswith(".pyc")) == [
        "python/shared/__pycache__/db.cpython-312.pyc",
        "python/shared/__pycache__/db.cpython-313.pyc",
    ]
    assert metadata["bytecode"]["cache_tags"] == ["cpython-312", "cpython-313"]
    pyc = files["python/shared/__pycache__/db.cpython-313.pyc"]
    assert code_filename("python3.13", pyc) == "/opt/python/shared/db.py"


@pytest.mark.parametrize("switch", ["field", "option"])
def test_bytecode_can_be_switched_off(rule_runner: RuleRunner, switch: str) -> None:
    files = dict(REPO)
    if switch == "field":
        files["src/python/app/BUILD"] = files["src/python/app/BUILD"].replace(
            'layers=["layers/shared"],', 'layers=["layers/shared"], compile_bytecode=False,'
        )
    else:
        set_options(rule_runner, extra=["--lambda-compile-bytecode=false"])
    rule_runner.write_files(files)
    names, _, metadata = zip_listing(rule_runner, package(rule_runner, FUNCTION))
    assert not [name for name in names if name.endswith(".pyc")]
    assert "bytecode" not in metadata


def test_no_interpreter_of_the_runtime_names_both_ways_out(rule_runner: RuleRunner) -> None:
    set_options(rule_runner, extra=["--python-bootstrap-search-path=['/nonexistent/bin']"])
    rule_runner.write_files(REPO)
    # Without its layer, which would fail the same way first.
    rule_runner.write_files(
        {
            "src/python/app/BUILD": REPO["src/python/app/BUILD"].replace(
                'layers=["layers/shared"],', ""
            )
        }
    )
    message = package_error(rule_runner, FUNCTION)
    assert (
        "src/python/app:fn ships bytecode for python3.12 (its field `compile_bytecode`, or "
        "`[lambda].compile_bytecode` where it sets none), and no CPython 3.12 was found to "
        "compile it with. "
        "Pants looks for `python3.12` in `[python-bootstrap].search_path`"
    ) in message
    assert "/nonexistent/bin" in message
    assert "install CPython 3.12 (e.g. `pyenv install 3.12`)" in message
    assert "set `compile_bytecode=False` on src/python/app:fn" in message


def test_first_party_code_that_does_not_compile_names_the_file(rule_runner: RuleRunner) -> None:
    rule_runner.write_files(
        {
            **REPO,
            # Parses, but CPython's compiler rejects it; the handler module itself is fine.
            "src/python/shared/text.py": "def slug(v):\n    try:\n        pass\n"
            "    except* ValueError:\n        return v\n",
        }
    )
    message = package_error(rule_runner, FUNCTION)
    assert (
        "src/python/app:fn cannot be packaged for python3.12: its first-party Python sources and "
        "resources include shared/text.py, which CPython 3.12."
    ) in message
    assert "cannot appear in an except* block (line 5): return v" in message


def test_the_zip_tool_skips_third_party_files_that_do_not_compile(tmp_path: Path) -> None:
    # A distribution may ship files for other Python versions: they get no bytecode.
    (tmp_path / "in/pkg").mkdir(parents=True)
    (tmp_path / "in/pkg/ok.py").write_text("X = 1\n")
    (tmp_path / "in/pkg/py2.py").write_text("print 'old'\n")
    spec = {
        "bytecode_output": str(tmp_path / "out"),
        "mount": "/opt/",
        "sources": [
            {"dir": str(tmp_path / "in"), "label": "its requirements", "compile": "lenient"}
        ],
    }
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    tool = Path(__file__).parent.parent / "sandbox/zip_tool.py"
    subprocess.run(
        [
            interpreter("python3.12"),
            "-S",
            "-s",
            str(tool),
            "--compile",
            str(tmp_path / "spec.json"),
        ],
        check=True,
        env={"PYTHONHASHSEED": "0"},
    )
    assert sorted(p.name for p in (tmp_path / "out/pkg/__pycache__").iterdir()) == [
        "ok.cpython-312.pyc"
    ]


def test_resources_are_shipped_and_never_compiled(rule_runner: RuleRunner) -> None:
    # A `.py` resource is data (here a template that is no valid Python): no bytecode, no error.
    files = dict(REPO)
    files["src/python/app/BUILD"] = (
        files["src/python/app/BUILD"].replace(
            'layers=["layers/shared"],', 'layers=["layers/shared"], dependencies=[":template"],'
        )
        + 'resources(name="template", sources=["template.py"])\n'
    )
    files["src/python/app/template.py"] = "Dear {name}, {{ not python }}\n"
    rule_runner.write_files(files)
    names, _, _ = zip_listing(rule_runner, package(rule_runner, FUNCTION))
    assert "app/template.py" in names
    assert not [name for name in names if "template" in name and name.endswith(".pyc")]
    assert "app/__pycache__/handler.cpython-312.pyc" in names
