"""Runs `zip_tool.py` as cacheable Processes: the only place a Lambda ZIP or its bytecode is written."""

from __future__ import annotations

import base64
import functools
import json
from dataclasses import dataclass
from pathlib import PurePath

from pants.core.util_rules.adhoc_binaries import PythonBuildStandaloneBinary
from pants.engine.fs import (
    EMPTY_DIGEST,
    AddPrefix,
    CreateDigest,
    Digest,
    DigestContents,
    DigestEntries,
    DigestSubset,
    FileContent,
    FileEntry,
    MergeDigests,
    PathGlobs,
    RemovePrefix,
)
from pants.engine.addresses import Address
from pants.engine.process import FallibleProcessResult, Process
from pants.engine.rules import Get, MultiGet, collect_rules, rule
from pants.engine.target import InvalidTargetException
from pants.util.frozendict import FrozenDict
from pants.util.logging import LogLevel

from pants_lambda.util_rules import cache_first, scripts
from pants_lambda.sandbox import zip_tool
from pants_lambda.util_rules.cache_first import CacheFirstProcess
from pants_lambda.util_rules.runtime_interpreter import (
    RuntimeInterpreter,
    RuntimeInterpreterRequest,
)
from pants_lambda.util_rules.scripts import Script, ScriptRequest
from pants_lambda.checks.secret_scan import DETECTORS, SecretScanner, SecretScannerRequest

_TOOL = "__lambda_zip_tool.py"
_SPEC = "__lambda_zip_spec.json"
_ENTRIES = "__lambda_zip_entries.txt"
_BYTECODE = "__lambda_bytecode"
# A spec up to this size goes in the environment (Linux caps one variable at 128 KiB).
_SPEC_ENV_LIMIT = 100_000


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
    # For the compile step: "strict" (first-party code: a file that does not compile is an
    # error), "lenient" (third-party: it is left without bytecode), or "" (not compiled).
    compile: str = ""
    no_compile: tuple[str, ...] = ()  # Paths (below `subdir`) never compiled: resources.
    bytecode: bool = False  # The compile step's output: its `.pyc` files are shipped.
    scan_secrets: bool = False  # The target's own files: checked for secrets (secret_scan.py).

    def spec(self, index: int, scan: bool = False) -> dict:
        """This source in the zip tool's spec; its files are under `__in/<index>`."""
        return {
            "dir": "/".join(p for p in (f"__in/{index}", self.subdir) if p),
            "label": self.label,
            "prefix": self.prefix,
            "drop_dists": sorted(self.drop_dists),
            "drop_top_dirs": sorted(self.drop_top_dirs),
            **({"compile": self.compile} if self.compile else {}),
            **({"no_compile": sorted(self.no_compile)} if self.no_compile else {}),
            **({"bytecode": True} if self.bytecode else {}),
            **({"scan": True} if scan else {}),
        }


@dataclass(frozen=True)
class BuildLambdaZipRequest:
    address: Address  # The target the ZIP is built for.
    zip_path: str
    sources: tuple[ZipSource, ...]
    description: str
    allow_secrets: tuple[str, ...] = ()  # The target's `allow_secrets` field.


@dataclass(frozen=True)
class BuiltLambdaZip:
    digest: Digest  # The ZIP, nothing else.
    zip_path: str
    sha256: str
    size: int
    # Every path inside the ZIP, sorted, with its content's SHA-256 and size (uncompressed).
    entries: FrozenDict[str, tuple[str, int]]

    @property
    def source_code_hash(self) -> str:
        """What Terraform's filebase64sha256() returns for the ZIP."""
        return base64.b64encode(bytes.fromhex(self.sha256)).decode("ascii")

    @functools.cached_property  # Once a run: a layer's is asked by each of its functions.
    def unzipped_size(self) -> int:
        return sum(size for _, size in self.entries.values())

    @property
    def description_path(self) -> str:
        """The JSON file beside the ZIP: `a/b.zip` -> `a/b.json`."""
        stem = self.zip_path[: -len(".zip")] if self.zip_path.endswith(".zip") else self.zip_path
        return f"{stem}.json"

    def description(self) -> dict[str, object]:
        """What every artifact's JSON says of its ZIP."""
        return {
            "file_count": len(self.entries),
            "filename": PurePath(self.zip_path).name,
            "sha256": self.sha256,
            "size": self.size,
            "source_code_hash": self.source_code_hash,
            "unzipped_size": self.unzipped_size,
        }

    def log_lines(self, *extra: str) -> tuple[str, ...]:
        """The lines `package` prints under the ZIP's path."""
        return (
            *extra,
            f"    Size: {self.size} bytes ({self.unzipped_size} unzipped, {len(self.entries)} "
            "files)",
            f"    SHA-256: {self.sha256}",
            f"    source_code_hash: {self.source_code_hash}",
        )


