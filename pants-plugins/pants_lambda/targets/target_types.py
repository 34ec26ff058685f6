"""The `lambda_function` and `lambda_layer` targets and their fields."""

from __future__ import annotations

import re
from typing import Iterable, Optional

from pants.backend.python.target_types import PythonResolveField
from pants.backend.python.util_rules.faas import PythonFaaSDependencies, PythonFaaSHandlerField
from pants.core.goals.package import OutputPathField
from pants.engine.addresses import Address
from pants.engine.target import (
    COMMON_TARGET_FIELDS,
    BoolField,
    Dependencies,
    InvalidFieldException,
    InvalidTargetException,
    SpecialCasedDependencies,
    StringField,
    StringSequenceField,
    Target,
    TriBoolField,
)
from pants.util.strutil import help_text

from pants_lambda.targets.function_settings import (
    SETTINGS_FIELDS,
    SNAP_START_EPHEMERAL_STORAGE_MB,
    LambdaEphemeralStorageField,
    LambdaSnapStartField,
)
from pants_lambda.quotas import MAX_LAYERS
from pants_lambda.platforms import ARCHITECTURES, RUNTIMES
from pants_lambda.subsystems.lambda_subsystem import LambdaSubsystem


_IDENTIFIER = r"[A-Za-z_][A-Za-z0-9_]*"
_HANDLER_RE = re.compile(
    rf"^(?:(?P<file>[A-Za-z0-9_./-]+\.py)|(?P<module>{_IDENTIFIER}(?:\.{_IDENTIFIER})*))"
    rf":(?P<func>{_IDENTIFIER})$"
)


class LambdaFunctionHandlerField(PythonFaaSHandlerField):
    help = help_text(
        """
        The function Lambda calls, as `file.py:func` (a file relative to this BUILD file's
        folder) or `package.module:func` (a module relative to its source root).

        Example: `handler="handler.py:handler"`. Packaging prints the dotted handler string to
        configure in AWS, e.g. `access.profiles.handler.handler`, and the handler's imports decide
        which first-party files go into the ZIP.
        """
    )

    @classmethod
    def compute_value(cls, raw_value: Optional[str], address: Address) -> str:
        # Skip the parent's own check: this one covers it with a message that shows the fix.
        value = super(PythonFaaSHandlerField, cls).compute_value(raw_value, address)
        if not _HANDLER_RE.match(value) or value.startswith("/") or ".." in value.split("/"):
            raise InvalidFieldException(
                f"The `{cls.alias}` field of {address} is {value!r}, which is not a handler. "
                "Write `file.py:function` (a file beside the BUILD file) or "
                '`package.module:function`, e.g. `handler="handler.py:handler"`.'
            )
        return value


class LambdaRuntimeField(StringField):
    alias = "runtime"
    valid_choices = tuple(RUNTIMES)
    help = help_text(
        f"""
        The Lambda runtime, one of {", ".join(RUNTIMES)}; defaults to `[lambda].runtime`.

        Third-party wheels are chosen for this Python version and the runtime's Amazon Linux
        (glibc 2.26 for Amazon Linux 2, 2.34 for Amazon Linux 2023). Example: `runtime="python3.12"`.
        """
    )

    def value_or_default(self, subsystem: LambdaSubsystem) -> str:
        return subsystem.runtime_or_default(self.value)


class LambdaArchitectureField(StringField):
    alias = "architecture"
    valid_choices = tuple(ARCHITECTURES)
    help = help_text(
        f"""
        The instruction set the code runs on, one of {", ".join(ARCHITECTURES)}; defaults to
        `[lambda].architecture`. Example: `architecture="arm64"`.
        """
    )

    def value_or_default(self, subsystem: LambdaSubsystem) -> str:
        return subsystem.architecture_or_default(self.value)


class LambdaFunctionDependenciesField(PythonFaaSDependencies):
    help = help_text(
        """
        Addresses this function needs beyond what its handler imports. The handler's module and
        everything it imports are inferred; list only what inference cannot see, such as a
        `resource` read at run time or a module imported by name.

        Example: `dependencies=["src/python/access/profiles/templates:emails"]`.
        """
    )


