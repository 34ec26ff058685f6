"""Lambda platform lockfiles: hash-locked wheels for the runtimes a resolve's lockfile cannot hold.

Pants 2.17 writes a resolve's lockfile with pex 2.1.137, whose universal locks carry wheels for
CPython 3.12 at most. For each newer Lambda platform (runtime and architecture) that the resolve's
Lambda targets build for, this module locks the requirements those targets install, at the
versions the resolve's lockfile pins, with `pex3 lock create --style strict --complete-platform`:
the exact wheel the platform installs, with its hash, in `<lockfile stem>.<runtime>-<arch>.lock`
beside the resolve's lockfile. `pants generate-lockfiles` writes them under the resolve name
`<resolve>.lambda-platforms`, together with the resolve's lockfile itself, so that they agree.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import dataclass
from typing import Iterable

from pex.interpreter_constraints import COMPATIBLE_PYTHON_VERSIONS

from pants.backend.python.goals.lockfile import (
    GeneratePythonLockfile,
    RequestedPythonUserResolveNames,
)
from pants.backend.python.pip_requirement import PipRequirement
from pants.backend.python.subsystems.setup import PythonSetup
from pants.backend.python.target_types import PythonRequirementsField, PythonResolveField
from pants.backend.python.util_rules.interpreter_constraints import InterpreterConstraints
from pants.backend.python.util_rules.pex_cli import PexCliProcess
from pants.backend.python.util_rules.pex_requirements import (
    ResolvePexConfig,
    ResolvePexConfigRequest,
    strip_comments_from_pex_json_lockfile,
)
from pants.core.goals.generate_lockfiles import (
    GenerateLockfile,
    GenerateLockfileResult,
    KnownUserResolveNames,
    KnownUserResolveNamesRequest,
    RequestedUserResolveNames,
    UserGenerateLockfiles,
)
from pants.engine.addresses import Address, UnparsedAddressInputs
from pants.engine.fs import (
    CreateDigest,
    Digest,
    DigestContents,
    FileContent,
    MergeDigests,
    PathGlobs,
    Paths,
)
from pants.engine.internals.synthetic_targets import SyntheticAddressMaps, SyntheticTargetsRequest
from pants.engine.internals.target_adaptor import TargetAdaptor
from pants.engine.process import ProcessCacheScope, ProcessResult
from pants.engine.rules import Get, MultiGet, collect_rules, rule
from pants.engine.target import (
    AllTargets,
    Dependencies,
    DependenciesRequest,
    FieldSet,
    InferDependenciesRequest,
    InferredDependencies,
    Target,
    Targets,
    WrappedTarget,
    WrappedTargetRequest,
)
from pants.engine.unions import UnionRule
from pants.util.docutil import bin_name
from pants.util.frozendict import FrozenDict

from pants_lambda.pip_isolation import PIP_ISOLATION_ENV
from pants_lambda.platforms import ARCHITECTURES, RUNTIMES, complete_platform_json
from pants_lambda.subsystem import LambdaSubsystem
from pants_lambda.target_types import (
    LambdaArchitectureField,
    LambdaCompatibleRuntimesField,
    LambdaFunctionIncludeRequirementsField,
    LambdaLayerIncludeRequirementsField,
    LambdaRuntimeField,
)

# The Python versions whose wheels pex puts into a universal lockfile. Pex 2.1.137 stops at 3.12.
LOCKFILE_PYTHON_VERSIONS = frozenset((v.major, v.minor) for v in COMPATIBLE_PYTHON_VERSIONS)

SUFFIX = ".lambda-platforms"
_METADATA_BEGIN = "// --- BEGIN LAMBDA PLATFORM LOCKFILE METADATA ---"
_METADATA_END = "// --- END LAMBDA PLATFORM LOCKFILE METADATA ---"
logger = logging.getLogger(__name__)

_PLATFORM_FILE = "__lambda_platform.json"
_PINS_FILE = "__lambda_pins.txt"
_OUTPUT = "lambda-platform.lock"


class LambdaPlatformLockError(Exception):
    pass


def platform_name(runtime: str, architecture: str) -> str:
    return f"{runtime}-{architecture}"


def needs_platform_lock(runtime: str) -> bool:
    """Whether a runtime's wheels come from a Lambda platform lockfile, not the resolve's."""
    return RUNTIMES[runtime].python_version not in LOCKFILE_PYTHON_VERSIONS


def platform_lock_name(resolve: str) -> str:
    return f"{resolve}{SUFFIX}"


def platform_lock_path(lockfile: str, platform: str) -> str:
    """`3rdparty/python/lambda.lock` -> `3rdparty/python/lambda.python3.13-arm64.lock`."""
    stem = lockfile[: -len(".lock")] if lockfile.endswith(".lock") else lockfile
    return f"{stem}.{platform}.lock"


def regenerate_command(resolve: str) -> str:
    return f"{bin_name()} generate-lockfiles --resolve={platform_lock_name(resolve)}"


def resolve_interpreter_constraints(
    python_setup: PythonSetup, resolve: str
) -> InterpreterConstraints:
    return InterpreterConstraints(
        python_setup.resolves_to_interpreter_constraints.get(
            resolve, python_setup.interpreter_constraints
        )
    )


def admitted_runtimes(interpreter_constraints: InterpreterConstraints) -> tuple[str, ...]:
    """The runtimes that need a Lambda platform lockfile and that the constraints admit."""
    universe = [f"{r.python_version[0]}.{r.python_version[1]}" for r in RUNTIMES.values()]
    try:
        admitted = set(interpreter_constraints.partition_into_major_minor_versions(universe))
    except ValueError:  # The constraints admit no Lambda runtime at all.
        return ()
    return tuple(
        runtime
        for runtime, spec in RUNTIMES.items()
        if needs_platform_lock(runtime)
        and f"{spec.python_version[0]}.{spec.python_version[1]}" in admitted
    )


def platform_lock_resolves(python_setup: PythonSetup) -> dict[str, str]:
    """`<resolve>.lambda-platforms` -> resolve, for each resolve that may need platform locks."""
    if not (python_setup.enable_resolves and python_setup.resolves_generate_lockfiles):
        return {}
    return {
        platform_lock_name(resolve): resolve
        for resolve in python_setup.resolves
        if admitted_runtimes(resolve_interpreter_constraints(python_setup, resolve))
    }


@dataclass(frozen=True)
class PlatformLockMetadata:
    lockfile: str  # The resolve's lockfile, whose versions this one locks.
    lockfile_sha256: str  # Of that file's bytes when both were generated.
    platform: str
    requirements: tuple[str, ...]  # What the platform's Lambda targets install.

    def header(self, regenerate: str) -> str:
        metadata = json.dumps(
            {
                "lockfile": self.lockfile,
                "lockfile_sha256": self.lockfile_sha256,
                "platform": self.platform,
                "requirements": list(self.requirements),
                "version": 1,
            },
            sort_keys=True,
        )
        return "\n".join(
            [
                f"// Lambda platform lockfile for {self.platform}, written by the pants-lambda",
                f"// plugin: the wheels, with their hashes, that {self.lockfile} cannot hold,",
                "// at the versions it pins. To regenerate, run:",
                "//",
                f"//    {regenerate}",
                "//",
                _METADATA_BEGIN,
                f"// {metadata}",
                _METADATA_END,
                "",
            ]
        )

    @classmethod
    def parse(cls, content: bytes, path: str, regenerate: str) -> PlatformLockMetadata:
        lines = [line.strip() for line in content.decode().splitlines()]
        try:
            start, end = lines.index(_METADATA_BEGIN), lines.index(_METADATA_END)
            fields = json.loads("".join(line[2:] for line in lines[start + 1 : end]))
            return cls(
                fields["lockfile"],
                fields["lockfile_sha256"],
                fields["platform"],
                tuple(fields["requirements"]),
            )
        except (ValueError, KeyError, TypeError) as e:
            raise LambdaPlatformLockError(
                f"{path} has no valid Lambda platform lockfile header ({e}). Do not edit the "
                f"file by hand; regenerate it with `{regenerate}`."
            ) from e


def locked_versions(lock_json: bytes) -> dict[str, str]:
    lock = json.loads(strip_comments_from_pex_json_lockfile(lock_json))
    return {
        req["project_name"]: req["version"]
        for locked_resolve in lock.get("locked_resolves", ())
        for req in locked_resolve.get("locked_requirements", ())
    }


def exotic_requirements(requirements: Iterable[str]) -> list[str]:
    """Direct-URL and VCS requirements: a Lambda platform lock cannot download them by hash."""
    return sorted(
        requirement
        for requirement in requirements
        if PipRequirement.parse(requirement, description_of_origin="a requirement").url
    )


def target_platforms(tgt: Target, subsystem: LambdaSubsystem) -> tuple[tuple[str, ...], str]:
    """The runtimes and the architecture a `lambda_function` or `lambda_layer` builds for."""
    runtimes: tuple[str, ...] = ()
    if tgt.has_field(LambdaCompatibleRuntimesField):
        runtimes = tuple(tgt[LambdaCompatibleRuntimesField].value or ())
    runtimes = runtimes or (subsystem.runtime_or_default(tgt[LambdaRuntimeField].value),)
    return runtimes, subsystem.architecture_or_default(tgt[LambdaArchitectureField].value)


@dataclass(frozen=True)
class RequirementStringsRequest:
    roots: tuple[Address, ...]


@dataclass(frozen=True)
class RequirementStrings:
    requirements: tuple[str, ...]


@rule(desc="Find the requirements of Lambda targets")
async def requirement_strings(request: RequirementStringsRequest) -> RequirementStrings:
    """The requirement strings in the roots' dependency closure (as LambdaClosure has them).

    The walk stops at requirement targets: their dependency on the resolve's lockfile must not be
    resolved while `generate-lockfiles` is about to write that file for the first time."""
    wrapped = await MultiGet(
        Get(WrappedTarget, WrappedTargetRequest(address, description_of_origin="pants-lambda"))
        for address in request.roots
    )
    seen = set(request.roots)
    frontier = [w.target for w in wrapped]
    requirement_targets: list[Target] = []
    transitive_excludes = []
    while frontier:
        walk = []
        for tgt in frontier:
            if tgt.has_field(PythonRequirementsField):
                requirement_targets.append(tgt)
            elif tgt.has_field(Dependencies):
                walk.append(tgt)
                excludes = tgt[Dependencies].unevaluated_transitive_excludes
                if excludes.values:
                    transitive_excludes.append(excludes)
        dependencies = await MultiGet(
            Get(Targets, DependenciesRequest(tgt[Dependencies])) for tgt in walk
        )
        frontier = []
        for deps in dependencies:
            for dep in deps:
                if dep.address not in seen:
                    seen.add(dep.address)
                    frontier.append(dep)
    # `!!` excludes, as TransitiveTargets applies them: such a requirement is not installed.
    excluded = await MultiGet(
        Get(Targets, UnparsedAddressInputs, excludes) for excludes in transitive_excludes
    )
    excluded_addresses = {tgt.address for targets in excluded for tgt in targets}
    requirements = {
        str(requirement)
        for tgt in requirement_targets
        if tgt.address not in excluded_addresses
        for requirement in tgt[PythonRequirementsField].value
    }
    return RequirementStrings(tuple(sorted(requirements)))


@dataclass(frozen=True)
class LambdaPlatformRequirementsRequest:
    resolve: str


@dataclass(frozen=True)
class LambdaPlatformRequirements:
    """Platform -> the requirements that the resolve's Lambda targets install on it, for every
    platform that needs a Lambda platform lockfile."""

    by_platform: FrozenDict[str, tuple[str, ...]]


@rule
async def lambda_platform_requirements(
    request: LambdaPlatformRequirementsRequest,
    all_targets: AllTargets,
    python_setup: PythonSetup,
    subsystem: LambdaSubsystem,
) -> LambdaPlatformRequirements:
    admitted = admitted_runtimes(resolve_interpreter_constraints(python_setup, request.resolve))
    targets = []
    for tgt in all_targets:
        if not (tgt.has_field(LambdaRuntimeField) and tgt.has_field(PythonResolveField)):
            continue
        if tgt[PythonResolveField].normalized_value(python_setup) != request.resolve:
            continue
        installs = tgt[
            (
                LambdaLayerIncludeRequirementsField
                if tgt.has_field(LambdaLayerIncludeRequirementsField)
                else LambdaFunctionIncludeRequirementsField
            )
        ].value
        runtimes, architecture = target_platforms(tgt, subsystem)
        platforms = [
            platform_name(runtime, architecture) for runtime in runtimes if runtime in admitted
        ]
        if installs and platforms:
            targets.append((tgt.address, platforms))
    roots_by_platform: dict[str, list[Address]] = {}
    for address, platforms in targets:
        for platform in platforms:
            roots_by_platform.setdefault(platform, []).append(address)
    platforms = sorted(roots_by_platform)
    found = await MultiGet(
        Get(RequirementStrings, RequirementStringsRequest(tuple(roots_by_platform[platform])))
        for platform in platforms
    )
    by_platform = dict(zip(platforms, (reqs.requirements for reqs in found)))
    return LambdaPlatformRequirements(
        FrozenDict(
            (platform, requirements)
            for platform, requirements in by_platform.items()
            if requirements
        )
    )


class KnownLambdaPlatformLocksRequest(KnownUserResolveNamesRequest):
    pass


class RequestedLambdaPlatformLocks(RequestedUserResolveNames):
    pass


@dataclass(frozen=True)
class GenerateLambdaPlatformLocks(GenerateLockfile):
    resolve: str


@rule
def known_platform_locks(
    _: KnownLambdaPlatformLocksRequest, python_setup: PythonSetup
) -> KnownUserResolveNames:
    return KnownUserResolveNames(
        names=tuple(platform_lock_resolves(python_setup)),
        option_name="[python].resolves (their Lambda platform lockfiles)",
        requested_resolve_names_cls=RequestedLambdaPlatformLocks,
    )


@rule
def setup_platform_lock_requests(
    requested: RequestedLambdaPlatformLocks, python_setup: PythonSetup
) -> UserGenerateLockfiles:
    resolves = platform_lock_resolves(python_setup)
    return UserGenerateLockfiles(
        GenerateLambdaPlatformLocks(
            resolve_name=name,
            lockfile_dest=platform_lock_path(python_setup.resolves[resolves[name]], "<platform>"),
            diff=False,
            resolve=resolves[name],
        )
        for name in requested
    )


@rule(desc="Generate Lambda platform lockfiles")
async def generate_platform_locks(
    request: GenerateLambdaPlatformLocks,
    python_setup: PythonSetup,
) -> GenerateLockfileResult:
    # The resolve's own lockfile, exactly as `generate-lockfiles` writes it in this run (the same
    # request, and Pants runs the process once per session): both are written together.
    [universal_request] = await Get(
        UserGenerateLockfiles,
        RequestedPythonUserResolveNames,
        RequestedPythonUserResolveNames([request.resolve]),
    )
    assert isinstance(universal_request, GeneratePythonLockfile)
    needed = await Get(
        LambdaPlatformRequirements, LambdaPlatformRequirementsRequest(request.resolve)
    )
    exotic = exotic_requirements(
        {requirement for reqs in needed.by_platform.values() for requirement in reqs}
    )
    if exotic:
        raise LambdaPlatformLockError(
            f"Lambda targets of the resolve `{request.resolve}` build for "
            f"{', '.join(needed.by_platform)} and need direct-URL or VCS requirements: "
            f"{', '.join(exotic)}. Their Lambda platform lockfiles can only lock artifacts that "
            "an index or find-links folder serves by name and version, each with its hash. "
            "Publish each as a wheel to your index or to a `[python-repos].find_links` folder, "
            "and require it as `name==version`."
        )
    universal = await Get(GenerateLockfileResult, GeneratePythonLockfile, universal_request)
    [universal_file] = await Get(DigestContents, Digest, universal.digest)
    pins = sorted(
        f"{project}=={version}"
        for project, version in locked_versions(universal_file.content).items()
    )
    config = await Get(ResolvePexConfig, ResolvePexConfigRequest(request.resolve))
    platform_inputs = await MultiGet(
        Get(
            Digest,
            CreateDigest(
                [
                    FileContent(_PLATFORM_FILE, complete_platform_json(*platform.rsplit("-", 1))),
                    FileContent(_PINS_FILE, "".join(f"{p}\n" for p in pins).encode()),
                ]
            ),
        )
        for platform in needed.by_platform
    )
    results = await MultiGet(
        Get(
            ProcessResult,
            PexCliProcess(
                subcommand=("lock", "create"),
                extra_args=(
                    f"--output={_OUTPUT}",
                    "--no-emit-warnings",
                    "--style=strict",
                    "--pip-version",
                    python_setup.pip_version.value,
                    "--resolver-version",
                    "pip-2020-resolver",
                    "--indent=2",
                    *config.pex_args(),
                    f"--constraints={_PINS_FILE}",
                    f"--complete-platform={_PLATFORM_FILE}",
                    *requirements,
                ),
                additional_input_digest=inputs,
                output_files=(_OUTPUT,),
                description=f"Lock {len(requirements)} requirements of {request.resolve} for "
                f"{platform}",
                extra_env=PIP_ISOLATION_ENV,
                # Like every lockfile: the newest artifacts each time it is generated.
                cache_scope=ProcessCacheScope.PER_SESSION,
            ),
        )
        for (platform, requirements), inputs in zip(needed.by_platform.items(), platform_inputs)
    )
    locks = await MultiGet(Get(DigestContents, Digest, r.output_digest) for r in results)
    lockfile_sha256 = hashlib.sha256(universal_file.content).hexdigest()
    files = []
    for (platform, requirements), [lock] in zip(needed.by_platform.items(), locks):
        metadata = PlatformLockMetadata(universal.path, lockfile_sha256, platform, requirements)
        header = metadata.header(regenerate_command(request.resolve)).encode()
        files.append(
            FileContent(platform_lock_path(universal.path, platform), header + lock.content)
        )
    platform_locks = await Get(Digest, CreateDigest(files))
    digest = await Get(Digest, MergeDigests([universal.digest, platform_locks]))
    if not files:
        logger.info(
            f"No Lambda target of the resolve `{request.resolve}` builds for a runtime newer than "
            f"the wheels of {universal.path}: it needs no Lambda platform lockfile."
        )
    # Pants logs "Wrote lockfile for the resolve ... to <path>": every file this result writes.
    return GenerateLockfileResult(
        digest, request.resolve_name, ", ".join([universal.path, *(file.path for file in files)])
    )


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
        UnionRule(KnownUserResolveNamesRequest, KnownLambdaPlatformLocksRequest),
        UnionRule(RequestedUserResolveNames, RequestedLambdaPlatformLocks),
        UnionRule(GenerateLockfile, GenerateLambdaPlatformLocks),
        UnionRule(SyntheticTargetsRequest, LambdaPlatformLockTargetsRequest),
        UnionRule(InferDependenciesRequest, InferPlatformLockDependency),
    ]
