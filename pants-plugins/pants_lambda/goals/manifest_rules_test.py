from __future__ import annotations

import hashlib
import json
from textwrap import dedent

import pytest

from pants.core.goals.package import BuiltPackage
from pants.engine.addresses import Address
from pants.engine.fs import DigestContents
from pants.engine.internals.scheduler import ExecutionError
from pants.testutil.rule_runner import RuleRunner

from pants_lambda.conftest import REPO, check_golden_compilers
from pants_lambda.goals.manifest_rules import LambdaManifestFieldSet

# The manifest's bytes for the inputs below (it embeds the golden ZIP hashes of
# function_rules_test.py, bytecode included). Update it only with a deliberate change to the
# manifest format or the ZIPs (last: bytecode in every ZIP).
GOLDEN_MANIFEST_SHA256 = "64b4c86a788f3506f3ce5c40d1329299d1c49dfd1d0511841b147d06d7be90b1"

FUNCTIONS = {
    "src/python/jobs/BUILD": dedent(
        """\
        python_sources(name="src")
        lambda_function(name="nightly", handler="nightly.py:run", runtime="python3.13")
        """
    ),
    "src/python/jobs/nightly.py": "from shared.text import slug\n\ndef run(event, context):\n    return slug('x')\n",
}


def package_manifest(rule_runner: RuleRunner, build: str) -> dict[str, bytes]:
    rule_runner.write_files({**REPO, **FUNCTIONS, "infrastructure/app/BUILD": build})
    target = rule_runner.get_target(Address("infrastructure/app", target_name="manifest"))
    built = rule_runner.request(BuiltPackage, [LambdaManifestFieldSet.create(target)])
    return {fc.path: fc.content for fc in rule_runner.request(DigestContents, [built.digest])}


def test_manifest_lists_functions_and_their_layers(rule_runner: RuleRunner) -> None:
    contents = package_manifest(
        rule_runner,
        'lambda_manifest(name="manifest", functions=["src/python/jobs:nightly", "src/python/app:fn"])',
    )
    # The manifest ships with the ZIPs it lists.
    assert sorted(contents) == [
        "infrastructure.app/manifest.json",
        "layers.shared/shared.json",
        "layers.shared/shared.zip",
        "src.python.app/fn.json",
        "src.python.app/fn.zip",
        "src.python.jobs/nightly.json",
        "src.python.jobs/nightly.zip",
    ]
    text = contents["infrastructure.app/manifest.json"].decode()
    manifest = json.loads(text)
    assert text == json.dumps(manifest, indent=2, sort_keys=True) + "\n"
    check_golden_compilers()
    assert hashlib.sha256(text.encode()).hexdigest() == GOLDEN_MANIFEST_SHA256
    assert manifest["module"] == "app"
    assert sorted(manifest["functions"]) == ["fn", "nightly"]
    fn = manifest["functions"]["fn"]
    fn_meta = json.loads(contents["src.python.app/fn.json"])
    assert fn == {
        "architectures": ["arm64"],
        "filename": "../../dist/src.python.app/fn.zip",
        "handler": "app.handler.handler",
        "layers": ["shared"],
        "runtime": "python3.12",
        "upload": "direct",
        **{k: fn_meta[k] for k in ("sha256", "size", "source_code_hash", "unzipped_size")},
    }
    layer_meta = json.loads(contents["layers.shared/shared.json"])
    assert manifest["layers"] == {
        "shared": {
            "compatible_architectures": ["arm64"],
            "compatible_runtimes": ["python3.12", "python3.13"],
            "filename": "../../dist/layers.shared/shared.zip",
            "upload": "direct",
            **{k: layer_meta[k] for k in ("sha256", "size", "source_code_hash", "unzipped_size")},
        }
    }


@pytest.mark.parametrize(
    "build, message",
    [
        (
            'lambda_manifest(name="manifest", functions=["src/python/app:fn", "src/python/app:fn"])',
            "`functions` field of infrastructure/app:manifest lists a function more than once "
            "(src/python/app:fn)",
        ),
        (
            'lambda_manifest(name="manifest", functions=["layers/shared"])',
            "lists layers/shared:shared (a `lambda_layer`); it takes `lambda_function` targets only",
        ),
        (
            'lambda_manifest(name="manifest", functions=["src/python/app:missing"])',
            "The address src/python/app:missing from the `functions` from the target "
            "infrastructure/app:manifest does not exist",
        ),
    ],
)
def test_bad_manifests(rule_runner: RuleRunner, build: str, message: str) -> None:
    with pytest.raises(ExecutionError) as error:
        package_manifest(rule_runner, build)
    assert message in str(error.value)


def test_two_functions_with_one_name(rule_runner: RuleRunner) -> None:
    rule_runner.write_files(
        {
            "src/python/other/BUILD": 'python_sources(name="src")\n'
            'lambda_function(name="fn", handler="h.py:handler")',
            "src/python/other/h.py": "def handler(event, context):\n    return 1\n",
        }
    )
    with pytest.raises(ExecutionError) as error:
        package_manifest(
            rule_runner,
            'lambda_manifest(name="manifest", functions=["src/python/app:fn", "src/python/other:fn"])',
        )
    assert "brings in two functions named 'fn': src/python/app:fn and src/python/other:fn" in str(
        error.value
    )


def test_artifact_outside_the_repository(rule_runner: RuleRunner) -> None:
    rule_runner.write_files(
        {
            "src/python/other/BUILD": 'python_sources(name="src")\n'
            'lambda_function(name="out", handler="h.py:handler", output_path="../../elsewhere/out.zip")',
            "src/python/other/h.py": "def handler(event, context):\n    return 1\n",
        }
    )
    with pytest.raises(ExecutionError) as error:
        package_manifest(
            rule_runner, 'lambda_manifest(name="manifest", functions=["src/python/other:out"])'
        )
    assert (
        "The `output_path` field of src/python/other:out is '../../elsewhere/out.zip', which "
        "leaves `--distdir`"
    ) in str(error.value)


def test_module_name_and_output_path(rule_runner: RuleRunner) -> None:
    contents = package_manifest(
        rule_runner,
        'lambda_manifest(name="manifest", module="payments", output_path="tf/payments.json",\n'
        '                functions=["src/python/jobs:nightly"])',
    )
    manifest = json.loads(contents["tf/payments.json"])
    assert manifest["module"] == "payments"
    assert manifest["layers"] == {}
    # Relative to infrastructure/app, where Terraform runs: ../../ is the repository root.
    assert manifest["functions"]["nightly"]["filename"] == "../../dist/src.python.jobs/nightly.zip"


def test_two_layers_with_one_name(rule_runner: RuleRunner) -> None:
    rule_runner.write_files(
        {
            "layers/other/BUILD": 'lambda_layer(name="shared", runtime="python3.12", '
            'architecture="arm64", dependencies=["src/python/shared/text.py"])',
            "src/python/other/BUILD": 'python_sources(name="src")\n'
            'lambda_function(name="other", handler="h.py:handler", architecture="arm64", '
            'layers=["layers/other:shared"])',
            "src/python/other/h.py": "def handler(event, context):\n    return 1\n",
        }
    )
    with pytest.raises(ExecutionError) as error:
        package_manifest(
            rule_runner,
            'lambda_manifest(name="manifest", functions=["src/python/app:fn", '
            '"src/python/other"])',
        )
    message = str(error.value)
    assert "brings in two layers named 'shared'" in message
    assert "layers/other:shared" in message and "layers/shared:shared" in message
