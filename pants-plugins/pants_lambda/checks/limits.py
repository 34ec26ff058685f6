"""Lambda's size quotas, checked when a function or layer is packaged rather than at deploy time.

- A ZIP uploaded directly (Terraform's `filename`) may be at most 50 MB; larger ones must go
  through S3 (`upload="s3"`).
- A function and all its layers may hold at most 262,144,000 bytes, unzipped.
- A function may use at most 5 layers (checked by the `layers` field itself).
"""

from __future__ import annotations

from collections import Counter

from pants.engine.addresses import Address
from pants.engine.target import InvalidFieldException

from pants_lambda.artifacts.zip_rules import BuiltLambdaZip
from pants_lambda.quotas import DIRECT_UPLOAD_LIMIT, UNZIPPED_LIMIT


def largest_parts(built: BuiltLambdaZip, count: int = 5) -> list[tuple[str, int]]:
    """The biggest top-level packages, distributions or files of a ZIP, unzipped, largest first.

    Python code is grouped by its top-level name (`python/botocore/...` -> `botocore`), so a
    distribution shows as one line."""
    sizes: Counter[str] = Counter()
    for path, (_, size) in built.entries.items():
        parts = path.split("/")
        if parts[0] == "python" and len(parts) > 2:
            parts = parts[1:]
        sizes[parts[0] if len(parts) > 1 else path] += size
    return sorted(sizes.items(), key=lambda item: (-item[1], item[0]))[:count]


def _describe_largest(built: BuiltLambdaZip) -> str:
    return ", ".join(f"{name} ({size:,} bytes)" for name, size in largest_parts(built))


def check_direct_upload(address: Address, built: BuiltLambdaZip, upload: str) -> None:
    size = built.size
    if upload == "s3" or size <= DIRECT_UPLOAD_LIMIT:
        return
    raise InvalidFieldException(
        f"{address} packages to {size:,} bytes zipped, over Lambda's {DIRECT_UPLOAD_LIMIT:,}-byte "
        f"limit for a direct upload. Its largest parts, unzipped: {_describe_largest(built)}. "
        'Set `upload="s3"` on it to deploy it through S3 (the reference '
        "Terraform then uploads it to `s3_bucket`), or make it smaller: move dependencies into a "
        "layer or leave out what it does not need."
    )


def check_unzipped_total(
    address: Address, function: BuiltLambdaZip, layers: tuple[tuple[Address, BuiltLambdaZip], ...]
) -> int:
    """The unzipped size of the function and its layers, which must fit Lambda's quota."""
    total = function.unzipped_size + sum(zip.unzipped_size for _, zip in layers)
    if total <= UNZIPPED_LIMIT:
        return total
    parts = [
        f"the function's own ZIP: {function.unzipped_size:,} bytes (largest: "
        f"{_describe_largest(function)})"
    ]
    parts.extend(
        f"{layer}: {zip.unzipped_size:,} bytes (largest: {_describe_largest(zip)})"
        for layer, zip in layers
    )
    raise InvalidFieldException(
        f"{address} and its layers hold {total:,} bytes unzipped, over Lambda's "
        f"{UNZIPPED_LIMIT:,}-byte limit for a function and all its layers: "
        f"{'; '.join(parts)}. Leave out what the function does not import (a layer per group of "
        "functions rather than one layer for all), split the function, or deploy it as a "
        "container image, whose limit is 10 GB."
    )


def share_of_limit(total: int) -> str:
    return f"{100 * total / UNZIPPED_LIMIT:.1f}%"
