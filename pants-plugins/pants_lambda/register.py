"""AWS Lambda functions and layers, packaged as byte-reproducible ZIPs for Terraform.

Add `pants_lambda` to `[GLOBAL].backend_packages` (with `pants.backend.python`).
"""

from pants_lambda import platforms
from pants_lambda.artifacts import function_rules, layer_rules, zip_rules
from pants_lambda.checks import (
    handler_rules,
    import_rules,
    runtime_lifecycle,
    runtime_packages,
    secret_scan,
)
from pants_lambda.goals import drift_rules, manifest_rules, run_rules, sync_rules
from pants_lambda.platform_lock import platform_lock_rules, platform_lock_targets
from pants_lambda.subsystems import boto3_tool
from pants_lambda.targets import manifest_target_types
from pants_lambda.targets import target_types as lambda_target_types
from pants_lambda.util_rules import closure_rules, requirements_rules, runtime_interpreter


def target_types():
    return [*lambda_target_types.target_types(), *manifest_target_types.target_types()]


def rules():
    return [
        *closure_rules.rules(),
        *requirements_rules.rules(),
        *platform_lock_rules.rules(),
        *platform_lock_targets.rules(),
        *platforms.rules(),
        *zip_rules.rules(),
        *layer_rules.rules(),
        *function_rules.rules(),
        *handler_rules.rules(),
        *import_rules.rules(),
        *runtime_interpreter.rules(),
        *runtime_packages.rules(),
        *runtime_lifecycle.rules(),
        *manifest_rules.rules(),
        *run_rules.rules(),
        *boto3_tool.rules(),
        *drift_rules.rules(),
        *sync_rules.rules(),
        *secret_scan.rules(),
    ]
