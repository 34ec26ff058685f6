"""Runs `zip_tool.py` as a cacheable Process: the only place a Lambda ZIP is written."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path

from pants.core.util_rules.adhoc_binaries import PythonBuildStandaloneBinary
from pants.engine.fs import (
    AddPrefix,
    CreateDigest,
    Digest,
    DigestContents,
    DigestSubset,
    FileContent,
    MergeDigests,
    PathGlobs,
)
from pants.engine.addresses import Address
from pants.engine.process import FallibleProcessResult, Process
from pants.engine.rules import Get, MultiGet, collect_rules, rule
from pants.engine.target import InvalidTargetException
from pants.util.frozendict import FrozenDict
from pants.util.logging import LogLevel

from pants_lambda import zip_tool

_TOOL = "__lambda_zip_tool.py"
_SPEC = "__lambda_zip_spec.json"
_ENTRIES = "__lambda_zip_entries.txt"
# The tool runs in the sandbox as a script; its source is part of every zip Process' cache key.
_TOOL_SOURCE = Path(zip_tool.__file__).read_bytes()


class ZipToolError(Exception):
    pass


@dataclass(frozen=True)
class ZipSource:
    """Files to put in a ZIP: the tree of `digest` below `subdir`, each path behind `prefix`."""

    digest: Digest
    label: str  # What these files are, for error messages, e.g. "its first-party sources".
    prefix: str = ""
    subdir: str = ""
    drop_dists: tuple[str, ...] = ()
    drop_top_dirs: tuple[str, ...] = ()


@dataclass(frozen=True)
class BuildLambdaZipRequest:
    address: Address  # The target the ZIP is built for.
    zip_path: str
    sources: tuple[ZipSource, ...]
    metadata: FrozenDict[str, object]
    description: str


@dataclass(frozen=True)
class BuiltLambdaZip:
    digest: Digest  # The ZIP and its JSON description, nothing else.
    zip_path: str
    metadata_path: str
    metadata: FrozenDict[str, object]
    # Every path inside the ZIP, sorted, with its content's SHA-256 and size (uncompressed).
    entries: FrozenDict[str, tuple[str, int]]


def metadata_path_for(zip_path: str) -> str:
    return (zip_path[: -len(".zip")] if zip_path.endswith(".zip") else zip_path) + ".json"


def _freeze(value: object) -> object:
    if isinstance(value, dict):
        return FrozenDict({k: _freeze(v) for k, v in value.items()})
    if isinstance(value, list):
        return tuple(_freeze(v) for v in value)
    return value


def thaw(value: object) -> object:
    """The JSON-ready form of frozen metadata."""
    if isinstance(value, FrozenDict):
        return {k: thaw(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return [thaw(v) for v in value]
    return value


@rule(desc="Zip a Lambda artifact", level=LogLevel.DEBUG)
async def build_lambda_zip(
    request: BuildLambdaZipRequest, python: PythonBuildStandaloneBinary
) -> BuiltLambdaZip:
    metadata_path = metadata_path_for(request.zip_path)
    spec = {
        "output": request.zip_path,
        "metadata_output": metadata_path,
        "entries_output": _ENTRIES,
        "metadata": thaw(request.metadata),
        "sources": [
            {
                "dir": "/".join(p for p in (f"__in/{i}", source.subdir) if p),
                "label": source.label,
                "prefix": source.prefix,
                "drop_dists": sorted(source.drop_dists),
                "drop_top_dirs": sorted(source.drop_top_dirs),
            }
            for i, source in enumerate(request.sources)
        ],
    }
    inputs = await MultiGet(
        Get(
            Digest,
            CreateDigest(
                [
                    FileContent(_TOOL, _TOOL_SOURCE),
                    FileContent(_SPEC, json.dumps(spec, indent=1, sort_keys=True).encode()),
                ]
            ),
        ),
        *(
            Get(Digest, AddPrefix(source.digest, f"__in/{i}"))
            for i, source in enumerate(request.sources)
        ),
    )
    input_digest = await Get(Digest, MergeDigests(inputs))
    result = await Get(
        FallibleProcessResult,
        Process(
            argv=(python.path, _TOOL, _SPEC),
            input_digest=input_digest,
            output_files=(request.zip_path, metadata_path, _ENTRIES),
            append_only_caches=python.APPEND_ONLY_CACHES,
            description=request.description,
            level=LogLevel.DEBUG,
        ),
    )
    if result.exit_code == zip_tool.SPEC_ERROR_EXIT_CODE:
        raise InvalidTargetException(
            f"{request.address} cannot be packaged: {result.stderr.decode().strip()}"
        )
    if result.exit_code != 0:
        raise ZipToolError(
            f"Zipping {request.address} failed with exit code {result.exit_code} (a bug in "
            f"pants_lambda, or the machine, e.g. a full disk):\n{result.stderr.decode()}"
        )
    artifact_digest, listing = await MultiGet(
        Get(
            Digest, DigestSubset(result.output_digest, PathGlobs([request.zip_path, metadata_path]))
        ),
        Get(
            DigestContents,
            DigestSubset(result.output_digest, PathGlobs([metadata_path, _ENTRIES])),
        ),
    )
    contents = {fc.path: fc.content for fc in listing}
    return BuiltLambdaZip(
        digest=artifact_digest,
        zip_path=request.zip_path,
        metadata_path=metadata_path,
        metadata=_freeze(json.loads(contents[metadata_path])),  # type: ignore[arg-type]
        entries=FrozenDict(
            (path, (sha256, int(size)))
            for sha256, size, path in (
                line.split(" ", 2) for line in contents[_ENTRIES].decode().splitlines()
            )
        ),
    )


async def with_metadata(built: BuiltLambdaZip, extra: dict[str, object]) -> BuiltLambdaZip:
    """The same ZIP, its JSON description extended with what only a later step knows."""
    metadata = FrozenDict(sorted({**built.metadata, **extra}.items()))
    description = json.dumps(thaw(metadata), indent=2, sort_keys=True) + "\n"
    described, zip_only = await MultiGet(
        Get(Digest, CreateDigest([FileContent(built.metadata_path, description.encode())])),
        Get(Digest, DigestSubset(built.digest, PathGlobs([built.zip_path]))),
    )
    digest = await Get(Digest, MergeDigests([zip_only, described]))
    return dataclasses.replace(built, digest=digest, metadata=metadata)


def rules():
    return collect_rules()