class LambdaFunctionLayersField(SpecialCasedDependencies):
    alias = "layers"
    help = help_text(
        f"""
        Addresses of `lambda_layer` targets, in the order Lambda applies them, at most
        {MAX_LAYERS}. What a layer holds is left out of the function's ZIP: first-party files by
        path, third-party distributions by project name.

        Example: `layers=["layers/deps", "layers/shared"]`.
        """
    )

    @classmethod
    def compute_value(
        cls, raw_value: Optional[Iterable[str]], address: Address
    ) -> Optional[tuple[str, ...]]:
        value = super().compute_value(raw_value, address)
        if value is None:
            return None
        if len(value) > MAX_LAYERS:
            raise InvalidFieldException(
                f"The `{cls.alias}` field of {address} lists {len(value)} layers, but Lambda "
                f"allows at most {MAX_LAYERS}. Merge some layers or move their contents into "
                "the function."
            )
        duplicates = sorted({layer for layer in value if value.count(layer) > 1})
        if duplicates:
            raise InvalidFieldException(
                f"The `{cls.alias}` field of {address} lists {', '.join(duplicates)} more than "
                "once. List each layer once."
            )
        return value


class LambdaFunctionIncludeRequirementsField(BoolField):
    alias = "include_requirements"
    default = True
    help = help_text(
        """
        Whether the function's ZIP may hold third-party distributions. With the default, `True`,
        the ZIP bundles every requirement its code needs that no layer provides. With `False`,
        the ZIP holds first-party code only and every requirement must come from a layer in
        `layers`: packaging fails and names what is missing.

        Example: `include_requirements=False`.
        """
    )


class LambdaIncludeRuntimeProvidedField(BoolField):
    alias = "include_runtime_provided"
    default = True
    help = help_text(
        """
        Whether the ZIP ships the distributions the Lambda runtime itself provides (boto3,
        botocore, s3transfer, jmespath, urllib3, python-dateutil, six, awslambdaric, simplejson,
        snapshot-restore-py, setuptools on python3.10 to python3.12, and the durable functions
        SDK from python3.13) when its requirements need them. With `False`, the ZIP ships
        none of them and the code uses the runtime's copies, at the runtime's versions (see the
        README's "The runtime's own packages"); `pants run` puts those copies on `sys.path`
        after the function's and its layers' files, as Lambda does.

        Example: `include_runtime_provided=False`.
        """
    )


class LambdaCompileBytecodeField(TriBoolField):
    alias = "compile_bytecode"
    help = help_text(
        """
        Whether the ZIP carries, beside each `.py` file it ships, the bytecode its runtime's
        CPython would write (`__pycache__/<module>.cpython-3NN.pyc`, hash-based with
        `unchecked-hash` invalidation, tracebacks naming `/var/task/...` or `/opt/python/...`),
        so that cold starts in AWS load modules instead of compiling them. Compiling needs a
        CPython of the target's runtime on the building machine. Defaults to
        `[lambda].compile_bytecode` (on).

        Example: `compile_bytecode=False` (e.g. for a runtime no build machine has).
        """
    )

    def value_or_default(self, default: bool) -> bool:
        return default if self.value is None else self.value


class LambdaLayerIncludeRequirementsField(BoolField):
    alias = "include_requirements"
    default = True
    help = help_text(
        """
        Whether the layer ships the third-party requirements of its dependencies. Set it to
        `False` for a layer of shared first-party code whose requirements another layer ships
        (or the functions bundle themselves): the functions' builds check that every requirement
        their code needs is provided.

        Example: `lambda_layer(name="shared", dependencies=["src/python/shared"],
        include_requirements=False)`.
        """
    )


class LambdaLayerIncludeSourcesField(BoolField):
    alias = "include_sources"
    default = True
    help = help_text(
        """
        Whether the layer ships the first-party Python sources and resources of its
        dependencies. Set it to `False` for a layer of third-party requirements that names them
        through the first-party code needing them, e.g. `dependencies=["src/python/shared"]`.

        Example: `include_sources=False`.
        """
    )


