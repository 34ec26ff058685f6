"""Builds `lambda_function` targets: the handler's closure, minus what the layers provide."""

from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass

from pants.backend.python.pip_requirement import PipRequirement
from pants.backend.python.subsystems.setup import PythonSetup
from pants.backend.python.target_types import PythonResolveField
from pants.backend.python.util_rules import faas
from pants.backend.python.util_rules.faas import (
    ResolvedPythonFaaSHandler,
    ResolvePythonFaaSHandlerRequest,
)
from pants.core.goals.package import BuiltPackage, BuiltPackageArtifact, PackageFieldSet
from pants.engine.addresses import Address, UnparsedAddressInputs
from pants.engine.fs import Digest, DigestSubset, PathGlobs
from pants.engine.rules import Get, MultiGet, collect_rules, rule
from pants.engine.target import InvalidFieldException, Targets
from pants.engine.unions import UnionRule
from pants.util.frozendict import FrozenDict

from pants_lambda.util_rules.closure_rules import LambdaClosure, LambdaClosureRequest
from pants_lambda.targets.function_settings import (
    FunctionSettings,
    LambdaEnvironmentField,
    LambdaEphemeralStorageField,
    LambdaMemorySizeField,
    LambdaSnapStartField,
    LambdaTimeoutField,
    check_snap_start,
)
from pants_lambda.checks.handler_rules import (
    check_handler_file,
    check_handler_function,
    check_module_path,
)
from pants_lambda.checks.import_rules import (
    UnownedImports,
    UnownedImportsRequest,
    check_imports_provided,
    ShippedModules,
)
from pants_lambda.artifacts.layer_rules import (
    BuildLambdaLayerRequest,
    BuiltLambdaLayer,
    LambdaLayerFieldSet,
)
from pants_lambda.checks.limits import check_direct_upload, check_unzipped_total, share_of_limit
from pants_lambda.quotas import UNZIPPED_LIMIT
from pants_lambda.util_rules.requirements_rules import (
    InstalledLambdaRequirements,
    InstallLambdaRequirementsRequest,
    PinnedVersions,
    PinnedVersionsRequest,
)
from pants_lambda.checks.runtime_lifecycle import RuntimeLifecycle, RuntimeLifecycleRequest
from pants_lambda.checks.runtime_packages import check_runtime_versions, runtime_dists
from pants_lambda.targets.target_types import LambdaAllowSecretsField
from pants_lambda.subsystems.lambda_subsystem import LambdaSubsystem
from pants_lambda.targets.target_types import (
    LambdaArchitectureField,
    LambdaCompileBytecodeField,
    LambdaFunctionDependenciesField,
    LambdaFunctionHandlerField,
    LambdaFunctionIncludeRequirementsField,
    LambdaFunctionLayersField,
    LambdaFunctionOutputPathField,
    LambdaIncludeRuntimeProvidedField,
    LambdaRuntimeField,
    LambdaUploadField,
)
from pants_lambda.artifacts.zip_rules import (
    BuildLambdaZipRequest,
    BuiltLambdaZip,
    BytecodeSummary,
    EnvironmentScanned,
    ScanLambdaEnvironmentRequest,
    ZipSource,
    add_bytecode,
    described_zip,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LambdaFunctionFieldSet(PackageFieldSet):
    required_fields = (LambdaFunctionHandlerField, LambdaFunctionLayersField)

    handler: LambdaFunctionHandlerField
    runtime: LambdaRuntimeField
    architecture: LambdaArchitectureField
    layers: LambdaFunctionLayersField
    dependencies: LambdaFunctionDependenciesField
    include_requirements: LambdaFunctionIncludeRequirementsField
    include_runtime_provided: LambdaIncludeRuntimeProvidedField
    compile_bytecode: LambdaCompileBytecodeField
    allow_secrets: LambdaAllowSecretsField
    upload: LambdaUploadField
    output_path: LambdaFunctionOutputPathField
    resolve: PythonResolveField
    memory_size: LambdaMemorySizeField
    timeout: LambdaTimeoutField
    environment: LambdaEnvironmentField
    ephemeral_storage: LambdaEphemeralStorageField
    snap_start: LambdaSnapStartField

    def settings(self) -> FunctionSettings:
        return FunctionSettings(
            memory_size=self.memory_size.value,
            timeout=self.timeout.value,
            environment=self.environment.value,
            ephemeral_storage=self.ephemeral_storage.value,
            snap_start=self.snap_start.value,
        )


@dataclass(frozen=True)
class BuildLambdaFunctionRequest:
    field_set: LambdaFunctionFieldSet


@dataclass(frozen=True)
class BuiltLambdaFunction:
    address: Address
    zip: BuiltLambdaZip
    handler: str  # The dotted string to configure in AWS.
    runtime: str
    architecture: str
    layers: tuple[BuiltLambdaLayer, ...]
    upload: str
    bytecode: BytecodeSummary | None
    unzipped_size_with_layers: int
    settings: FunctionSettings
    lifecycle: RuntimeLifecycle

    def description(self) -> dict[str, object]:
        """The function's JSON file, beside its ZIP: what Terraform and the manifest read."""
        return {
            **self.zip.description(),
            **self.settings.description(),
            **({"bytecode": self.bytecode.description()} if self.bytecode else {}),
            "architectures": [self.architecture],
            "handler": self.handler,
            "kind": "function",
            "layers": [layer.address.target_name for layer in self.layers],
            "name": self.address.target_name,
            "runtime": self.runtime,
            "unzipped_limit_share": share_of_limit(self.unzipped_size_with_layers),
            "unzipped_size_with_layers": self.unzipped_size_with_layers,
            "upload": self.upload,
        }


def _check_layers(
    field_set: LambdaFunctionFieldSet,
    runtime: str,
    architecture: str,
    layers: tuple[BuiltLambdaLayer, ...],
) -> None:
    alias = LambdaFunctionLayersField.alias
    for layer in layers:
        if runtime not in layer.runtimes:
            raise InvalidFieldException(
                f"The `{alias}` field of {field_set.address} lists {layer.address}, which is built "
                f"for {', '.join(layer.runtimes)}, but the function runs on {runtime}. Add "
                f"{runtime} to the layer's `compatible_runtimes` or change the function's "
                "`runtime`."
            )
        if architecture != layer.architecture:
            raise InvalidFieldException(
                f"The `{alias}` field of {field_set.address} lists {layer.address}, which is built "
                f"for {layer.architecture}, but the function runs on {architecture}. Give both "
                "the same `architecture`."
            )
    for first, second in itertools.combinations(layers, 2):
        shared = sorted(set(first.zip.entries) & set(second.zip.entries))
        differ = [path for path in shared if first.zip.entries[path] != second.zip.entries[path]]
        if differ:
            raise InvalidFieldException(
                f"The `{alias}` field of {field_set.address} lists {first.address} and "
                f"{second.address}, which ship {len(differ)} path(s) with different content, "
                f"e.g. {', '.join(differ[:5])}. Lambda keeps only the later layer's copy; move "
                "the shared dependency into one layer."
            )
        if shared:
            twice = sum(first.zip.entries[path][1] for path in shared)
            logger.warning(
                f"The `{alias}` field of {field_set.address} lists {first.address} and "
                f"{second.address}, which both ship the same {len(shared)} file(s), e.g. "
                f"{', '.join(shared[:3])}: {twice:,} bytes count twice against Lambda's "
                f"{UNZIPPED_LIMIT:,}-byte limit on a function and its layers, unzipped. Ship "
                "them in one layer only, e.g. with `include_requirements=False` on a layer of "
                "shared code."
            )


def _check_split_packages(
    field_set: LambdaFunctionFieldSet, shipped: set[str], layers: tuple[BuiltLambdaLayer, ...]
) -> None:
    """Python stops at the first regular package it finds: a layer's `pkg/__init__.py` in
    /opt/python hides the function's own `pkg/...` files in /var/task."""
    for layer in layers:
        for path in sorted(shipped):
            parts = path.split("/")[:-1]
            for depth in range(1, len(parts) + 1):
                init = "/".join(parts[:depth]) + "/__init__.py"
                if init in layer.python_files and init not in shipped:
                    package = ".".join(parts[:depth])
                    raise InvalidFieldException(
                        f"{field_set.address} ships {path}, but its layer {layer.address} (field "
                        f"`{LambdaFunctionLayersField.alias}`) provides the regular package "
                        f"`{package}` ({init}), which hides every `{package}` file outside the "
                        f"layer at run time. Add {path} to the layer, or delete {init} so that "
                        f"`{package}` is a namespace package."
                    )


def _version_conflict(
    field_set: LambdaFunctionFieldSet, needs: str, project: str, layer: BuiltLambdaLayer
) -> InvalidFieldException:
    return InvalidFieldException(
        f"{field_set.address} needs {needs}, but its layer {layer.address} "
        f"(field `{LambdaFunctionLayersField.alias}`) provides {project}=={layer.dists[project]}. "
        "Use one version: put the function and the layer in the same resolve, or change the "
        "requirement in one of them."
    )


def _check_provided_versions(
    field_set: LambdaFunctionFieldSet,
    requirements: FrozenDict[str, str],
    pins: PinnedVersions,
    provided: dict[str, BuiltLambdaLayer],
) -> None:
    """What a layer provides must satisfy the function's requirement and the repository's pin."""
    for requirement, project in sorted(requirements.items()):
        layer = provided.get(project)
        if layer is None:
            continue
        version = layer.dists[project]
        pinned = pins.versions.get(project)
        if pinned is not None and pinned != version:
            raise _version_conflict(field_set, f"{project}=={pinned}", project, layer)
        if version not in PipRequirement.parse(requirement).as_pkg_resources_requirement():
            raise _version_conflict(field_set, requirement, project, layer)


def _check_requirements_provided(
    field_set: LambdaFunctionFieldSet,
    missing: tuple[str, ...],
    layers: tuple[BuiltLambdaLayer, ...],
) -> None:
    if field_set.include_requirements.value or not missing:
        return
    alias = LambdaFunctionIncludeRequirementsField.alias
    raise InvalidFieldException(
        f"The `{alias}` field of {field_set.address} is False, so its layers must provide every "
        f"requirement its code needs, but none of "
        f"{', '.join(str(layer.address) for layer in layers) or 'its layers (it has none)'} "
        f"provides {', '.join(missing)}. Add them to a layer in "
        f"`{LambdaFunctionLayersField.alias}`, or remove `{alias}=False` to bundle them."
    )


@rule(desc="Build a Lambda function")
async def build_lambda_function(
    request: BuildLambdaFunctionRequest, subsystem: LambdaSubsystem, python_setup: PythonSetup
) -> BuiltLambdaFunction:
    field_set = request.field_set
    address = field_set.address
    runtime = field_set.runtime.value_or_default(subsystem)
    architecture = field_set.architecture.value_or_default(subsystem)
    resolve = field_set.resolve.normalized_value(python_setup)

    await check_handler_file(field_set.handler)
    settings = field_set.settings()
    if settings.snap_start:
        check_snap_start(address, runtime)
    lifecycle = await Get(RuntimeLifecycle, RuntimeLifecycleRequest(runtime))
    lifecycle.check(
        f"{address} runs on {runtime} (its `{LambdaRuntimeField.alias}` field, or "
        "`[lambda].runtime`)"
    )
    if settings.environment:
        # Values land in Terraform's state and the console: no secrets, as in the ZIP.
        await Get(EnvironmentScanned, ScanLambdaEnvironmentRequest(address, settings.environment))
    origin = f"the `lambda_function` {address}"
    layer_targets, closure, handler, unowned = await MultiGet(
        Get(Targets, UnparsedAddressInputs, field_set.layers.to_unparsed_address_inputs()),
        Get(LambdaClosure, LambdaClosureRequest(address)),
        Get(ResolvedPythonFaaSHandler, ResolvePythonFaaSHandlerRequest(field_set.handler)),
        Get(UnownedImports, UnownedImportsRequest(address)),
    )
    await check_module_path(field_set.handler, handler)
    await check_handler_function(field_set.handler, handler, closure, runtime)
    not_layers = [tgt for tgt in layer_targets if not LambdaLayerFieldSet.is_applicable(tgt)]
    if not_layers:
        raise InvalidFieldException(
            f"The `{LambdaFunctionLayersField.alias}` field of {address} lists "
            f"{', '.join(f'{tgt.address} (a `{tgt.alias}`)' for tgt in not_layers)}, but only "
            "`lambda_layer` targets can be layers. Point it at `lambda_layer` targets."
        )
    layers = await MultiGet(
        Get(BuiltLambdaLayer, BuildLambdaLayerRequest(LambdaLayerFieldSet.create(tgt)))
        for tgt in layer_targets
    )
    _check_layers(field_set, runtime, architecture, layers)

    # Lambda extracts the layers into /opt in order, a later one over an earlier one.
    provided = {project: layer for layer in layers for project in layer.dists}
    left_to_runtime = (
        frozenset() if field_set.include_runtime_provided.value else runtime_dists(runtime)
    )
    missing = tuple(
        req
        for req, project in closure.requirements.items()
        if project not in provided and project not in left_to_runtime
    )
    if left_to_runtime:
        check_runtime_versions(
            f"The `lambda_function` {address}",
            {req: p for req, p in closure.requirements.items() if p not in provided},
            (runtime,),
        )
    _check_requirements_provided(field_set, missing, layers)
    if closure.requirements:
        pins = await Get(PinnedVersions, PinnedVersionsRequest(resolve, origin))
        _check_provided_versions(field_set, closure.requirements, pins, provided)
    installed = await Get(
        InstalledLambdaRequirements,
        InstallLambdaRequirementsRequest(
            requirements=missing,
            resolve=resolve,
            runtime=runtime,
            architecture=architecture,
            description_of_origin=origin,
        ),
    )
    for project in sorted(set(installed.dists) & set(provided)):
        if installed.dists[project] != provided[project].dists[project]:
            needs = f"{project}=={installed.dists[project]}"
            raise _version_conflict(field_set, needs, project, provided[project])

    layer_files = frozenset().union(*(layer.python_files for layer in layers))
    own_files = sorted(set(closure.python_files.files) - layer_files)
    _check_split_packages(field_set, set(own_files), layers)
    await check_imports_provided(
        f"The `lambda_function` {address}",
        unowned,
        ShippedModules.of(
            [
                *closure.python_files.files,
                *(path for path in installed.files if not path.startswith("bin/")),
                *closure.files.files,
            ]
        ).union(*(layer.shipped_modules for layer in layers)),
        (runtime,),
    )
    # Only the files the ZIP ships are the zip step's input: an edit to a file a layer provides
    # does not run it again.
    own_python_files = await Get(
        Digest, DigestSubset(closure.python_files.digest, PathGlobs(own_files))
    )
    aws_handler = f"{handler.module}.{handler.func}"
    sources: tuple[ZipSource, ...] = (
        ZipSource(
            own_python_files,
            label="its first-party Python sources and resources",
            scan_secrets=True,
            compile="strict",
            no_compile=tuple(sorted(closure.resource_paths.intersection(own_files))),
        ),
        ZipSource(
            installed.digest,
            label="its third-party requirements",
            drop_dists=tuple(sorted(set(installed.dists) & (set(provided) | left_to_runtime))),
            drop_top_dirs=("bin",),
            compile="lenient",
        ),
        ZipSource(closure.files.digest, label="its `file` targets", scan_secrets=True),
    )
    bytecode = None
    if field_set.compile_bytecode.value_or_default(subsystem.compile_bytecode):
        sources, bytecode = await add_bytecode(address, sources, "/var/task/", (runtime,))
    built = await Get(
        BuiltLambdaZip,
        BuildLambdaZipRequest(
            address=address,
            zip_path=field_set.output_path.value_or_default(file_ending="zip"),
            sources=sources,
            allow_secrets=field_set.allow_secrets.value or (),
            description=f"Zip the Lambda function {address}",
        ),
    )
    check_direct_upload(address, built, field_set.upload.value)
    total = check_unzipped_total(
        address, built, tuple((layer.address, layer.zip) for layer in layers)
    )
    return BuiltLambdaFunction(
        address,
        built,
        aws_handler,
        runtime,
        architecture,
        layers,
        field_set.upload.value,
        bytecode,
        total,
        settings,
        lifecycle,
    )


@rule(desc="Package a Lambda function")
async def package_lambda_function(field_set: LambdaFunctionFieldSet) -> BuiltPackage:
    function = await Get(BuiltLambdaFunction, BuildLambdaFunctionRequest(field_set))
    layers = ", ".join(str(layer.address) for layer in function.layers) or "none"
    total = function.unzipped_size_with_layers
    return BuiltPackage(
        await described_zip(function.zip, function.description()),
        (
            BuiltPackageArtifact(
                function.zip.zip_path,
                function.zip.log_lines(
                    f"    Handler: {function.handler}",
                    f"    Runtime: {function.runtime} ({function.architecture})"
                    + (f"; {function.lifecycle.short}" if function.lifecycle.short else ""),
                    f"    Layers: {layers}",
                    f"    Unzipped with layers: {total:,} bytes ({share_of_limit(total)} of "
                    f"Lambda's {UNZIPPED_LIMIT:,}-byte limit)",
                    *([function.bytecode.log_line()] if function.bytecode else []),
                ),
            ),
            BuiltPackageArtifact(function.zip.description_path),
        ),
    )


def rules():
    return [
        *collect_rules(),
        *faas.rules(),
        UnionRule(PackageFieldSet, LambdaFunctionFieldSet),
    ]
