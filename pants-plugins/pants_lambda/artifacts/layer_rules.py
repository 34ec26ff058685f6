"""Builds `lambda_layer` targets: Python code under `python/`, data files where declared."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from pants.backend.python.subsystems.setup import PythonSetup
from pants.backend.python.target_types import PythonResolveField
from pants.core.goals.package import BuiltPackage, BuiltPackageArtifact, PackageFieldSet
from pants.engine.addresses import Address
from pants.engine.fs import EMPTY_DIGEST
from pants.engine.rules import Get, MultiGet, collect_rules, rule
from pants.engine.target import InvalidFieldException
from pants.engine.unions import UnionRule
from pants.util.frozendict import FrozenDict

from pants_lambda.util_rules.closure_rules import LambdaClosure, LambdaClosureRequest
from pants_lambda.checks.import_rules import (
    UnownedImports,
    UnownedImportsRequest,
    check_imports_provided,
    ShippedModules,
)
from pants_lambda.checks.limits import check_direct_upload
from pants_lambda.util_rules.requirements_rules import (
    InstalledLambdaRequirements,
    InstallLambdaRequirementsRequest,
)
from pants_lambda.checks.runtime_lifecycle import RuntimeLifecycle, RuntimeLifecycleRequest
from pants_lambda.checks.runtime_packages import check_runtime_versions, runtime_dists
from pants_lambda.targets.target_types import LambdaAllowSecretsField
from pants_lambda.subsystems.lambda_subsystem import LambdaSubsystem
from pants_lambda.targets.target_types import (
    LambdaArchitectureField,
    LambdaCompatibleRuntimesField,
    LambdaCompileBytecodeField,
    LambdaIncludeRuntimeProvidedField,
    LambdaLayerDependenciesField,
    LambdaLayerIncludeRequirementsField,
    LambdaLayerIncludeSourcesField,
    LambdaLayerOutputPathField,
    LambdaRuntimeField,
    LambdaUploadField,
)
from pants_lambda.artifacts.zip_rules import (
    BuildLambdaZipRequest,
    BuiltLambdaZip,
    BytecodeSummary,
    ZipSource,
    add_bytecode,
    described_zip,
)

PYTHON_PREFIX = "python/"


@dataclass(frozen=True)
class LambdaLayerFieldSet(PackageFieldSet):
    required_fields = (LambdaLayerDependenciesField, LambdaCompatibleRuntimesField)

    dependencies: LambdaLayerDependenciesField
    runtime: LambdaRuntimeField
    compatible_runtimes: LambdaCompatibleRuntimesField
    architecture: LambdaArchitectureField
    include_requirements: LambdaLayerIncludeRequirementsField
    include_sources: LambdaLayerIncludeSourcesField
    include_runtime_provided: LambdaIncludeRuntimeProvidedField
    compile_bytecode: LambdaCompileBytecodeField
    allow_secrets: LambdaAllowSecretsField
    upload: LambdaUploadField
    output_path: LambdaLayerOutputPathField
    resolve: PythonResolveField


@dataclass(frozen=True)
class BuildLambdaLayerRequest:
    field_set: LambdaLayerFieldSet


@dataclass(frozen=True)
class BuiltLambdaLayer:
    address: Address
    zip: BuiltLambdaZip
    runtimes: tuple[str, ...]
    architecture: str
    dists: FrozenDict[str, str]  # Third-party projects it ships -> version.
    upload: str
    bytecode: BytecodeSummary | None

    def description(self) -> dict[str, object]:
        """The layer's JSON file, beside its ZIP: what Terraform and the manifest read."""
        return {
            **self.zip.description(),
            **({"bytecode": self.bytecode.description()} if self.bytecode else {}),
            "compatible_architectures": [self.architecture],
            "compatible_runtimes": list(self.runtimes),
            "kind": "layer",
            "name": self.address.target_name,
            "upload": self.upload,
        }

    # Computed once a run: every function using the layer asks (the layer's value is shared).
    @functools.cached_property
    def python_files(self) -> frozenset[str]:
        """Paths it puts on `sys.path` (under /opt/python), as a function would ship them."""
        return frozenset(
            entry[len(PYTHON_PREFIX) :]
            for entry in self.zip.entries
            if entry.startswith(PYTHON_PREFIX)
        )

    @functools.cached_property
    def shipped_modules(self) -> ShippedModules:
        """What its functions can import from it."""
        return ShippedModules.of(self.python_files)


