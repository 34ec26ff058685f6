"""`pants lambda-drift`: is what runs in AWS what this commit builds?

For each `lambda_manifest`, the goal packages the manifest (exactly the bytes `package` writes),
names each function and layer as the reference Terraform does (`<name_prefix><module>-<key>`),
and runs `drift_tool.py` with boto3 in the `[boto3]` tool's PEX: it compares each function's
deployed `CodeSha256` and each layer's newest version with the local `source_code_hash`. The
process talks to AWS, so it is never cached.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from pants.backend.python.target_types import EntryPoint
from pants.backend.python.util_rules.pex import PexRequest, VenvPex, VenvPexProcess
from pants.core.goals.package import BuiltPackage, EnvironmentAwarePackageRequest
from pants.engine.addresses import Address
from pants.engine.console import Console
from pants.engine.env_vars import EnvironmentVars, EnvironmentVarsRequest
from pants.engine.fs import (
    CreateDigest,
    Digest,
    DigestContents,
    DigestSubset,
    FileContent,
    MergeDigests,
    PathGlobs,
)
from pants.engine.goal import Goal, GoalSubsystem
from pants.engine.process import FallibleProcessResult, ProcessCacheScope
from pants.engine.rules import Get, MultiGet, collect_rules, goal_rule
from pants.engine.target import Targets
from pants.option.option_types import StrOption
from pants.util.logging import LogLevel
from pants.util.strutil import softwrap

from pants_lambda.subsystems.boto3_tool import DRIFT_TOOL_MODULE, SYNC_TOOL_MODULE, Boto3Tool
from pants_lambda.goals.manifest_rules import LambdaManifestFieldSet
from pants_lambda.util_rules.scripts import script_source

_SPEC = "__lambda_drift_spec.json"
# Read as text: they import boto3, which only the tool's PEX has.
_TOOL_SOURCE = script_source("drift_tool.py")
_SYNC_TOOL_SOURCE = script_source("sync_tool.py")
# What boto3 reads from the environment: region, profile, credentials, endpoint, CA bundle.
_AWS_ENV = (
    "AWS_ACCESS_KEY_ID",
    "AWS_CA_BUNDLE",
    "AWS_CONFIG_FILE",
    "AWS_DEFAULT_REGION",
    "AWS_EC2_METADATA_DISABLED",
    "AWS_ENDPOINT_URL",
    "AWS_PROFILE",
    "AWS_REGION",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SHARED_CREDENTIALS_FILE",
    "HOME",
)


class DeployedLambdaOptions(GoalSubsystem):
    """How a goal that talks to AWS names and reaches what the reference Terraform deployed."""

    name_prefix = StrOption(
        default="",
        help=softwrap(
            """
            The `name_prefix` the reference Terraform module was given: deployed names are
            `<name_prefix><module>-<function or layer>`, e.g. `prod-access-profiles`.
            """
        ),
    )
    endpoint_url = StrOption(
        default=None,
        help=softwrap(
            """
            Send the AWS API calls to this URL instead of AWS (a local emulator such as moto or
            LocalStack). Default: `AWS_ENDPOINT_URL` if set, else AWS itself.
            """
        ),
    )
    region = StrOption(
        default=None,
        help="The AWS region; default: AWS_REGION, AWS_DEFAULT_REGION or the profile's.",
    )
    profile = StrOption(default=None, help="The AWS profile; default: AWS_PROFILE or `default`.")

    def aws_spec(self) -> dict:
        return {"endpoint_url": self.endpoint_url, "region": self.region, "profile": self.profile}


class LambdaDriftSubsystem(DeployedLambdaOptions):
    name = "lambda-drift"
    help = softwrap(
        """
        Compare what `lambda_manifest` targets build with what is deployed in AWS: each function's
        `CodeSha256` and each layer's newest version. Reports `in sync`, `changed`,
        `not deployed` and, for functions, `layers differ`; exits non-zero on any drift.
        Example: `pants lambda-drift --name-prefix=prod- infrastructure::`.
        """
    )


class LambdaDrift(Goal):
    subsystem_cls = LambdaDriftSubsystem
    environment_behavior = Goal.EnvironmentBehavior.LOCAL_ONLY


def deployed_names(manifest: dict, prefix: str) -> dict:
    module = manifest["module"]
    return {
        "module": module,
        "functions": {
            key: {
                "name": f"{prefix}{module}-{key}",
                "source_code_hash": function["source_code_hash"],
                "layers": function["layers"],
            }
            for key, function in manifest["functions"].items()
        },
        "layers": {
            key: {"name": f"{prefix}{module}-{key}", "source_code_hash": layer["source_code_hash"]}
            for key, layer in manifest["layers"].items()
        },
    }


@dataclass(frozen=True)
class PackagedManifest:
    address: Address  # The `lambda_manifest`.
    manifest: dict  # The manifest's JSON, as `package` writes it.
    package: BuiltPackage  # The manifest and every ZIP it lists, at their paths under `dist/`.


async def package_manifests(targets: Targets) -> list[PackagedManifest]:
    """The `lambda_manifest` targets among `targets`, packaged exactly as `package` does."""
    field_sets = [
        LambdaManifestFieldSet.create(tgt)
        for tgt in targets
        if LambdaManifestFieldSet.is_applicable(tgt)
    ]
    packages = await MultiGet(
        Get(BuiltPackage, EnvironmentAwarePackageRequest(field_set)) for field_set in field_sets
    )
    manifests = await MultiGet(
        Get(DigestContents, DigestSubset(package.digest, PathGlobs([package.artifacts[0].relpath])))
        for package in packages
    )
    return [
        PackagedManifest(field_set.address, json.loads(contents[0].content), package)
        for field_set, contents, package in zip(field_sets, manifests, packages)
    ]


async def run_boto3_tool(
    boto3: Boto3Tool,
    main: str,
    spec: dict,
    inputs: tuple[Digest, ...],
    description: str,
) -> FallibleProcessResult:
    """Runs a tool of this plugin (`main`, a module beside the drift tool's in the sandbox) with
    boto3 in the `[boto3]` tool's PEX, never cached: it talks to AWS."""
    sources, aws_env = await MultiGet(
        Get(
            Digest,
            CreateDigest(
                [
                    FileContent(f"{DRIFT_TOOL_MODULE}.py", _TOOL_SOURCE),
                    FileContent(f"{SYNC_TOOL_MODULE}.py", _SYNC_TOOL_SOURCE),
                    FileContent(_SPEC, json.dumps(spec, indent=1, sort_keys=True).encode()),
                ]
            ),
        ),
        Get(EnvironmentVars, EnvironmentVarsRequest(_AWS_ENV)),
    )
    tool = await Get(
        VenvPex,
        PexRequest,
        # Always the tool's own constraints, which its lockfile was generated for.
        boto3.to_pex_request(
            interpreter_constraints=boto3.interpreter_constraints,
            sources=sources,
            main=EntryPoint(main),
        ),
    )
    input_digest = await Get(Digest, MergeDigests([sources, *inputs]))
    return await Get(
        FallibleProcessResult,
        VenvPexProcess(
            tool,
            argv=(_SPEC,),
            input_digest=input_digest,
            extra_env={name: value for name, value in aws_env.items() if value},
            description=description,
            level=LogLevel.DEBUG,
            # It asks (or changes) AWS, whose answer changes without any input changing.
            cache_scope=ProcessCacheScope.PER_SESSION,
        ),
    )


def no_manifests(console: Console, goal: str) -> None:
    console.print_stderr(
        "No `lambda_manifest` targets among the arguments: give their addresses, e.g. "
        f"`pants {goal} infrastructure::`."
    )


@goal_rule
async def lambda_drift(
    console: Console, subsystem: LambdaDriftSubsystem, targets: Targets, boto3: Boto3Tool
) -> LambdaDrift:
    packaged = await package_manifests(targets)
    if not packaged:
        no_manifests(console, subsystem.name)
        return LambdaDrift(exit_code=2)
    spec = {
        **subsystem.aws_spec(),
        "manifests": [deployed_names(p.manifest, subsystem.name_prefix) for p in packaged],
    }
    result = await run_boto3_tool(
        boto3, DRIFT_TOOL_MODULE, spec, (), "Compare the deployed Lambda functions and layers "
        "with this build"
    )
    console.write_stdout(result.stdout.decode())
    console.write_stderr(result.stderr.decode())
    return LambdaDrift(exit_code=result.exit_code)


def rules():
    return collect_rules()