async def described_zip(built: BuiltLambdaZip, description: dict[str, object]) -> Digest:
    """The ZIP and its JSON description, written once, when every field is known."""
    text = json.dumps(description, indent=2, sort_keys=True) + "\n"
    described = await Get(
        Digest, CreateDigest([FileContent(built.description_path, text.encode())])
    )
    return await Get(Digest, MergeDigests([built.digest, described]))


@dataclass(frozen=True)
class _ToolInputs:
    digest: Digest  # The zip tool, and each source's files under `__in/<index>`.
    args: tuple[str, ...]  # After the tool's own arguments: the spec's file, if it has one.
    env: FrozenDict[str, str]  # Or the spec itself.


async def _tool_inputs(spec: dict, sources: tuple[ZipSource, ...]) -> _ToolInputs:
    """The zip tool with its inputs. The spec goes in an environment variable, so that no digest
    is made from content per artifact (Pants 2.17 hashes every `CreateDigest` alike, so each one
    makes the next slower to request), unless it is too large for one (Linux takes 128 KiB)."""
    text = json.dumps(spec, sort_keys=True, separators=(",", ":"))
    tool = await Get(Script, ScriptRequest("zip_tool.py", _TOOL))
    inputs = await MultiGet(
        Get(Digest, AddPrefix(source.digest, f"__in/{i}")) for i, source in enumerate(sources)
    )
    if len(text.encode()) <= _SPEC_ENV_LIMIT:
        digest = await Get(Digest, MergeDigests([tool.digest, *inputs]))
        return _ToolInputs(digest, (), FrozenDict({zip_tool.SPEC_ENV: text}))
    spec_file = await Get(Digest, CreateDigest([FileContent(_SPEC, text.encode())]))
    digest = await Get(Digest, MergeDigests([tool.digest, spec_file, *inputs]))
    return _ToolInputs(digest, (_SPEC,), FrozenDict())


def _raise_for_failure(result: FallibleProcessResult, address: Address, doing: str) -> None:
    """The zip tool's exit code: a spec error is the user's (the target's), any other a bug."""
    if result.exit_code == zip_tool.SPEC_ERROR_EXIT_CODE:
        message = result.stderr.decode().strip()
        raise InvalidTargetException(f"{address} cannot be packaged: {message}")
    if result.exit_code != 0:
        raise ZipToolError(
            f"{doing} {address} failed with exit code {result.exit_code} (a bug in pants_lambda, "
            f"or the machine, e.g. a full disk):\n{result.stderr.decode()}"
        )


