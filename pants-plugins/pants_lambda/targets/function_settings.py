"""How a `lambda_function` runs: its memory, timeout, environment, ephemeral storage and SnapStart.

Named as Terraform's `aws_lambda_function` and SAM name them. Each field checks Lambda's limits
itself, so a value AWS would refuse at deploy time fails `package`; what depends on the runtime
(SnapStart) is checked when the function is built. Unset means Lambda's default, and the manifest
leaves the key out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Mapping, Optional

from pants.engine.addresses import Address
from pants.engine.target import (
    BoolField,
    DictStringToStringField,
    IntField,
    InvalidFieldException,
)
from pants.util.frozendict import FrozenDict
from pants.util.strutil import help_text

from pants_lambda.platforms import RUNTIMES

# Lambda's quotas ("Lambda quotas", "Configuring Lambda function memory / timeout / ephemeral
# storage", "Working with Lambda environment variables").
MEMORY_MB = (128, 10_240)
TIMEOUT_SECONDS = (1, 900)
EPHEMERAL_STORAGE_MB = (512, 10_240)
ENVIRONMENT_BYTES = 4_096
# SnapStart: python3.12 and later, and no ephemeral storage over 512 MB.
SNAP_START_RUNTIMES = tuple(r for r in RUNTIMES if RUNTIMES[r].python_version >= (3, 12))
SNAP_START_EPHEMERAL_STORAGE_MB = 512

# The names the Lambda runtime sets itself: a function's configuration cannot set them.
RESERVED_ENVIRONMENT = frozenset(
    {
        "_HANDLER",
        "_X_AMZN_TRACE_ID",
        "AWS_ACCESS_KEY",
        "AWS_ACCESS_KEY_ID",
        "AWS_DEFAULT_REGION",
        "AWS_EXECUTION_ENV",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
        "AWS_LAMBDA_FUNCTION_NAME",
        "AWS_LAMBDA_FUNCTION_VERSION",
        "AWS_LAMBDA_INITIALIZATION_TYPE",
        "AWS_LAMBDA_LOG_GROUP_NAME",
        "AWS_LAMBDA_LOG_STREAM_NAME",
        "AWS_LAMBDA_RUNTIME_API",
        "AWS_REGION",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "LAMBDA_RUNTIME_DIR",
        "LAMBDA_TASK_ROOT",
        "TZ",
    }
)
_ENVIRONMENT_NAME = re.compile(r"^[a-zA-Z][a-zA-Z0-9_]*$")


class _LimitedIntField(IntField):
    """An integer Lambda accepts within `limits`, in `unit`s; None for Lambda's default."""

    limits: tuple[int, int]
    unit: str

    @classmethod
    def compute_value(cls, raw_value: Optional[int], address: Address) -> Optional[int]:
        value = super().compute_value(raw_value, address)
        low, high = cls.limits
        if value is not None and not low <= value <= high:
            raise InvalidFieldException(
                f"The `{cls.alias}` field of {address} is {value:,}, but Lambda allows "
                f"{low:,} to {high:,} {cls.unit}. Set a value in that range, or leave the field "
                "out for Lambda's default."
            )
        return value


class LambdaMemorySizeField(_LimitedIntField):
    alias = "memory_size"
    limits = MEMORY_MB
    unit = "MB"
    help = help_text(
        f"""
        The function's memory in MB, {MEMORY_MB[0]:,} to {MEMORY_MB[1]:,} (CPU grows with it);
        unset, Lambda's default (128). Goes to the manifest and Terraform's `memory_size`, and
        `pants run` reports it in the context. Example: `memory_size=1024`.
        """
    )


class LambdaTimeoutField(_LimitedIntField):
    alias = "timeout"
    limits = TIMEOUT_SECONDS
    unit = "seconds"
    help = help_text(
        f"""
        How long an invocation may run, in seconds, {TIMEOUT_SECONDS[0]} to
        {TIMEOUT_SECONDS[1]}; unset, Lambda's default (3). Goes to the manifest and Terraform's
        `timeout`, and `pants run` stops the handler after it. Example: `timeout=30`.
        """
    )


class LambdaEphemeralStorageField(_LimitedIntField):
    alias = "ephemeral_storage"
    limits = EPHEMERAL_STORAGE_MB
    unit = "MB"
    help = help_text(
        f"""
        The size of `/tmp` in MB, {EPHEMERAL_STORAGE_MB[0]:,} to {EPHEMERAL_STORAGE_MB[1]:,};
        unset, Lambda's default (512). Goes to Terraform's `ephemeral_storage {{ size }}`.
        SnapStart allows no more than {SNAP_START_EPHEMERAL_STORAGE_MB}.
        Example: `ephemeral_storage=2048`.
        """
    )


