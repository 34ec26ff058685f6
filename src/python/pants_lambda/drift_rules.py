"""`pants lambda-drift`: is what runs in AWS what this commit builds?

For each `lambda_manifest`, the goal packages the manifest (exactly the bytes `package` writes),
names each function and layer as the reference Terraform does (`<name_prefix><module>-<key>`),
and runs `drift_tool.py` with boto3 in the `[boto3]` tool's PEX: it compares each function's
deployed `CodeSha256` and each layer's newest version with the local `source_code_hash`. The
process talks to AWS, so it is never cached.
"""

from __future__ import annotations

import json

from pants.backend.python.util_rules.pex import PexRequest, VenvPex, VenvPexProcess
from pants.core.goals.package import BuiltPackage, EnvironmentAwarePackageRequest
from pants.engine.console import Console
from pants.engine.env_vars import EnvironmentVars, EnvironmentVarsRequest
from pants.engine.fs import (
    CreateDigest,
    Digest,
    DigestContents,
    DigestSubset,
    FileContent,
    PathGlobs,
)
from pants.engine.goal import Goal, GoalSubsystem
from pants.engine.process import FallibleProcessResult, ProcessCacheScope
from pants.engine.rules import Get, MultiGet, collect_rules, goal_rule
from pants.engine.target import Targets
from pants.option.option_types import StrOption
from pants.util.logging import LogLevel
from pants.util.strutil import softwrap

from pants_lambda.drift_subsystem import DRIFT_TOOL_MODULE, Boto3Tool
from pants_lambda.manifest_rules import LambdaManifestFieldSet
from pants_lambda.scripts import script_source

_SPEC = "__lambda_drift_spec.json"
# Read as text: it imports boto3, which only the tool's PEX has.
_TOOL_SOURCE = script_source("drift_tool.py")
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


class LambdaDriftSubsystem(GoalSubsystem):
    name = "lambda-drift"
    help = softwrap(
        """
        Compare what `lambda_manifest` targets build with what is deployed in AWS: each function's
        `CodeSha256` and each layer's newest version. Reports `in sync`, `changed`,
        `not deployed` and, for functions, `layers differ`; exits non-zero on any drift.
        Example: `pants lambda-drift --name-prefix=prod- infrastructure::`.
        """
    )

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


class LambdaDrift(Goal):
    subsystem_cls = LambdaDriftSubsystem
    environment_behavior = Goal.EnvironmentBehavior.LOCAL_ONLY


def _deployed_names(manifest: dict, prefix: str) -> dict:
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


@goal_rule
async def lambda_drift(
    console: Console, subsystem: LambdaDriftSubsystem, targets: Targets, boto3: Boto3Tool
) -> LambdaDrift:
    field_sets = [
        LambdaManifestFieldSet.create(tgt)
        for tgt in targets
        if LambdaManifestFieldSet.is_applicable(tgt)
    ]
    if not field_sets:
        console.print_stderr(
            "No `lambda_manifest` targets among the arguments: give their addresses, e.g. "
            "`pants lambda-drift infrastructure::`."
        )
        return LambdaDrift(exit_code=2)
    packages = await MultiGet(
        Get(BuiltPackage, EnvironmentAwarePackageRequest(field_set)) for field_set in field_sets
    )
    manifests = await MultiGet(
        Get(DigestContents, DigestSubset(package.digest, PathGlobs([package.artifacts[0].relpath])))
        for package in packages
    )
    spec = {
        "endpoint_url": subsystem.endpoint_url,
        "region": subsystem.region,
        "profile": subsystem.profile,
        "manifests": [
            _deployed_names(json.loads(contents[0].content), subsystem.name_prefix)
            for contents in manifests
        ],
    }
    inputs, aws_env = await MultiGet(
        Get(
            Digest,
            CreateDigest(
                [
                    FileContent(f"{DRIFT_TOOL_MODULE}.py", _TOOL_SOURCE),
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
        boto3.to_pex_request(interpreter_constraints=boto3.interpreter_constraints, sources=inputs),
    )
    result = await Get(
        FallibleProcessResult,
        VenvPexProcess(
            tool,
            argv=(_SPEC,),
            input_digest=inputs,
            extra_env={name: value for name, value in aws_env.items() if value},
            description="Compare the deployed Lambda functions and layers with this build",
            level=LogLevel.DEBUG,
            # It asks AWS, whose answer changes without any input changing.
            cache_scope=ProcessCacheScope.PER_SESSION,
        ),
    )
    console.write_stdout(result.stdout.decode())
    console.write_stderr(result.stderr.decode())
    return LambdaDrift(exit_code=result.exit_code)


def rules():
    return collect_rules()