@rule(desc="Zip a Lambda artifact", level=LogLevel.DEBUG)
async def build_lambda_zip(
    request: BuildLambdaZipRequest, python: PythonBuildStandaloneBinary
) -> BuiltLambdaZip:
    # Only the target's own files are checked for secrets; a ZIP of third-party files alone
    # is zipped without detect-secrets on its path.
    scanned = [s.scan_secrets and s.digest != EMPTY_DIGEST for s in request.sources]
    scan = any(scanned)
    spec = {
        "output": request.zip_path,
        "entries_output": _ENTRIES,
        "sources": [source.spec(i, scanned[i]) for i, source in enumerate(request.sources)],
        **(
            {"allow_secrets": sorted(request.allow_secrets), "detectors": list(DETECTORS)}
            if scan
            else {}
        ),
    }
    inputs = await _tool_inputs(spec, request.sources)
    env = dict(inputs.env)
    immutable_input_digests = {}
    if scan:
        scanner = await Get(SecretScanner, SecretScannerRequest())
        env.update(scanner.env())
        immutable_input_digests.update(scanner.immutable_input_digests())
    result = await Get(
        FallibleProcessResult,
        CacheFirstProcess(
            Process(
                argv=(python.path, _TOOL, *inputs.args),
                input_digest=inputs.digest,
                env=env,
                immutable_input_digests=immutable_input_digests,
                output_files=(request.zip_path, _ENTRIES),
                append_only_caches=python.APPEND_ONLY_CACHES,
                description=request.description,
                level=LogLevel.DEBUG,
            )
        ),
    )
    _raise_for_failure(result, request.address, "Zipping")
    zip_digest, listing = await MultiGet(
        Get(Digest, DigestSubset(result.output_digest, PathGlobs([request.zip_path]))),
        Get(DigestContents, DigestSubset(result.output_digest, PathGlobs([_ENTRIES]))),
    )
    # Pants fingerprints every file with its SHA-256: the ZIP's hash, without reading it again.
    [zip_entry] = await Get(DigestEntries, Digest, zip_digest)
    assert isinstance(zip_entry, FileEntry)
    return BuiltLambdaZip(
        digest=zip_digest,
        zip_path=request.zip_path,
        sha256=zip_entry.file_digest.fingerprint,
        size=zip_entry.file_digest.serialized_bytes_length,
        entries=FrozenDict(
            (path, (sha256, int(size)))
            for sha256, size, path in (
                line.split(" ", 2) for line in listing[0].content.decode().splitlines()
            )
        ),
    )


@dataclass(frozen=True)
class ScanLambdaEnvironmentRequest:
    address: Address  # The `lambda_function` whose `environment` field this is.
    environment: FrozenDict[str, str]


@dataclass(frozen=True)
class EnvironmentScanned:
    pass


@rule(desc="Check a Lambda function's environment for secrets", level=LogLevel.DEBUG)
async def scan_lambda_environment(
    request: ScanLambdaEnvironmentRequest, python: PythonBuildStandaloneBinary
) -> EnvironmentScanned:
    spec = {"environment": dict(request.environment), "detectors": list(DETECTORS)}
    inputs = await _tool_inputs(spec, ())
    scanner = await Get(SecretScanner, SecretScannerRequest())
    result = await Get(
        FallibleProcessResult,
        CacheFirstProcess(
            Process(
                argv=(python.path, _TOOL, "--scan-environment", *inputs.args),
                input_digest=inputs.digest,
                env={**inputs.env, **scanner.env()},
                immutable_input_digests=scanner.immutable_input_digests(),
                append_only_caches=python.APPEND_ONLY_CACHES,
                description=f"Check the environment of {request.address} for secrets",
                level=LogLevel.DEBUG,
            )
        ),
    )
    _raise_for_failure(result, request.address, "Checking the environment of")
    return EnvironmentScanned()


@dataclass(frozen=True)
class CompileLambdaBytecodeRequest:
    address: Address  # The target the ZIP is built for.
    sources: tuple[ZipSource, ...]  # Sources of the ZIP; those with `compile` set are compiled.
    mount: str  # Where Lambda puts the ZIP's root: "/var/task/" or "/opt/".
    runtime: str


@dataclass(frozen=True)
class CompiledLambdaBytecode:
    digest: Digest  # `.../__pycache__/<name>.cpython-3NN.pyc` files, at their paths in the ZIP.
    version: str  # The CPython that compiled them, e.g. "3.12.1".
    files: int
    size: int  # Bytes, unzipped.


class MissingRuntimeInterpreterError(Exception):
    pass


