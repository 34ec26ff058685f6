"""`generate-lockfiles` writes a resolve's lockfile and its Lambda platform lockfile from a local
folder of wheels, with no index: what PyPI serves decides nothing, and it is never reached."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from pants.backend.python.goals import lockfile as python_lockfile
from pants.core.goals import generate_lockfiles
from pants.core.goals.generate_lockfiles import GenerateLockfilesGoal
from pants.core.target_types import LockfilesGeneratorTarget, LockfileTarget
from pants.testutil.rule_runner import RuleRunner

from e2e.wheels import write_wheel

from pants_lambda.conftest import ENV_INHERIT, make_rule_runner, option_args

VERSIONS = ("1.0.0", "1.1.0", "2.0.0")


@pytest.fixture
def rule_runner() -> RuleRunner:
    return make_rule_runner(
        *generate_lockfiles.rules(),
        *python_lockfile.rules(),
        target_types=[LockfilesGeneratorTarget, LockfileTarget],
    )


def wheels(folder: Path) -> dict[str, str]:
    """Three releases of `greeting`, made here: file name -> sha256."""
    made = {}
    for version in VERSIONS:
        code = f"VERSION = {version!r}\n"
        wheel = write_wheel(folder, "greeting", version, {"greeting.py": code})
        made[wheel.name] = hashlib.sha256(wheel.read_bytes()).hexdigest()
    return made


def locked(text: str) -> list[tuple[str, str, str]]:
    """(project, version, artifact url) of every artifact of a pex lockfile."""
    lock = json.loads("\n".join(line for line in text.splitlines() if not line.startswith("//")))
    return [
        (req["project_name"], req["version"], artifact["url"])
        for resolve in lock["locked_resolves"]
        for req in resolve["locked_requirements"]
        for artifact in req["artifacts"]
    ]


def test_lockfiles_from_a_local_folder_without_an_index(
    rule_runner: RuleRunner, tmp_path: Path
) -> None:
    made = wheels(tmp_path / "wheels")
    rule_runner.write_files(
        {
            "3rdparty/BUILD": 'python_requirement(name="greeting", requirements=["greeting<2"])\n',
            "src/python/app/BUILD": 'python_sources(name="src")\n'
            # python3.13: pex 2.1.137 locks no cp313 wheel, so a Lambda platform lockfile
            # pins what that platform installs.
            'lambda_function(name="fn", handler="handler.py:handler", runtime="python3.13")\n',
            "src/python/app/handler.py": "import greeting\n\n\ndef handler(event, context):\n"
            "    return greeting.VERSION\n",
        }
    )
    global_args = option_args(
        extra=[
            "--python-repos-indexes=[]",
            f"--python-repos-find-links=['file://{tmp_path}/wheels']",
        ]
    )
    for resolve in ("lambda", "lambda.lambda-platforms"):
        result = rule_runner.run_goal_rule(
            GenerateLockfilesGoal,
            global_args=global_args,
            args=[f"--resolve={resolve}"],
            env_inherit=ENV_INHERIT,
        )
        assert result.exit_code == 0, result.stderr

    url = f"file://{tmp_path}/wheels/greeting-1.1.0-py2.py3-none-any.whl"
    resolve_lock = Path(rule_runner.build_root, "3rdparty/lambda.lock").read_text()
    assert locked(resolve_lock) == [("greeting", "1.1.0", url)]
    assert made["greeting-1.1.0-py2.py3-none-any.whl"] in resolve_lock
    platform_lock = Path(rule_runner.build_root, "3rdparty/lambda.python3.13-x86_64.lock")
    assert locked(platform_lock.read_text()) == [("greeting", "1.1.0", url)]
    assert made["greeting-1.1.0-py2.py3-none-any.whl"] in platform_lock.read_text()