class LambdaEnvironmentField(DictStringToStringField):
    alias = "environment"
    help = help_text(
        f"""
        The function's environment variables, names to strings, at most
        {ENVIRONMENT_BYTES:,} bytes in all (names and values); unset, none. Goes to Terraform's
        `environment {{ variables }}` (over the module's `environment` for every function), and
        `pants run` sets them. Lambda's own names (`AWS_REGION`, `_HANDLER`, `LAMBDA_TASK_ROOT`,
        `AWS_LAMBDA_FUNCTION_NAME`, ...) are refused, and so is a value that holds a secret (an
        AWS access key, a private key, a token): values land in Terraform's state and the console.
        Pass secrets by reference (an SSM parameter or Secrets Manager ARN) instead.

        Example: `environment={{"STAGE": "prod", "TABLE": "orders"}}`.
        """
    )

    @classmethod
    def compute_value(
        cls, raw_value: Optional[Mapping[str, str]], address: Address
    ) -> Optional[FrozenDict[str, str]]:
        value = super().compute_value(raw_value, address)
        if value is None:
            return None
        bad = sorted(name for name in value if not _ENVIRONMENT_NAME.match(name))
        if bad:
            raise InvalidFieldException(
                f"The `{cls.alias}` field of {address} has {', '.join(map(repr, bad))}: Lambda "
                "takes names of letters, digits and `_`, starting with a letter. Rename them."
            )
        reserved = sorted(RESERVED_ENVIRONMENT.intersection(value))
        if reserved:
            raise InvalidFieldException(
                f"The `{cls.alias}` field of {address} sets {', '.join(reserved)}, which Lambda "
                "reserves: the runtime sets it itself, and a function's configuration cannot. "
                "Remove it, or use a name of your own (e.g. `APP_REGION`)."
            )
        size = sum(len(k.encode()) + len(v.encode()) for k, v in value.items())
        if size > ENVIRONMENT_BYTES:
            raise InvalidFieldException(
                f"The `{cls.alias}` field of {address} holds {size:,} bytes of names and values, "
                f"but Lambda allows {ENVIRONMENT_BYTES:,} bytes in all. Move large values to a "
                "file of the ZIP, an SSM parameter or S3, and keep their names here."
            )
        return value


class LambdaSnapStartField(BoolField):
    alias = "snap_start"
    default = False
    help = help_text(
        f"""
        Whether Lambda SnapStart applies to the function's published versions: Lambda runs its
        init once, snapshots it, and starts new environments from the snapshot. Needs
        {SNAP_START_RUNTIMES[0]} or later and ephemeral storage of at most
        {SNAP_START_EPHEMERAL_STORAGE_MB} MB. The manifest says `snap_start: true`, and the
        reference Terraform then publishes a version (`publish = true`) with
        `snap_start {{ apply_on = "PublishedVersions" }}` and points the alias `live` at it. `pants
        run` plays the snapshot: the handler's module is imported, the before-snapshot hooks run
        (in reverse order of registration), then the after-restore hooks (in order), then the
        invocation. Example: `snap_start=True`.
        """
    )


SETTINGS_FIELDS = (
    LambdaMemorySizeField,
    LambdaTimeoutField,
    LambdaEnvironmentField,
    LambdaEphemeralStorageField,
    LambdaSnapStartField,
)


def check_snap_start(address: Address, runtime: str) -> None:
    """SnapStart needs a runtime that has it (the target checks its ephemeral storage itself)."""
    if runtime not in SNAP_START_RUNTIMES:
        raise InvalidFieldException(
            f"The `{LambdaSnapStartField.alias}` field of {address} is True, but the function "
            f"runs on {runtime}, and Lambda supports SnapStart for Python on "
            f"{', '.join(SNAP_START_RUNTIMES)} only. Set `runtime` to one of them, or remove "
            f"`{LambdaSnapStartField.alias}=True`."
        )


@dataclass(frozen=True)
class FunctionSettings:
    """The settings a function's target sets; None (and False) where Lambda's default applies."""

    memory_size: Optional[int] = None
    timeout: Optional[int] = None
    environment: Optional[FrozenDict[str, str]] = None
    ephemeral_storage: Optional[int] = None
    snap_start: bool = False

    def description(self) -> dict[str, Any]:
        """For the function's JSON file and the manifest: the keys of unset settings are absent."""
        described: dict[str, Any] = {
            "memory_size": self.memory_size,
            "timeout": self.timeout,
            "environment": dict(sorted(self.environment.items()))
            if self.environment is not None
            else None,
            "ephemeral_storage": self.ephemeral_storage,
            "snap_start": True if self.snap_start else None,
        }
        return {key: value for key, value in described.items() if value is not None}
