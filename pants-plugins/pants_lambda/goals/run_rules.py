"""`pants run` for `lambda_function`: the packaged bytes, called the way Lambda calls them.

The run goal materializes the function's ZIP, its layers' ZIPs, the runtime's own packages (boto3,
..., at the runtime's versions) and `lambda_runner.py` in a fresh temporary folder and starts the
runner on a local CPython of the function's runtime, found where Pants finds every interpreter
(`[python-bootstrap].search_path`). Arguments after `--` go to the
runner: `--event FILE|-`, `--timeout SECONDS`, `--memory MB`, `--env NAME=VALUE`. The target's
`memory_size`, `timeout` and `environment` are their defaults, and a `snap_start=True` function
runs its SnapStart hooks between init and the invocation, as Lambda does.
"""

from __future__ import annotations

from dataclasses import dataclass

from pants.core.goals.run import RunFieldSet, RunInSandboxBehavior, RunRequest
from pants.engine.env_vars import EnvironmentVars, EnvironmentVarsRequest
from pants.engine.fs import AddPrefix, Digest, MergeDigests
from pants.engine.platform import Platform
from pants.engine.rules import Get, MultiGet, collect_rules, rule
from pants.engine.target import InvalidFieldException, WrappedTarget, WrappedTargetRequest

from pants_lambda.artifacts.function_rules import (
    BuildLambdaFunctionRequest,
    BuiltLambdaFunction,
    LambdaFunctionFieldSet,
)
from pants_lambda.targets.function_settings import FunctionSettings
from pants_lambda.util_rules.runtime_interpreter import (
    RuntimeInterpreter,
    RuntimeInterpreterRequest,
)
from pants_lambda.checks.runtime_packages import InstalledRuntimePackages, RuntimePackagesRequest
from pants_lambda.targets.target_types import (
    LambdaArchitectureField,
    LambdaFunctionHandlerField,
    LambdaFunctionLayersField,
    LambdaRuntimeField,
)
from pants_lambda.util_rules import scripts
from pants_lambda.util_rules.scripts import Script, ScriptRequest

_RUNNER = "__lambda_runner.py"
_RUNTIME_PACKAGES = "__lambda_runtime_packages"

# The Lambda architecture each machine can run.
_NATIVE_ARCHITECTURE = {
    Platform.linux_x86_64: "x86_64",
    Platform.macos_x86_64: "x86_64",
    Platform.linux_arm64: "arm64",
    Platform.macos_arm64: "arm64",
}


class LambdaRunError(Exception):
    pass


@dataclass(frozen=True)
class LambdaFunctionRunFieldSet(RunFieldSet):
    required_fields = (LambdaFunctionHandlerField, LambdaFunctionLayersField)
    run_in_sandbox_behavior = RunInSandboxBehavior.NOT_SUPPORTED

    handler: LambdaFunctionHandlerField
    runtime: LambdaRuntimeField
    architecture: LambdaArchitectureField


async def _runtime_interpreter(field_set: LambdaFunctionRunFieldSet, runtime: str) -> str:
    interpreter = await Get(RuntimeInterpreter, RuntimeInterpreterRequest(runtime))
    if interpreter.path is None:
        raise LambdaRunError(
            f"{field_set.address} runs on {runtime}, and no CPython "
            f"{interpreter.python_version} was found to run it with. "
            f"{interpreter.where_pants_looked()}. Install it (e.g. `pyenv install "
            f"{interpreter.python_version}`) or add its folder to that option."
        )
    return interpreter.path


@rule(desc="Run a Lambda function under the Lambda layout")
async def run_lambda_function(
    field_set: LambdaFunctionRunFieldSet, platform: Platform
) -> RunRequest:
    wrapped = await Get(
        WrappedTarget,
        WrappedTargetRequest(field_set.address, description_of_origin="`pants run`"),
    )
    function = await Get(
        BuiltLambdaFunction,
        BuildLambdaFunctionRequest(LambdaFunctionFieldSet.create(wrapped.target)),
    )
    runtime, architecture = function.runtime, function.architecture
    native = _NATIVE_ARCHITECTURE.get(platform)
    if architecture != native:
        raise InvalidFieldException(
            f"{field_set.address} is built for {architecture} (field "
            f"`{LambdaArchitectureField.alias}`), and this machine runs {native or platform.value}"
            f": its compiled dependencies cannot load here. Run it on an {architecture} machine, "
            f'or set `{LambdaArchitectureField.alias}="{native}"` while trying it locally.'
        )
    # The user's region, if any, as the Lambda environment's AWS_REGION.
    aws_env = await Get(
        EnvironmentVars, EnvironmentVarsRequest(["AWS_REGION", "AWS_DEFAULT_REGION"])
    )
    interpreter = await _runtime_interpreter(field_set, runtime)
    runner, runtime_packages = await MultiGet(
        Get(Script, ScriptRequest("lambda_runner.py", _RUNNER)),
        Get(InstalledRuntimePackages, RuntimePackagesRequest(runtime, architecture)),
    )
    runtime_dir = await Get(Digest, AddPrefix(runtime_packages.digest, _RUNTIME_PACKAGES))
    digest = await Get(
        Digest,
        MergeDigests(
            [
                runner.digest,
                runtime_dir,
                function.zip.digest,
                *(layer.zip.digest for layer in function.layers),
            ]
        ),
    )
    return RunRequest(
        digest=digest,
        args=(
            interpreter,
            "-I",
            "-S",
            f"{{chroot}}/{_RUNNER}",
            "--chroot={chroot}",
            f"--function-zip={{chroot}}/{function.zip.zip_path}",
            *(f"--layer-zip={{chroot}}/{layer.zip.zip_path}" for layer in function.layers),
            f"--handler={function.handler}",
            f"--runtime={runtime}",
            f"--name={field_set.address.target_name}",
            f"--runtime-packages={{chroot}}/{_RUNTIME_PACKAGES}",
            *_settings_args(function.settings),
        ),
        extra_env={name: value for name, value in aws_env.items() if value},
    )


def _settings_args(settings: FunctionSettings) -> tuple[str, ...]:
    """The target's settings as the runner's defaults: the user's arguments after `--` come
    later, and win."""
    return (
        *([f"--memory={settings.memory_size}"] if settings.memory_size else []),
        *([f"--timeout={settings.timeout}"] if settings.timeout else []),
        *(f"--env={name}={value}" for name, value in sorted((settings.environment or {}).items())),
        *(["--snap-start"] if settings.snap_start else []),
    )


def rules():
    return [*collect_rules(), *LambdaFunctionRunFieldSet.rules(), *scripts.rules()]
