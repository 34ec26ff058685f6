"""What the plugin's tests share: a RuleRunner with the plugin and the Python backend, a small
repository, and helpers that package a target and read its ZIP."""

from __future__ import annotations

import io
import json
import os
import zipfile
from textwrap import dedent
from typing import Iterable

import pytest

from pants.backend.python import target_types_rules
from pants.backend.python.target_types import (
    PythonRequirementTarget,
    PythonSourcesGeneratorTarget,
    PythonSourceTarget,
)
from pants.core.goals.package import BuiltPackage
from pants.core.target_types import FilesGeneratorTarget, FileTarget, ResourcesGeneratorTarget
from pants.core.target_types import rules as core_target_types_rules
from pants.engine.addresses import Address
from pants.engine.fs import DigestContents
from pants.engine.internals.scheduler import ExecutionError
from pants.engine.rules import QueryRule
from pants.testutil.rule_runner import RuleRunner

from e2e import clones
from e2e.clones import interpreter_for

from pants_lambda import register
from pants_lambda.util_rules.closure_rules import (
    LambdaClosure,
    LambdaClosureRequest,
    RequirementStrings,
    RequirementStringsRequest,
)
from pants_lambda.artifacts.function_rules import LambdaFunctionFieldSet
from pants_lambda.artifacts.layer_rules import LambdaLayerFieldSet
from pants_lambda.goals.manifest_rules import LambdaManifestFieldSet


@pytest.fixture
def rule_runner() -> RuleRunner:
    return make_rule_runner()


def make_rule_runner(*extra_rules, target_types=()) -> RuleRunner:
    runner = RuleRunner(
        rules=[
            *register.rules(),
            *extra_rules,
            *target_types_rules.rules(),
            *core_target_types_rules(),
            QueryRule(BuiltPackage, [LambdaFunctionFieldSet]),
            QueryRule(BuiltPackage, [LambdaLayerFieldSet]),
            QueryRule(BuiltPackage, [LambdaManifestFieldSet]),
            QueryRule(LambdaClosure, [LambdaClosureRequest]),
            QueryRule(RequirementStrings, [RequirementStringsRequest]),
        ],
        target_types=[
            *register.target_types(),
            PythonSourcesGeneratorTarget,
            PythonSourceTarget,
            PythonRequirementTarget,
            FilesGeneratorTarget,
            FileTarget,
            ResourcesGeneratorTarget,
            *target_types,
        ],
    )
    set_options(runner)
    return runner


def local_interpreter(runtime: str) -> str:
    """A CPython of a Lambda runtime (`python3.12`) on this machine: the end-to-end tests' own."""
    found = interpreter_for(runtime)
    if not found:
        pytest.fail(f"this test runs {runtime} code, and no CPython of it was found")
    return found


def machine_options() -> list[str]:
    """What every Pants run here needs from the machine: the CA bundle the `./pants` launcher
    found (pants.toml passes it to tests). The plugin isolates its own processes from pip's
    configuration."""
    ca_certs = os.environ.get("PANTS_CA_CERTS_PATH")
    return [f"--ca-certs-path={ca_certs}"] if ca_certs else []


# The pex tool the `./pants` launcher built (Pants would download it from GitHub).
ENV_INHERIT = {
    "PATH",
    "PYENV_ROOT",
    "HOME",
    "PANTS_PEX_CLI_VERSION",
    "PANTS_PEX_CLI_KNOWN_VERSIONS",
    "PANTS_PEX_CLI_URL_TEMPLATE",
}


def option_args(
    runtime: str = "python3.12",
    resolves: bool = True,
    extra: Iterable[str] = (),
    source_roots: str = "['src/python']",
) -> list[str]:
    resolve_options = [
        "--python-enable-resolves",
        "--python-resolves={'lambda': '3rdparty/lambda.lock'}",
        "--python-default-resolve=lambda",
    ]
    return [
        *machine_options(),
        *(resolve_options if resolves else []),
        *extra,
        f"--source-root-patterns={source_roots}",
        "--python-infer-use-rust-parser",
        f"--lambda-runtime={runtime}",
    ]


def set_options(runner: RuleRunner, **options) -> None:
    runner.set_options(option_args(**options), env_inherit=ENV_INHERIT)


# The CPython releases the golden hashes' bytecode was compiled with (function_rules_test.py).
GOLDEN_COMPILERS = {"python3.12": "3.12.1", "python3.13": "3.13.0"}


def check_golden_compilers() -> None:
    clones.check_golden_compilers(GOLDEN_COMPILERS)


# A function and a layer of first-party code, shared by the packaging tests.
REPO = {
    "src/python/shared/BUILD": "python_sources()",
    "src/python/shared/db.py": "def get(key):\n    return {'id': key}\n",
    "src/python/shared/text.py": "def slug(v):\n    return '-'.join(v.lower().split())\n",
    "src/python/shared/unused.py": "VALUE = 1\n",
    "src/python/app/BUILD": dedent(
        """\
        python_sources(name="src")
        lambda_function(
            name="fn",
            handler="handler.py:handler",
            architecture="arm64",
            layers=["layers/shared"],
        )
        """
    ),
    "src/python/app/handler.py": dedent(
        """\
        from shared import db
        from shared.text import slug

        def handler(event, context):
            return {"row": db.get("u1"), "slug": slug("A B")}
        """
    ),
    "layers/shared/BUILD": dedent(
        """\
        lambda_layer(
            name="shared",
            architecture="arm64",
            compatible_runtimes=["python3.12", "python3.13"],
            dependencies=["src/python/shared/db.py", ":bin"],
        )
        files(name="bin", sources=["bin/*"])
        """
    ),
    "layers/shared/bin/tool": "#!/bin/sh\necho tool\n",
}


def zip_listing(
    rule_runner: RuleRunner, built: BuiltPackage
) -> tuple[dict, dict[str, zipfile.ZipInfo], dict]:
    contents = {fc.path: fc.content for fc in rule_runner.request(DigestContents, [built.digest])}
    (zip_path,) = (path for path in contents if path.endswith(".zip"))
    (json_path,) = (path for path in contents if path.endswith(".json"))
    zf = zipfile.ZipFile(io.BytesIO(contents[zip_path]))
    files = {info.filename: zf.read(info) for info in zf.infolist()}
    return files, {info.filename: info for info in zf.infolist()}, json.loads(contents[json_path])


def package(rule_runner: RuleRunner, address: Address) -> BuiltPackage:
    target = rule_runner.get_target(address)
    field_set_type = (
        LambdaFunctionFieldSet
        if LambdaFunctionFieldSet.is_applicable(target)
        else LambdaLayerFieldSet
    )
    return rule_runner.request(BuiltPackage, [field_set_type.create(target)])



def package_error(rule_runner: RuleRunner, address: Address) -> str:
    """The error that packaging the target at `address` fails with."""
    with pytest.raises(ExecutionError) as error:
        package(rule_runner, address)
    return str(error.value)