"""The README's "Use the plugin in your own repository", followed to the letter in a new repository.

The launcher and the plugin's modules are copied into an empty folder, `pants.toml` is the one the
README shows, the lockfile is generated there, and `./pants package ::` builds a python3.14
function (wheels from the index, pinned to the lockfile) and a python3.11 function whose
requirement comes from a layer, which then runs under the Lambda layout.
"""

from __future__ import annotations

import json
import re
import subprocess
import zipfile
from pathlib import Path

from e2e import new_repo
from e2e.clones import Clone, interpreter_for

FILES = {
    "BUILD": 'python_requirement(name="yaml", requirements=["PyYAML==6.0.3"])\n',
    "layers/BUILD": 'lambda_layer(name="yaml", runtime="python3.11", dependencies=["//:yaml"])\n',
    "src/report/BUILD": 'python_sources(name="src")\n'
    'lambda_function(name="report", handler="handler.py:handler", runtime="python3.11",\n'
    '                layers=["layers:yaml"])\n',
    "src/report/handler.py": "import yaml\n\n\ndef handler(event, context):\n"
    "    return {'yaml': yaml.safe_dump(event), 'libyaml': yaml.__with_libyaml__}\n",
    "src/newest/BUILD": 'python_sources(name="src")\n'
    'lambda_function(name="newest", handler="handler.py:handler", runtime="python3.14")\n',
    "src/newest/handler.py": "import yaml\n\n\ndef handler(event, context):\n"
    "    return yaml.safe_load('a: 1')\n",
}


def new_repository(base: Path) -> Clone:
    return new_repo.new_repository(base / "their-repo", base / "caches", FILES)


def test_the_readme_recipe_in_a_new_repository(tmp_path: Path) -> None:
    repo = new_repository(tmp_path)
    repo.pants("generate-lockfiles")
    assert (repo.root / "3rdparty/python/default.lock").is_file()
    result = repo.pants("package", "::")
    assert "Handler: report.handler.handler" in result.stderr

    dist = repo.root / "dist"
    newest = zipfile.ZipFile(dist / "src.newest/newest.zip").namelist()
    assert "newest/handler.py" in newest
    assert any(re.fullmatch(r"yaml/_yaml\.cpython-314-x86_64-linux-gnu\.so", n) for n in newest)

    report = json.loads((dist / "src.report/report.json").read_text())
    assert report["layers"] == ["yaml"] and report["file_count"] == 1
    task, opt = tmp_path / "task", tmp_path / "opt"
    zipfile.ZipFile(dist / "src.report/report.zip").extractall(task)
    zipfile.ZipFile(dist / "layers/yaml.zip").extractall(opt)
    python = interpreter_for("python3.11")
    assert python, "this test runs the python3.11 function, and no CPython 3.11 was found"
    ran = subprocess.run(
        [
            python,
            "-I",
            "-S",
            "-c",
            "import json, sys; sys.path[:0] = [sys.argv[1], sys.argv[2]]; "
            "from report.handler import handler; print(json.dumps(handler({'b': 2}, None)))",
            str(task),
            str(opt / "python"),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(ran.stdout) == {"yaml": "b: 2\n", "libyaml": True}


def test_a_requirement_missing_from_the_lockfile_fails_with_the_fix(tmp_path: Path) -> None:
    repo = new_repository(tmp_path)
    repo.pants("generate-lockfiles")
    # A requirement the lockfile does not hold, without generating the lockfile again.
    (repo.root / "BUILD").write_text(FILES["BUILD"].replace("6.0.3", "6.0.2"))
    result = repo.pants("package", "layers:yaml", check=False)
    assert result.returncode != 0
    assert (
        "The third-party requirements of the `lambda_layer` layers:yaml (PyYAML==6.0.2) cannot "
        "be pinned for python3.11 x86_64 from the lockfile 3rdparty/python/default.lock"
    ) in result.stderr, result.stderr
    assert "run `pants generate-lockfiles --resolve=python-default`" in result.stderr
    assert not (repo.root / "dist").exists()
