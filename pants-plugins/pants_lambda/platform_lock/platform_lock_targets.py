"""Lambda targets depend on their Lambda platform lockfiles, so `--changed-since` sees them."""

from __future__ import annotations

import os
from dataclasses import dataclass

from pants.backend.python.subsystems.setup import PythonSetup
from pants.backend.python.target_types import PythonResolveField
from pants.engine.addresses import Address
from pants.engine.fs import PathGlobs, Paths
from pants.engine.internals.synthetic_targets import SyntheticAddressMaps, SyntheticTargetsRequest
from pants.engine.internals.target_adaptor import TargetAdaptor
from pants.engine.rules import Get, collect_rules, rule
from pants.engine.target import (
    FieldSet,
    InferDependenciesRequest,
    InferredDependencies,
    WrappedTarget,
    WrappedTargetRequest,
)
from pants.engine.unions import UnionRule

from pants_lambda.platform_lock.platform_lock_format import (
    admitted_runtimes,
    needs_platform_lock,
    platform_lock_path,
    platform_name,
    resolve_interpreter_constraints,
)
from pants_lambda.platform_lock.platform_lock_rules import target_platforms
from pants_lambda.platforms import ARCHITECTURES, RUNTIMES
from pants_lambda.subsystems.lambda_subsystem import LambdaSubsystem
from pants_lambda.targets.target_types import LambdaArchitectureField, LambdaRuntimeField

# Lambda targets depend on their platforms' lockfiles, as Pants' requirement targets depend on their
# resolve's lockfile: through synthetic `_lockfiles` targets, so that `--changed-since` selects the
# artifacts whose platform lockfile changed. Only existing files get one: a missing file is the
# build's clear error, not Pants' "file does not exist".


def synthetic_target_name(resolve: str, platform: str) -> str:
    return f"_{resolve}_{platform}_lockfile"


def candidate_platform_locks(python_setup: PythonSetup) -> dict[str, tuple[str, str]]:
    """Every path a Lambda platform lockfile may have -> (resolve, platform)."""
    if not (python_setup.enable_resolves and python_setup.enable_lockfile_targets):
        return {}
    return {
        platform_lock_path(lockfile, platform_name(runtime, architecture)): (
            resolve,
            platform_name(runtime, architecture),
        )
        for resolve, lockfile in python_setup.resolves.items()
        for runtime in admitted_runtimes(resolve_interpreter_constraints(python_setup, resolve))
        for architecture in ARCHITECTURES
    }


@dataclass(frozen=True)
class LambdaPlatformLockTargetsRequest(SyntheticTargetsRequest):
    path: str = SyntheticTargetsRequest.SINGLE_REQUEST_FOR_ALL_TARGETS


@rule
async def platform_lock_synthetic_targets(
    request: LambdaPlatformLockTargetsRequest, python_setup: PythonSetup
) -> SyntheticAddressMaps:
    candidates = candidate_platform_locks(python_setup)
    existing = await Get(Paths, PathGlobs(candidates))
    by_dir: dict[str, list[TargetAdaptor]] = {}
    for path in sorted(existing.files):
        resolve, platform = candidates[path]
        by_dir.setdefault(os.path.dirname(path), []).append(
            TargetAdaptor(
                "_lockfiles",
                name=synthetic_target_name(resolve, platform),
                sources=[os.path.basename(path)],
                __description_of_origin__=f"the Lambda platform lockfile {path}",
            )
        )
    return SyntheticAddressMaps.for_targets_request(
        request,
        [
            (os.path.join(folder, "BUILD.lambda-platform-lockfiles"), tuple(adaptors))
            for folder, adaptors in sorted(by_dir.items())
        ],
    )


@dataclass(frozen=True)
class PlatformLockDependencyFieldSet(FieldSet):
    required_fields = (LambdaRuntimeField, LambdaArchitectureField, PythonResolveField)

    runtime: LambdaRuntimeField
    architecture: LambdaArchitectureField
    resolve: PythonResolveField


class InferPlatformLockDependency(InferDependenciesRequest):
    infer_from = PlatformLockDependencyFieldSet


@rule(desc="Infer a Lambda target's dependency on its platform lockfile")
async def infer_platform_lock_dependency(
    request: InferPlatformLockDependency, python_setup: PythonSetup, subsystem: LambdaSubsystem
) -> InferredDependencies:
    target = await Get(
        WrappedTarget,
        WrappedTargetRequest(request.field_set.address, description_of_origin="pants-lambda"),
    )
    runtimes, architecture = target_platforms(target.target, subsystem)
    resolve = request.field_set.resolve.normalized_value(python_setup)
    lockfile = python_setup.resolves.get(resolve)
    candidates = candidate_platform_locks(python_setup)
    wanted = [
        platform_lock_path(lockfile, platform_name(runtime, architecture))
        for runtime in runtimes
        if lockfile and runtime in RUNTIMES and needs_platform_lock(runtime)
    ]
    existing = await Get(Paths, PathGlobs([path for path in wanted if path in candidates]))
    return InferredDependencies(
        Address(
            os.path.dirname(path),
            target_name=synthetic_target_name(*candidates[path]),
            relative_file_path=os.path.basename(path),
        )
        for path in sorted(existing.files)
    )


def rules():
    return [
        *collect_rules(),
        UnionRule(SyntheticTargetsRequest, LambdaPlatformLockTargetsRequest),
        UnionRule(InferDependenciesRequest, InferPlatformLockDependency),
    ]
