"""`./pants package ::` on a copy of this repository, checked the way Lambda would use the output."""

from __future__ import annotations

import json
import os
import random
import re
import subprocess
import zipfile
from pathlib import Path

import pytest

from e2e.clones import (
    Clone,
    check_golden_compilers,
    interpreter_for,
    lambda_outputs,
    make_clone,
)
from e2e.example import EXPECTED

# Exactly the first-party files each function ZIP holds: what its handler imports, minus layers
# (the `shared` layer holds every file of src/python/shared).
FIRST_PARTY = {
    "profiles": ["access/profiles/handler.py"],
    "sessions": ["access/sessions/handler.py", "shared/text.py"],
    "audit": ["access/audit/handler.py", "shared/text.py"],
    "tokens": ["access/tokens/handler.py"],
    "invoices": ["billing/invoices/handler.py"],
    "payments": ["billing/payments/handler.py", "shared/http.py"],
    "refunds": ["billing/refunds/handler.py"],
    "reports": ["billing/reports/handler.py", "shared/text.py"],
}

# Golden hashes: every third-party file comes hash-checked from a lockfile (3rdparty/python/lambda.lock
# up to python3.12, the Lambda platform lockfiles beside it for python3.13 and python3.14), so
# these bytes never change for the same commit, on any machine with the same CPython releases
# compiling the bytecode (GOLDEN_COMPILERS; the python3.14 layers carry none).
GOLDEN_SHA256 = {
    "layer:deps": "5e77131e630b745ee77f2c38344f1b9f88ecf8b39a37998b2ffa3ca72f6eaa53",
    "function:reports": "4a9e454802838792064b3e1b5406ebf4c253edfb821f7579296c4a9a7ff9b3dc",
    "function:profiles": "19348ac5ce4ca5acfa9e0578ed42aacb5f1371ff4e458c57a557d72ed5b1eb5a",
    "layer:shared": "444e2cfcc29773466e4609bd89e2340e87eb31457ce6996e47283677e31be29a",
    # python3.13 and python3.14, with pydantic's compiled core, on both architectures.
    "layer:pydantic-py313": "e8207b913471d634552eb0a63c09127444199e742659daa2f6f943d365914d78",
    "layer:deps-arm64": "34ef603a5af26f157db809fb42e9c6fd53a4040329105ed4f600d776ec97a4c5",
    "layer:pydantic-py314": "e4375f5c876db16521c4c0fa7b523569ca51ee9eb843c267455cc0095c38dc1d",
    "layer:pydantic-py314-arm64": "57339e3feb2d41d4775fcab215b5130983a342999e3a9625f225a8531434ac8a",
    # python3.13 x86_64 with requests and charset-normalizer's compiled extension bundled.
    "function:audit": "54ec890e8881f28d5fc674cf1cde298a2c58fae76e8b82f101340e80d8ac95af",
}
GOLDEN_COMPILERS = {
    "python3.11": "3.11.7",
    "python3.12": "3.12.1",
    "python3.13": "3.13.0",
}

# Runs a handler the way Lambda does: only the function (/var/task) and its layers (/opt/python)
# on top of the interpreter's standard library (-I -S: no site-packages, no environment).
RUNNER = """
import importlib, json, sys
task, opt, handler, event = sys.argv[1:5]
sys.path[:0] = [task, opt + "/python"]
module, _, func = handler.rpartition(".")
result = getattr(importlib.import_module(module), func)(json.loads(event), None)
print(json.dumps(result, sort_keys=True))
"""


def artifacts(dist: Path) -> dict[str, dict]:
    """Every ZIP's JSON description, keyed by `<kind>:<name>`, with its ZIP path added.

    Module manifests are JSON files too, but with no ZIP beside them: they are not artifacts."""
    described = {}
    for json_path in sorted(dist.glob("*/*.json")):
        if not json_path.with_suffix(".zip").is_file():
            continue
        metadata = json.loads(json_path.read_text())
        metadata["zip"] = json_path.with_suffix(".zip")
        described[f"{metadata['kind']}:{metadata['name']}"] = metadata
    return described


