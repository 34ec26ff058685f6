"""A RuleRunner with the plugin and the Python backend, shared by the plugin's tests."""

from __future__ import annotations

import os
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
from pants.engine.rules import QueryRule
from pants.testutil.rule_runner import RuleRunner

from e2e.clones import interpreter_for

from pants_lambda import register
from pants_lambda.closure_rules import (
    LambdaClosure,
    LambdaClosureRequest,
    RequirementStrings,
    RequirementStringsRequest,
)
from pants_lambda.function_rules import LambdaFunctionFieldSet
from pants_lambda.layer_rules import LambdaLayerFieldSet
from pants_lambda.manifest_rules import LambdaManifestFieldSet


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