class LambdaUploadField(StringField):
    alias = "upload"
    valid_choices = ("direct", "s3")
    default = "direct"
    help = help_text(
        """
        How the ZIP reaches Lambda: `direct` (Terraform's `filename`, at most 50 MB zipped; a
        bigger ZIP fails to package) or `s3` (uploaded to a bucket first; the manifest says so and
        the reference Terraform uploads it to its `s3_bucket`).

        Example: `upload="s3"`.
        """
    )


class InRepoOutputPathField(OutputPathField):
    """An output path Terraform can be pointed at: relative, inside `--distdir`."""

    @classmethod
    def compute_value(cls, raw_value: Optional[str], address: Address) -> Optional[str]:
        value = super().compute_value(raw_value, address)
        if value is not None and (value.startswith("/") or ".." in value.split("/")):
            raise InvalidFieldException(
                f"The `{cls.alias}` field of {address} is {value!r}, which leaves `--distdir` "
                "(and so the repository the manifests point Terraform into). Use a relative path "
                'without `..`, e.g. `output_path="lambdas/name.zip"`.'
            )
        return value


class LambdaFunctionOutputPathField(InRepoOutputPathField):
    help = help_text(
        """
        Where the ZIP goes, relative to `--distdir`; a JSON file with its hashes is written
        beside it with the same name and `.json` in place of `.zip`.

        Defaults to `<BUILD folder with dots>/<target name>.zip`, e.g.
        `src.python.access.profiles/profiles.zip`.
        """
    )


class LambdaAllowSecretsField(StringSequenceField):
    alias = "allow_secrets"
    default = ()
    help = help_text(
        """
        Paths inside the ZIP that may hold what the secrets check refuses, each exactly as the
        error names it: a file that truly belongs in the artifact, such as a public test
        certificate that looks like a key. Everything else the check finds fails the package.

        The check looks at the files this target's own sources put into the ZIP (first-party code
        and data, not third-party distributions): files that are secrets by name (`.env`,
        `id_rsa`, `.aws/credentials`, `.netrc`, `.p12` key stores, a `.pypirc` or `.npmrc` with a
        password) and, in every file that is not Python code, private keys and tokens with a
        known format (AWS access keys, GitHub, Slack, Stripe, PyPI and npm tokens, and others
        detect-secrets knows).

        Example: `allow_secrets=["service/fixtures/test-only-key.pem"]`.
        """
    )

    @classmethod
    def compute_value(
        cls, raw_value: Optional[Iterable[str]], address: Address
    ) -> Optional[tuple[str, ...]]:
        value = super().compute_value(raw_value, address)
        bad = [path for path in value or () if not path or path.startswith("/") or "*" in path]
        if bad:
            raise InvalidFieldException(
                f"The `{cls.alias}` field of {address} lists {', '.join(map(repr, bad))}: it "
                "takes exact paths inside the ZIP, as the secrets check names them, without a "
                'leading `/` or wildcards. Example: `allow_secrets=["app/certs/public.pem"]`.'
            )
        return value


class LambdaFunctionTarget(Target):
    alias = "lambda_function"
    core_fields = (
        *COMMON_TARGET_FIELDS,
        LambdaFunctionHandlerField,
        LambdaRuntimeField,
        LambdaArchitectureField,
        LambdaFunctionLayersField,
        LambdaFunctionDependenciesField,
        LambdaFunctionIncludeRequirementsField,
        LambdaIncludeRuntimeProvidedField,
        LambdaCompileBytecodeField,
        LambdaAllowSecretsField,
        LambdaUploadField,
        LambdaFunctionOutputPathField,
        PythonResolveField,
        *SETTINGS_FIELDS,
    )
    help = help_text(
        """
        A Python AWS Lambda function, packaged as a ZIP that holds exactly the first-party files
        its handler imports plus the third-party distributions its layers do not provide.

        Example:

            lambda_function(
                name="profiles",
                handler="handler.py:handler",
                runtime="python3.12",
                architecture="arm64",
                layers=["layers/deps", "layers/shared"],
                memory_size=1024,
                timeout=30,
            )
        """
    )

    def validate(self) -> None:
        storage = self[LambdaEphemeralStorageField].value
        if self[LambdaSnapStartField].value and (storage or 0) > SNAP_START_EPHEMERAL_STORAGE_MB:
            raise InvalidTargetException(
                f"{self.address} sets `{LambdaSnapStartField.alias}=True` and "
                f"`{LambdaEphemeralStorageField.alias}={storage}`, but SnapStart allows at most "
                f"{SNAP_START_EPHEMERAL_STORAGE_MB} MB of ephemeral storage (AWS refuses the "
                f"function at deploy time). Lower `{LambdaEphemeralStorageField.alias}` to "
                f"{SNAP_START_EPHEMERAL_STORAGE_MB}, or remove `{LambdaSnapStartField.alias}=True`."
            )