def test_handlers_return_the_expected_values_under_the_lambda_layout(
    packaged: Clone, tmp_path: Path
) -> None:
    described = artifacts(packaged.root / "dist")
    functions = {k: v for k, v in described.items() if k.startswith("function:")}
    assert sorted(m["handler"] for m in functions.values()) == sorted(EXPECTED)
    ran = set()
    for key, function in functions.items():
        python = interpreter_for(function["runtime"])
        if function["architectures"] != ["x86_64"] or python is None:
            continue  # An arm64 build cannot load here; test_arm64_layer checks its extension.
        task, opt = tmp_path / key / "task", tmp_path / key / "opt"
        zipfile.ZipFile(function["zip"]).extractall(task)
        for layer in function["layers"]:
            zipfile.ZipFile(described[f"layer:{layer}"]["zip"]).extractall(opt)
        event, expected = EXPECTED[function["handler"]]
        result = subprocess.run(
            [
                python,
                "-I",
                "-S",
                "-c",
                RUNNER,
                str(task),
                str(opt),
                function["handler"],
                json.dumps(event),
            ],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            # What Lambda sets, and no AWS credentials: the handlers need no network.
            env={"PATH": os.environ["PATH"], "HOME": str(tmp_path), "AWS_REGION": "us-east-1"},
        )
        assert result.returncode == 0, f"{key}: {result.stderr}"
        assert json.loads(result.stdout) == expected, key
        ran.add(function["runtime"])
    # Every runtime of the example whose interpreter is installed here really ran.
    wanted = {
        f["runtime"]
        for f in functions.values()
        if f["architectures"] == ["x86_64"] and interpreter_for(f["runtime"])
    }
    assert ran == wanted and len(ran) >= 3