@rule(desc="Build a Lambda layer")
async def build_lambda_layer(
    request: BuildLambdaLayerRequest, subsystem: LambdaSubsystem, python_setup: PythonSetup
) -> BuiltLambdaLayer:
    field_set = request.field_set
    address = field_set.address
    runtimes = field_set.compatible_runtimes.value_or_default(field_set.runtime, subsystem)
    architecture = field_set.architecture.value_or_default(subsystem)
    resolve = field_set.resolve.normalized_value(python_setup)

    lifecycles = await MultiGet(
        Get(RuntimeLifecycle, RuntimeLifecycleRequest(runtime)) for runtime in runtimes
    )
    for runtime, lifecycle in zip(runtimes, lifecycles):
        lifecycle.check(
            f"{address} serves {runtime} (its `{LambdaCompatibleRuntimesField.alias}` or "
            "`runtime` field, or `[lambda].runtime`)"
        )
    closure = await Get(LambdaClosure, LambdaClosureRequest(address))
    layer_dir = f"{address.spec_path}/" if address.spec_path else ""
    outside = [path for path in closure.files.files if not path.startswith(layer_dir)]
    if outside:
        raise InvalidFieldException(
            f"The `{LambdaLayerDependenciesField.alias}` field of {address} brings in `file` "
            f"targets outside the layer's folder `{address.spec_path or '.'}`: {outside}. A layer "
            "ships files at their path relative to its BUILD file; move the files (or the "
            "`lambda_layer`) so that the files are inside that folder."
        )

    installs = await MultiGet(
        Get(
            InstalledLambdaRequirements,
            InstallLambdaRequirementsRequest(
                requirements=(
                    tuple(closure.requirements) if field_set.include_requirements.value else ()
                ),
                resolve=resolve,
                runtime=runtime,
                architecture=architecture,
                description_of_origin=f"the `lambda_layer` {address}",
            ),
        )
        for runtime in runtimes
    )
    if len({install.digest for install in installs}) > 1:
        raise InvalidFieldException(
            f"The `{LambdaCompatibleRuntimesField.alias}` field of {address} lists "
            f"{', '.join(runtimes)}, but its third-party files differ between those runtimes "
            "(compiled extensions are built per Python version, and some dependencies apply to "
            "some Python versions only). Make one `lambda_layer` per runtime, each with "
            '`runtime="..."`.'
        )
    installed = installs[0]
    if field_set.include_sources.value:
        unowned = await Get(UnownedImports, UnownedImportsRequest(address))
        await check_imports_provided(
            f"The `lambda_layer` {address}",
            unowned,
            ShippedModules.of(
                [
                    *closure.python_files.files,
                    *(path for path in installed.files if not path.startswith("bin/")),
                ]
            ),
            runtimes,
        )
    # What every runtime of the layer provides itself, if the layer leaves it to them.
    left_to_runtime = (
        frozenset()
        if field_set.include_runtime_provided.value
        else frozenset.intersection(*(runtime_dists(runtime) for runtime in runtimes))
    )
    dropped = tuple(sorted(set(installed.dists) & left_to_runtime))
    if field_set.include_requirements.value and not field_set.include_runtime_provided.value:
        check_runtime_versions(f"The `lambda_layer` {address}", closure.requirements, runtimes)
    python_files = closure.python_files.digest if field_set.include_sources.value else EMPTY_DIGEST

    sources: tuple[ZipSource, ...] = (
        ZipSource(
            python_files,
            label="its first-party Python sources and resources",
            scan_secrets=True,
            prefix=PYTHON_PREFIX,
            compile="strict",
            no_compile=tuple(sorted(closure.resource_paths)),
        ),
        ZipSource(
            installed.digest,
            label="its third-party requirements",
            prefix=PYTHON_PREFIX,
            drop_dists=dropped,
            drop_top_dirs=("bin",),
            compile="lenient",
        ),
        ZipSource(
            closure.files.digest,
            label="its `file` targets",
            subdir=address.spec_path,
            scan_secrets=True,
        ),
    )
    bytecode = None
    if field_set.compile_bytecode.value_or_default(subsystem.compile_bytecode):
        # One `cpython-3NN` tag per runtime, side by side in each `__pycache__`.
        sources, bytecode = await add_bytecode(address, sources, "/opt/", runtimes)
    built = await Get(
        BuiltLambdaZip,
        BuildLambdaZipRequest(
            address=address,
            zip_path=field_set.output_path.value_or_default(file_ending="zip"),
            sources=sources,
            allow_secrets=field_set.allow_secrets.value or (),
            description=f"Zip the Lambda layer {address}",
        ),
    )
    check_direct_upload(address, built, field_set.upload.value)
    dists = FrozenDict((p, v) for p, v in installed.dists.items() if p not in dropped)
    return BuiltLambdaLayer(
        address, built, runtimes, architecture, dists, field_set.upload.value, bytecode
    )


@rule(desc="Package a Lambda layer")
async def package_lambda_layer(field_set: LambdaLayerFieldSet) -> BuiltPackage:
    layer = await Get(BuiltLambdaLayer, BuildLambdaLayerRequest(field_set))
    return BuiltPackage(
        await described_zip(layer.zip, layer.description()),
        (
            BuiltPackageArtifact(
                layer.zip.zip_path,
                layer.zip.log_lines(
                    f"    Runtimes: {', '.join(layer.runtimes)} ({layer.architecture})",
                    *([layer.bytecode.log_line()] if layer.bytecode else []),
                ),
            ),
            BuiltPackageArtifact(layer.zip.description_path),
        ),
    )


def rules():
    return [*collect_rules(), UnionRule(PackageFieldSet, LambdaLayerFieldSet)]
