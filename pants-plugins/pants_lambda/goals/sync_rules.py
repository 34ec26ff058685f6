"""`pants lambda-sync`: bring a dev account's functions and layers to what this checkout builds.

The goal packages each `lambda_manifest` as `package` does, names its functions and layers as the
reference Terraform does (as `lambda-drift` does), and runs `sync_tool.py` with boto3 in the
`[boto3]` tool's PEX: it refuses any account `allowed_accounts` does not list, then makes only
the calls that close the gap (`UpdateFunctionCode`, `PublishLayerVersion` and the
`UpdateFunctionConfiguration` that repoints a function at a new layer version). With Pants'
`--loop`, every edit syncs what it changed.
"""

from __future__ import annotations

import os

from pants.core.util_rules.distdir import DistDir
from pants.engine.console import Console
from pants.engine.goal import Goal
from pants.engine.rules import collect_rules, goal_rule
from pants.engine.target import Targets
from pants.option.option_types import StrListOption
from pants.util.strutil import softwrap

from pants_lambda.goals.drift_rules import (
    DeployedLambdaOptions,
    PackagedManifest,
    deployed_names,
    no_manifests,
    package_manifests,
    run_boto3_tool,
)
from pants_lambda.quotas import DIRECT_UPLOAD_LIMIT
from pants_lambda.subsystems.boto3_tool import SYNC_TOOL_MODULE, Boto3Tool


class LambdaSyncSubsystem(DeployedLambdaOptions):
    name = "lambda-sync"
    help = softwrap(
        """
        Update a dev account's Lambda functions and layers to what `lambda_manifest` targets
        build, with the fewest calls: `UpdateFunctionCode` for each function whose code changed,
        `PublishLayerVersion` for each layer whose content changed, and the functions using a new
        layer version repointed to it. Creates and deletes nothing (that is Terraform's job), and
        refuses an account `allowed_accounts` does not list. With `--loop`, each edit syncs what
        it changed. Example: `pants --loop lambda-sync --name-prefix=dev- infrastructure::`.
        """
    )

    allowed_accounts = StrListOption(
        default=[],
        help=softwrap(
            """
            The AWS account ids `lambda-sync` may update (dev accounts). It asks
            `sts:GetCallerIdentity` first and exits non-zero before any update if the
            credentials' account is not listed. Example: `allowed_accounts = ["123456789012"]`.
            """
        ),
    )


class LambdaSync(Goal):
    subsystem_cls = LambdaSyncSubsystem
    environment_behavior = Goal.EnvironmentBehavior.LOCAL_ONLY


def _sync_spec(packaged: PackagedManifest, prefix: str, distdir: DistDir) -> dict:
    """What the sync tool needs of one manifest: names and hashes (as for drift), and each ZIP's
    path in the sandbox, where the package's digest puts it (relative to `dist/`)."""
    named = deployed_names(packaged.manifest, prefix)
    folder = packaged.address.spec_path or "."

    def zip_path(entry: dict) -> str:
        in_repo = os.path.normpath(os.path.join(folder, entry["filename"]))
        return os.path.relpath(in_repo, distdir.relpath)

    for kind in ("functions", "layers"):
        for key, entry in packaged.manifest[kind].items():
            named[kind][key].update(zip=zip_path(entry), upload=entry.get("upload", "direct"))
    for key, layer in packaged.manifest["layers"].items():
        named["layers"][key].update(
            compatible_runtimes=layer["compatible_runtimes"],
            compatible_architectures=layer["compatible_architectures"],
        )
    return named


@goal_rule
async def lambda_sync(
    console: Console,
    subsystem: LambdaSyncSubsystem,
    targets: Targets,
    boto3: Boto3Tool,
    distdir: DistDir,
) -> LambdaSync:
    packaged = await package_manifests(targets)
    if not packaged:
        no_manifests(console, subsystem.name)
        return LambdaSync(exit_code=2)
    spec = {
        **subsystem.aws_spec(),
        "allowed_accounts": list(subsystem.allowed_accounts),
        "direct_upload_limit": DIRECT_UPLOAD_LIMIT,
        "manifests": [_sync_spec(p, subsystem.name_prefix, distdir) for p in packaged],
    }
    result = await run_boto3_tool(
        boto3,
        SYNC_TOOL_MODULE,
        spec,
        tuple(p.package.digest for p in packaged),
        "Update the deployed Lambda functions and layers to this build",
    )
    console.write_stdout(result.stdout.decode())
    console.write_stderr(result.stderr.decode())
    return LambdaSync(exit_code=result.exit_code)


def rules():
    return collect_rules()
