"""The `lambda_manifest` target: the Terraform manifest of one infrastructure module."""

from __future__ import annotations

from pants.engine.target import COMMON_TARGET_FIELDS, SpecialCasedDependencies, StringField, Target
from pants.util.strutil import help_text

from pants_lambda.targets.target_types import InRepoOutputPathField


class LambdaManifestModuleField(StringField):
    alias = "module"
    help = help_text(
        """
        The module's name, written into the manifest as `module`; defaults to the name of the
        BUILD file's folder. Example: `module="access"`.
        """
    )


class LambdaManifestFunctionsField(SpecialCasedDependencies):
    alias = "functions"
    required = True
    help = help_text(
        """
        Addresses of the `lambda_function` targets of this module, each listed once. Their
        layers are added to the manifest too.

        Example: `functions=["src/python/access/profiles", "src/python/access/sessions"]`.
        """
    )


class LambdaManifestOutputPathField(InRepoOutputPathField):
    help = help_text(
        """
        Where the manifest goes, relative to `--distdir`. Defaults to
        `<BUILD folder with dots>/<target name>.json`, e.g. `infrastructure.access/manifest.json`.
        """
    )


class LambdaManifestTarget(Target):
    alias = "lambda_manifest"
    core_fields = (
        *COMMON_TARGET_FIELDS,
        LambdaManifestModuleField,
        LambdaManifestFunctionsField,
        LambdaManifestOutputPathField,
    )
    help = help_text(
        """
        The Terraform manifest of one infrastructure module: a JSON file listing each function and
        layer of the module with its ZIP's path (relative to this BUILD file's folder), hashes,
        sizes, handler, runtime and architecture. Packaging it also writes the ZIPs it lists.

        Example, in `infrastructure/access/BUILD`:

            lambda_manifest(
                name="manifest",
                functions=["src/python/access/profiles", "src/python/access/sessions"],
            )

        and in Terraform: `jsondecode(file("../../dist/infrastructure.access/manifest.json"))`.
        """
    )


def target_types():
    return [LambdaManifestTarget]
