"""AWS Lambda functions and layers, packaged as byte-reproducible ZIPs for Terraform.

Add `pants_lambda` to `[GLOBAL].backend_packages` (with `pants.backend.python`).
"""

from pants_lambda import (
    closure_rules,
    drift_rules,
    drift_subsystem,
    function_rules,
    handler_rules,
    import_rules,
    layer_rules,
    manifest_rules,
    manifest_target_types,
    platform_lock_rules,
    platform_lock_targets,
    platforms,
    requirements_rules,
    run_rules,
    runtime_interpreter,
    runtime_lifecycle,
    runtime_packages,
    secret_scan,
    sync_rules,
    zip_rules,
)
from pants_lambda import target_types as lambda_target_types


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
        *drift_subsystem.rules(),
        *drift_rules.rules(),
        *secret_scan.rules(),
        *sync_rules.rules(),
    ]