class LambdaLayerDependenciesField(Dependencies):
    supports_transitive_excludes = True
    help = help_text(
        """
        What the layer ships: `python_requirement` targets, first-party Python sources (with
        everything they import), `resource` targets and `file` targets. Python code goes under
        `python/`; files go to their path relative to this BUILD file's folder. `!!address`
        leaves a target out of the whole closure, as for `lambda_function`.

        Example: `dependencies=["3rdparty/python:reqs#requests", "src/python/shared/db.py"]`.
        """
    )


class LambdaCompatibleRuntimesField(StringSequenceField):
    alias = "compatible_runtimes"
    help = help_text(
        f"""
        Several runtimes this layer serves, each one of {", ".join(RUNTIMES)}. Use instead of
        `runtime`; a layer whose third-party files differ between the runtimes (compiled
        extensions) must be split into one layer per runtime.

        Example: `compatible_runtimes=["python3.12", "python3.13"]`.
        """
    )

    @classmethod
    def compute_value(
        cls, raw_value: Optional[Iterable[str]], address: Address
    ) -> Optional[tuple[str, ...]]:
        value = super().compute_value(raw_value, address)
        if value is None:
            return None
        unknown = [runtime for runtime in value if runtime not in RUNTIMES]
        if unknown or not value:
            raise InvalidFieldException(
                f"The `{cls.alias}` field of {address} must list runtimes from "
                f"{', '.join(RUNTIMES)}, but has {list(value)}. Example: "
                '`compatible_runtimes=["python3.12", "python3.13"]`.'
            )
        return tuple(sorted(set(value), key=list(RUNTIMES).index))

    def value_or_default(
        self, runtime: LambdaRuntimeField, subsystem: LambdaSubsystem
    ) -> tuple[str, ...]:
        """The layer's runtimes: these, or its `runtime`, or `[lambda].runtime`."""
        return self.value or (runtime.value_or_default(subsystem),)


class LambdaLayerOutputPathField(InRepoOutputPathField):
    help = help_text(
        """
        Where the ZIP goes, relative to `--distdir`; a JSON file with its hashes is written
        beside it with the same name and `.json` in place of `.zip`.

        Defaults to `<BUILD folder with dots>/<target name>.zip`, e.g. `layers.deps/deps.zip`.
        """
    )


class LambdaLayerTarget(Target):
    alias = "lambda_layer"
    core_fields = (
        *COMMON_TARGET_FIELDS,
        LambdaLayerDependenciesField,
        LambdaRuntimeField,
        LambdaCompatibleRuntimesField,
        LambdaArchitectureField,
        LambdaLayerIncludeRequirementsField,
        LambdaLayerIncludeSourcesField,
        LambdaIncludeRuntimeProvidedField,
        LambdaCompileBytecodeField,
        LambdaAllowSecretsField,
        LambdaUploadField,
        LambdaLayerOutputPathField,
        PythonResolveField,
    )
    help = help_text(
        """
        An AWS Lambda layer: third-party requirements, shared first-party code and data files,
        packaged as a ZIP in the layout Lambda mounts under `/opt`.

        Example:

            lambda_layer(
                name="deps",
                runtime="python3.12",
                architecture="arm64",
                dependencies=["3rdparty/python:reqs#requests", "3rdparty/python:reqs#pydantic"],
            )
        """
    )

    def validate(self) -> None:
        if self[LambdaRuntimeField].value and self[LambdaCompatibleRuntimesField].value:
            raise InvalidTargetException(
                f"{self.address} sets both `{LambdaRuntimeField.alias}` and "
                f"`{LambdaCompatibleRuntimesField.alias}`. Keep one of them."
            )


def target_types():
    return [LambdaFunctionTarget, LambdaLayerTarget]
