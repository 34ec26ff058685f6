"""Lambda platform lockfiles: `generate-lockfiles` writes them, `package` reads them.

Shaped like Pants' `goals/lockfile.py`: the resolve names `<resolve>.lambda-platforms` join
`generate-lockfiles` as `GenerateLockfile` union members. For each Lambda platform that needs one
(see platform_lock_format.py), `pex3 lock create --style strict --complete-platform` locks the
requirements the platform's targets install, at the versions the resolve's lockfile pins: the
exact wheel the platform installs, with its hash. The reader checks the file is current for what
a target installs before the pin step exports from it.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass

from pants.backend.python.goals.lockfile import (
    GeneratePythonLockfile,
    RequestedPythonUserResolveNames,
)
from pants.backend.python.subsystems.setup import PythonSetup
from pants.backend.python.target_types import PythonResolveField
from pants.backend.python.util_rules.pex import CompletePlatforms
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
from pants.engine.addresses import Address
from pants.engine.fs import (
    CreateDigest,
    Digest,
    DigestContents,
    FileContent,
    MergeDigests,
    PathGlobs,
)
from pants.engine.process import ProcessCacheScope, ProcessResult
from pants.engine.rules import Get, MultiGet, collect_rules, rule
from pants.engine.target import AllTargets, Target
from pants.engine.unions import UnionRule
from pants.util.frozendict import FrozenDict

from pants_lambda.util_rules.closure_rules import RequirementStrings, RequirementStringsRequest
from pants_lambda.platform_lock.lockfiles import check_lockable, locked_versions
from pants_lambda.util_rules.pip_isolation import PIP_ISOLATION_ENV
from pants_lambda.platform_lock.platform_lock_format import (
    LambdaPlatformLockError,
    PlatformLockMetadata,
    admitted_runtimes,
    platform_lock_path,
    platform_lock_resolves,
    platform_name,
    regenerate_command,
    resolve_interpreter_constraints,
)
from pants_lambda.platforms import LambdaPlatformRequest
from pants_lambda.subsystems.lambda_subsystem import LambdaSubsystem
from pants_lambda.targets.target_types import (
    LambdaArchitectureField,
    LambdaCompatibleRuntimesField,
    LambdaFunctionIncludeRequirementsField,
    LambdaLayerIncludeRequirementsField,
    LambdaRuntimeField,
)

logger = logging.getLogger(__name__)

_PINS_FILE = "__lambda_pins.txt"
_OUTPUT = "lambda-platform.lock"


def target_platforms(tgt: Target, subsystem: LambdaSubsystem) -> tuple[tuple[str, ...], str]:
    """The runtimes and the architecture a `lambda_function` or `lambda_layer` builds for."""
    runtime = tgt[LambdaRuntimeField]
    runtimes = (
        tgt[LambdaCompatibleRuntimesField].value_or_default(runtime, subsystem)
        if tgt.has_field(LambdaCompatibleRuntimesField)
        else (runtime.value_or_default(subsystem),)
    )
    return runtimes, tgt[LambdaArchitectureField].value_or_default(subsystem)


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
    check_lockable(
        {requirement for reqs in needed.by_platform.values() for requirement in reqs},
        f"Lambda targets of the resolve `{request.resolve}` build for "
        f"{', '.join(needed.by_platform)} and need",
    )
    universal = await Get(GenerateLockfileResult, GeneratePythonLockfile, universal_request)
    [universal_file] = await Get(DigestContents, Digest, universal.digest)
    pins = sorted(
        f"{project}=={version}"
        for project, version in locked_versions(universal_file.content).items()
    )
    config = await Get(ResolvePexConfig, ResolvePexConfigRequest(request.resolve))
    pins_file = await Get(
        Digest, CreateDigest([FileContent(_PINS_FILE, "".join(f"{p}\n" for p in pins).encode())])
    )
    platforms = await MultiGet(
        Get(CompletePlatforms, LambdaPlatformRequest(*platform.rsplit("-", 1)))
        for platform in needed.by_platform
    )
    platform_inputs = await MultiGet(
        Get(Digest, MergeDigests([pins_file, platform.digest])) for platform in platforms
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
                    *platform_args.generate_pex_arg_list(),
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
        for (platform, requirements), inputs, platform_args in zip(
            needed.by_platform.items(), platform_inputs, platforms
        )
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


@dataclass(frozen=True)
class LambdaPlatformLockRequest:
    resolve: str
    lockfile: str  # The resolve's lockfile.
    runtime: str
    architecture: str
    requirements: tuple[str, ...]
    description_of_origin: str


@dataclass(frozen=True)
class LambdaPlatformLock:
    digest: Digest  # The lockfile without its comments, at `path`.
    path: str
    source: str  # Where it is in the repository.


_PLATFORM_LOCK = "__lambda_platforms.lock"


@rule(desc="Read a Lambda platform lockfile")
async def read_platform_lock(
    request: LambdaPlatformLockRequest, python_setup: PythonSetup
) -> LambdaPlatformLock:
    """The platform's Lambda platform lockfile, checked to be current for these requirements."""
    lockfile = request.lockfile
    platform = platform_name(request.runtime, request.architecture)
    path = platform_lock_path(lockfile, platform)
    regenerate = regenerate_command(request.resolve)
    contents = await Get(DigestContents, PathGlobs([lockfile, path]))
    by_path = {content.path: content.content for content in contents}
    if path not in by_path:
        if request.runtime not in admitted_runtimes(
            resolve_interpreter_constraints(python_setup, request.resolve)
        ):
            raise LambdaPlatformLockError(
                f"{request.description_of_origin} builds for {request.runtime}, which the "
                f"interpreter constraints of its resolve `{request.resolve}` exclude, so no "
                f"lockfile can hold its wheels. Let them admit {request.runtime} "
                "(`[python.resolves_to_interpreter_constraints]` or "
                f"`[python].interpreter_constraints`), then run `{regenerate}`."
            )
        raise LambdaPlatformLockError(
            f"{request.description_of_origin} needs the {platform} wheels of the resolve "
            f"`{request.resolve}`. Its lockfile {lockfile} holds none (pex 2.1.137 locks wheels "
            f"up to CPython 3.12 only): they are hash-locked in {path}, which does not exist. "
            f"Run `{regenerate}` and commit {path}."
        )
    metadata = PlatformLockMetadata.parse(by_path[path], path, regenerate)
    if metadata.lockfile_sha256 != hashlib.sha256(by_path.get(lockfile, b"")).hexdigest():
        raise LambdaPlatformLockError(
            f"The Lambda platform lockfile {path} is stale: {lockfile} changed since the two "
            f"were generated together, so its wheels may not be the versions {lockfile} pins "
            f"({request.description_of_origin} needs them). Run `{regenerate}`: it regenerates "
            "both files."
        )
    unlocked = sorted(set(request.requirements) - set(metadata.requirements))
    if unlocked:
        raise LambdaPlatformLockError(
            f"The Lambda platform lockfile {path} is stale: {request.description_of_origin} "
            f"needs {', '.join(unlocked)} on {platform}, and the lockfile was generated before "
            f"that (it locks {', '.join(metadata.requirements)}). Run `{regenerate}`."
        )
    digest = await Get(
        Digest,
        CreateDigest(
            [FileContent(_PLATFORM_LOCK, strip_comments_from_pex_json_lockfile(by_path[path]))]
        ),
    )
    return LambdaPlatformLock(digest, _PLATFORM_LOCK, path)


def rules():
    return [
        *collect_rules(),
        UnionRule(KnownUserResolveNamesRequest, KnownLambdaPlatformLocksRequest),
        UnionRule(RequestedUserResolveNames, RequestedLambdaPlatformLocks),
        UnionRule(GenerateLockfile, GenerateLambdaPlatformLocks),
    ]
