"""Packages `lambda_manifest` targets: one JSON file per infrastructure module, for Terraform."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

from pants.core.goals.package import BuiltPackage, BuiltPackageArtifact, PackageFieldSet
from pants.core.util_rules.distdir import DistDir
from pants.engine.addresses import Addresses, UnparsedAddressInputs
from pants.engine.fs import CreateDigest, Digest, FileContent, MergeDigests
from pants.engine.rules import Get, MultiGet, collect_rules, rule
from pants.engine.target import InvalidFieldException, Targets
from pants.engine.unions import UnionRule

from pants_lambda.artifacts.function_rules import (
    BuildLambdaFunctionRequest,
    BuiltLambdaFunction,
    LambdaFunctionFieldSet,
)
from pants_lambda.artifacts.layer_rules import BuiltLambdaLayer, LambdaLayerFieldSet
from pants_lambda.targets.manifest_target_types import (
    LambdaManifestFunctionsField,
    LambdaManifestModuleField,
    LambdaManifestOutputPathField,
)

# What every artifact's entry holds, on top of its kind's own fields.
_ARTIFACT_KEYS = ("sha256", "size", "source_code_hash", "unzipped_size", "upload")
_FUNCTION_KEYS = ("architectures", "handler", "layers", "runtime")
_LAYER_KEYS = ("compatible_architectures", "compatible_runtimes")
# A function's settings, present only when its target sets them (function_settings.py).
_SETTINGS_KEYS = ("environment", "ephemeral_storage", "memory_size", "snap_start", "timeout")


@dataclass(frozen=True)
class LambdaManifestFieldSet(PackageFieldSet):
    required_fields = (LambdaManifestFunctionsField,)

    module: LambdaManifestModuleField
    functions: LambdaManifestFunctionsField
    output_path: LambdaManifestOutputPathField


class ManifestError(InvalidFieldException):
    pass


def _entry(
    field_set: LambdaManifestFieldSet,
    distdir: DistDir,
    artifact: BuiltLambdaFunction | BuiltLambdaLayer,
    keys: tuple[str, ...],
) -> dict:
    # Pants keeps --distdir inside the repository, and output paths cannot leave it.
    in_repo = os.path.join(distdir.relpath, artifact.zip.zip_path)
    description = artifact.description()
    return {
        "filename": os.path.relpath(in_repo, field_set.address.spec_path or "."),
        **{key: description[key] for key in _ARTIFACT_KEYS + keys},
        **{key: description[key] for key in _SETTINGS_KEYS if key in description},
    }


def _by_name(field_set: LambdaManifestFieldSet, kind: str, artifacts: dict) -> dict:
    by_name: dict = {}
    for address, entry in artifacts.items():
        name = address.target_name
        if name in by_name:
            raise ManifestError(
                f"The `{LambdaManifestFunctionsField.alias}` field of {field_set.address} brings in "
                f"two {kind}s named {name!r}: {by_name[name][0]} and {address}. Names are the "
                "manifest's keys; rename one of the targets."
            )
        by_name[name] = (address, entry)
    return {name: entry for name, (_, entry) in sorted(by_name.items())}


@rule(desc="Package a Lambda manifest")
async def package_lambda_manifest(
    field_set: LambdaManifestFieldSet, distdir: DistDir
) -> BuiltPackage:
    alias = LambdaManifestFunctionsField.alias
    raw = field_set.functions.value or ()
    addresses = await Get(
        Addresses, UnparsedAddressInputs, field_set.functions.to_unparsed_address_inputs()
    )
    if len(set(addresses)) != len(raw):
        listed = [str(a) for a in addresses]
        twice = sorted({a for a in listed if listed.count(a) > 1}) or listed
        raise ManifestError(
            f"The `{alias}` field of {field_set.address} lists a function more than once "
            f"({', '.join(twice)}). List each `lambda_function` once."
        )
    targets = await Get(Targets, Addresses, addresses)
    not_functions = [tgt for tgt in targets if not LambdaFunctionFieldSet.is_applicable(tgt)]
    if not_functions:
        raise ManifestError(
            f"The `{alias}` field of {field_set.address} lists "
            f"{', '.join(f'{t.address} (a `{t.alias}`)' for t in not_functions)}; it takes "
            "`lambda_function` targets only (their layers are added for you)."
        )
    functions = await MultiGet(
        Get(BuiltLambdaFunction, BuildLambdaFunctionRequest(LambdaFunctionFieldSet.create(tgt)))
        for tgt in targets
    )
    layers: dict = {}
    for function in functions:
        for layer in function.layers:
            layers.setdefault(layer.address, layer)

    manifest = {
        "module": field_set.module.value or os.path.basename(field_set.address.spec_path),
        "functions": _by_name(
            field_set,
            "function",
            {f.address: _entry(field_set, distdir, f, _FUNCTION_KEYS) for f in functions},
        ),
        "layers": _by_name(
            field_set,
            "layer",
            {a: _entry(field_set, distdir, l, _LAYER_KEYS) for a, l in layers.items()},
        ),
    }
    manifest_path = field_set.output_path.value_or_default(file_ending="json")
    # Each ZIP with its JSON: the packages `package` builds for the targets themselves.
    layer_targets = await Get(Targets, Addresses(sorted(layers)))
    packages = await MultiGet(
        *(
            Get(BuiltPackage, LambdaFunctionFieldSet, LambdaFunctionFieldSet.create(tgt))
            for tgt in targets
        ),
        *(
            Get(BuiltPackage, LambdaLayerFieldSet, LambdaLayerFieldSet.create(tgt))
            for tgt in layer_targets
        ),
    )
    manifest_digest = await Get(
        Digest,
        CreateDigest(
            [
                FileContent(
                    manifest_path, (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode()
                )
            ]
        ),
    )
    # The manifest ships with every ZIP it lists, so packaging it alone never leaves Terraform
    # pointing at a missing file.
    digest = await Get(
        Digest, MergeDigests([manifest_digest, *(package.digest for package in packages)])
    )
    return BuiltPackage(
        digest,
        (
            BuiltPackageArtifact(
                manifest_path,
                (
                    f"    Module: {manifest['module']}",
                    f"    Functions: {', '.join(manifest['functions']) or 'none'}",
                    f"    Layers: {', '.join(manifest['layers']) or 'none'}",
                ),
            ),
        ),
    )


def rules():
    return [*collect_rules(), UnionRule(PackageFieldSet, LambdaManifestFieldSet)]