@rule(desc="Compile a Lambda artifact's bytecode", level=LogLevel.DEBUG)
async def compile_lambda_bytecode(request: CompileLambdaBytecodeRequest) -> CompiledLambdaBytecode:
    interpreter = await Get(RuntimeInterpreter, RuntimeInterpreterRequest(request.runtime))
    if interpreter.path is None:
        raise MissingRuntimeInterpreterError(
            f"{request.address} ships bytecode for {request.runtime} (its field "
            "`compile_bytecode`, or `[lambda].compile_bytecode` where it sets none), and no CPython "
            f"{interpreter.python_version} was found to compile it with. "
            f"{interpreter.where_pants_looked()}. Either install CPython "
            f"{interpreter.python_version} (e.g. `pyenv install {interpreter.python_version}`) or "
            f"add its folder to that option, or set `compile_bytecode=False` on {request.address} "
            "to ship it without bytecode (every cold start then compiles what it imports)."
        )
    spec = {
        "bytecode_output": _BYTECODE,
        "mount": request.mount,
        "sources": [source.spec(i) for i, source in enumerate(request.sources)],
    }
    inputs = await _tool_inputs(spec, request.sources)
    result = await Get(
        FallibleProcessResult,
        CacheFirstProcess(
            Process(
                # Not `-I`: it would ignore PYTHONHASHSEED, and CPython before 3.12 orders the
                # frozensets it writes by their hashes.
                argv=(interpreter.path, "-S", "-s", _TOOL, "--compile", *inputs.args),
                input_digest=inputs.digest,
                env={
                    **inputs.env,
                    "PYTHONHASHSEED": "0",
                    "LAMBDA_PYTHON_VERSION": interpreter.version,
                },
                output_directories=(_BYTECODE,),
                description=f"Compile the bytecode of {request.address} "
                f"({', '.join(source.label for source in request.sources)}) with CPython "
                f"{interpreter.version}",
                level=LogLevel.DEBUG,
            )
        ),
    )
    if result.exit_code == zip_tool.SPEC_ERROR_EXIT_CODE:
        raise InvalidTargetException(
            f"{request.address} cannot be packaged for {request.runtime}: "
            f"{result.stderr.decode().strip()}"
        )
    if result.exit_code != 0:
        raise ZipToolError(
            f"Compiling the bytecode of {request.address} failed with exit code "
            f"{result.exit_code} (a bug in pants_lambda, or the machine):\n"
            f"{result.stderr.decode()}"
        )
    compiled, entries = await MultiGet(
        Get(Digest, RemovePrefix(result.output_digest, _BYTECODE)),
        Get(DigestEntries, Digest, result.output_digest),
    )
    files = [entry for entry in entries if isinstance(entry, FileEntry)]
    return CompiledLambdaBytecode(
        compiled,
        interpreter.version,
        len(files),
        sum(entry.file_digest.serialized_bytes_length for entry in files),
    )


def cache_tag(runtime: str) -> str:
    """The tag of the runtime's bytecode files: python3.12 -> cpython-312."""
    return "cpython-" + runtime[len("python") :].replace(".", "")


@dataclass(frozen=True)
class BytecodeSummary:
    """What the bytecode adds to a ZIP."""

    cache_tags: tuple[str, ...]  # One per runtime: "cpython-312".
    files: int
    unzipped_size: int

    def description(self) -> dict[str, object]:
        return {
            "cache_tags": list(self.cache_tags),
            "files": self.files,
            "unzipped_size": self.unzipped_size,
        }

    def log_line(self) -> str:
        return (
            f"    Bytecode: {self.unzipped_size:,} bytes unzipped in {self.files} files "
            f"({', '.join(self.cache_tags)})"
        )


async def add_bytecode(
    address: Address, sources: tuple[ZipSource, ...], mount: str, runtimes: tuple[str, ...]
) -> tuple[tuple[ZipSource, ...], BytecodeSummary]:
    """The sources plus their bytecode for each runtime, and what it adds.

    One compile step per source and runtime: an edit to first-party code does not compile the
    third-party distributions again, and a new lockfile does not compile the first-party code."""
    compiled = await MultiGet(
        Get(
            CompiledLambdaBytecode,
            CompileLambdaBytecodeRequest(address, (source,), mount, runtime),
        )
        for source in sources
        if source.compile
        for runtime in runtimes
    )
    merged = await Get(Digest, MergeDigests(c.digest for c in compiled))
    bytecode = ZipSource(merged, label="its bytecode", bytecode=True)
    summary = BytecodeSummary(
        tuple(cache_tag(runtime) for runtime in runtimes),
        sum(c.files for c in compiled),
        sum(c.size for c in compiled),
    )
    return (*sources, bytecode), summary


def rules():
    return [*collect_rules(), *cache_first.rules(), *scripts.rules()]