def test_function_zips_hold_exactly_their_closure(packaged: Clone) -> None:
    described = artifacts(packaged.root / "dist")
    for name, expected in FIRST_PARTY.items():
        names = zipfile.ZipFile(described[f"function:{name}"]["zip"]).namelist()
        first_party = [
            n
            for n in names
            if n.split("/")[0] in ("access", "billing", "shared") and n.endswith(".py")
        ]
        assert first_party == expected, name
        # Beside each first-party .py, the bytecode of the function's runtime; no other bytecode.
        runtime = described[f"function:{name}"]["runtime"]
        tag = "cpython-" + runtime[len("python") :].replace(".", "")

        def bytecode_of(source: str) -> str:
            folder, module = os.path.split(source)
            return f"{folder}/__pycache__/{module[:-3]}.{tag}.pyc"

        assert {bytecode_of(n) for n in first_party} <= set(names), name
        pycs = [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
        assert {bytecode_of(n) for n in names if n.endswith(".py")} >= set(pycs), name
        assert not any(n.startswith("bin/") for n in names)
    # Functions whose layers provide every requirement ship no third-party code at all: their
    # first-party sources and those sources' bytecode.
    for name in ("profiles", "sessions", "tokens", "invoices", "payments", "refunds"):
        assert described[f"function:{name}"]["file_count"] == 2 * len(FIRST_PARTY[name]), name
    # Without layers, the requirements are bundled, for the function's own runtime.
    reports = zipfile.ZipFile(described["function:reports"]["zip"]).namelist()
    assert "yaml/__init__.py" in reports
    assert any(
        re.match(r"yaml/_yaml\.cpython-311-x86_64-linux-gnu\.so$", n) for n in reports
    ), reports
    audit = zipfile.ZipFile(described["function:audit"]["zip"]).namelist()
    assert {"requests/__init__.py", "urllib3/__init__.py", "certifi/__init__.py"} <= set(audit)


def test_arm64_layer_carries_an_aarch64_manylinux_extension(packaged: Clone) -> None:
    layer = artifacts(packaged.root / "dist")["layer:deps-arm64"]
    assert layer["compatible_architectures"] == ["arm64"]
    zf = zipfile.ZipFile(layer["zip"])
    (extension,) = [
        n for n in zf.namelist() if re.match(r"python/pydantic_core/_pydantic_core\..*\.so$", n)
    ]
    assert extension.endswith(".cpython-313-aarch64-linux-gnu.so")
    elf = zf.read(extension)
    assert elf[:4] == b"\x7fELF"
    assert int.from_bytes(elf[18:20], "little") == 183  # EM_AARCH64
    (wheel,) = [
        n for n in zf.namelist() if re.match(r"python/pydantic_core-[^/]+\.dist-info/WHEEL$", n)
    ]
    tags = re.findall(r"^Tag: (\S+)$", zf.read(wheel).decode(), re.MULTILINE)
    glibcs = [
        tuple(map(int, m)) for t in tags for m in re.findall(r"manylinux_(\d+)_(\d+)_aarch64", t)
    ]
    assert glibcs and min(glibcs) <= (2, 34)  # Amazon Linux 2023's glibc.


# Lambda's ELF machine numbers: EM_X86_64 and EM_AARCH64.
ELF_MACHINES = {"x86_64": 62, "arm64": 183}


def test_newest_runtimes_get_their_own_compiled_builds(packaged: Clone, tmp_path: Path) -> None:
    """pydantic's compiled core for python3.13 and python3.14, on x86_64 and arm64, from the
    Lambda platform lockfiles; the python3.13 x86_64 build really runs here."""
    described = artifacts(packaged.root / "dist")
    layers = {
        "pydantic-py313": ("python3.13", "x86_64"),
        "deps-arm64": ("python3.13", "arm64"),
        "pydantic-py314": ("python3.14", "x86_64"),
        "pydantic-py314-arm64": ("python3.14", "arm64"),
    }
    for name, (runtime, architecture) in layers.items():
        layer = described[f"layer:{name}"]
        assert layer["compatible_runtimes"] == [runtime], name
        assert layer["compatible_architectures"] == [architecture], name
        zf = zipfile.ZipFile(layer["zip"])
        (extension,) = [
            n for n in zf.namelist() if re.match(r"python/pydantic_core/_pydantic_core\..*\.so$", n)
        ]
        machine = "aarch64" if architecture == "arm64" else "x86_64"
        tag = f"cpython-{runtime[len('python'):].replace('.', '')}-{machine}-linux-gnu"
        assert extension.endswith(f".{tag}.so"), (name, extension)
        elf = zf.read(extension)
        assert elf[:4] == b"\x7fELF", name
        assert int.from_bytes(elf[18:20], "little") == ELF_MACHINES[architecture], name

    python = interpreter_for("python3.13")
    assert python, "this test loads the python3.13 layer, and no CPython 3.13 was found"
    opt = tmp_path / "opt"
    zipfile.ZipFile(described["layer:pydantic-py313"]["zip"]).extractall(opt)
    check = (
        "import sys; sys.path[:0] = [sys.argv[1]]; import pydantic; "
        "print(pydantic.TypeAdapter(list[int]).validate_python(['1', 2]))"
    )
    ran = subprocess.run(
        [python, "-I", "-S", "-c", check, str(opt / "python")], capture_output=True, text=True
    )
    assert ran.returncode == 0 and ran.stdout == "[1, 2]\n", ran.stderr


def test_golden_hashes(packaged: Clone) -> None:
    check_golden_compilers(GOLDEN_COMPILERS)
    described = artifacts(packaged.root / "dist")
    assert {key: described[key]["sha256"] for key in GOLDEN_SHA256} == GOLDEN_SHA256


def test_terraform_hashes_describe_the_zip(packaged: Clone) -> None:
    import base64
    import hashlib

    for key, metadata in artifacts(packaged.root / "dist").items():
        data = metadata["zip"].read_bytes()
        digest = hashlib.sha256(data)
        assert metadata["sha256"] == digest.hexdigest(), key
        assert metadata["source_code_hash"] == base64.b64encode(digest.digest()).decode(), key
        assert metadata["size"] == len(data), key


def test_same_bytes_from_another_clone_path_umask_clock_and_hash_seed(
    packaged: Clone, tmp_path_factory: pytest.TempPathFactory
) -> None:
    # Empty caches of its own: every process runs here, none is served from another build.
    clone = make_clone(tmp_path_factory.mktemp("a-much-longer-path") / "nested")
    rng = random.Random(7)
    for path in clone.root.rglob("*"):
        stamp = rng.randint(1_000_000_000, 1_800_000_000)
        os.utime(path, (stamp, stamp))
    for path in clone.root.rglob("*"):
        if path.is_file():
            path.chmod(path.stat().st_mode & ~0o077)  # A restrictive umask at clone time.
    clone.pants("package", "::", umask=0o077, extra_env={"PYTHONHASHSEED": "12345"})

    first, second = lambda_outputs(packaged.root), lambda_outputs(clone.root)
    assert sorted(first) == sorted(second)
    assert [k for k in first if first[k] != second[k]] == []
    assert len([k for k in first if k.endswith(".zip")]) == 14


def test_conflicting_versions_fail_without_writing_anything(
    tmp_path_factory: pytest.TempPathFactory, with_pantsd
) -> None:
    clone = with_pantsd(make_clone(tmp_path_factory.mktemp("conflict"), shared_caches=True))
    (clone.root / "src/python/legacy").mkdir(parents=True)
    (clone.root / "src/python/legacy/handler.py").write_text(
        "import requests\n\ndef handler(event, context):\n    return requests.__version__\n"
    )
    (clone.root / "src/python/legacy/BUILD").write_text(
        'python_requirement(name="requests", requirements=["requests==2.31.0"], resolve="legacy")\n'
        'python_sources(name="src", resolve="legacy")\n'
        'lambda_function(name="fn", handler="handler.py:handler", runtime="python3.12",\n'
        '                layers=["layers/deps"], resolve="legacy")\n'
    )
    # One more resolve on top of pants.toml's.
    resolves = "--python-resolves=+{'legacy': 'legacy.lock'}"
    clone.pants(resolves, "generate-lockfiles", "--resolve=legacy")
    result = clone.pants(resolves, "package", "::", check=False)
    assert result.returncode != 0
    assert (
        "src/python/legacy:fn needs requests==2.31.0, but its layer layers/deps:deps "
        "(field `layers`) provides requests==2.32.3"
    ) in result.stderr
    # Pants writes packages only once every one of them built: nothing, not even the good ones.
    assert not (clone.root / "dist").exists() or not any((clone.root / "dist").rglob("*.zip"))
