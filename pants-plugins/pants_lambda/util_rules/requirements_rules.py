"""Installs third-party requirements for a Lambda platform, from the resolve's lockfile.

Resolving and installing run as pex Processes, so they are cached locally and remotely, and they
only depend on the requirement strings, the lockfile and the platform: editing first-party code
never re-resolves anything.
"""

from __future__ import annotations

from dataclasses import dataclass

from packaging.utils import canonicalize_name
from pants.backend.python.subsystems.setup import PythonSetup
from pants.backend.python.target_types import parse_requirements_file
from pants.backend.python.util_rules import pex
from pants.backend.python.util_rules.interpreter_constraints import InterpreterConstraints
from pants.backend.python.util_rules.pex import CompletePlatforms
from pants.backend.python.util_rules.pex_cli import PexCliProcess
from pants.backend.python.util_rules.pex_requirements import (
    LoadedLockfile,
    LoadedLockfileRequest,
    Lockfile,
    Resolve,
    ResolvePexConfig,
    ResolvePexConfigRequest,
    validate_metadata,
)
from pants.engine.fs import (
    EMPTY_DIGEST,
    CreateDigest,
    Digest,
    DigestContents,
    FileContent,
    MergeDigests,
    PathGlobs,
    Snapshot,
)
from pants.engine.process import FallibleProcessResult, Process
from pants.engine.rules import Get, MultiGet, collect_rules, rule
from pants.base.glob_match_error_behavior import GlobMatchErrorBehavior
from pants.util.frozendict import FrozenDict

from pants_lambda.util_rules import cache_first
from pants_lambda.util_rules.cache_first import CacheFirstProcess
from pants_lambda.platform_lock.lockfiles import check_lockable, locked_versions
from pants_lambda.util_rules.pip_isolation import PIP_ISOLATION_ENV, install_flat
from pants_lambda.platform_lock.platform_lock_format import (
    needs_platform_lock,
    regenerate_command,
)
from pants_lambda.platform_lock.platform_lock_rules import LambdaPlatformLock, LambdaPlatformLockRequest
from pants_lambda.platforms import LambdaPlatformRequest

_SITE_PACKAGES = "site-packages"
_REQUIREMENTS_PEX = "lambda-requirements.pex"
_LOCKED_SUBSET = "__lambda_locked_requirements.txt"
_CONSTRAINTS = "__lambda_constraints.txt"


class LambdaRequirementsError(Exception):
    pass


@dataclass(frozen=True)
class PinnedVersionsRequest:
    resolve: str  # Ignored without resolves.
    description_of_origin: str


@dataclass(frozen=True)
class PinnedVersions:
    """The versions the repository pins for a resolve: its lockfile's, or, without resolves, the
    `==` lines of `[python].requirement_constraints`."""

    versions: FrozenDict[str, str]  # Canonical project name -> version.
    # Without resolves, what the resolve from [python-repos] passes pip as constraints: the
    # constraints file's lines (none with a lockfile, which pins by itself).
    constraints: tuple[str, ...]


def _missing_lockfile(lockfile: str, resolve: str, description_of_origin: str) -> Exception:
    return LambdaRequirementsError(
        f"The lockfile {lockfile} of the resolve `{resolve}`, which {description_of_origin} "
        f"uses, does not exist. Run `pants generate-lockfiles --resolve={resolve}`, or set "
        "`[python].enable_resolves = false` to resolve from [python-repos] without a lockfile."
    )


@rule
async def read_pinned_versions(
    request: PinnedVersionsRequest, python_setup: PythonSetup
) -> PinnedVersions:
    if python_setup.enable_resolves:
        lockfile = python_setup.resolves[request.resolve]
        contents = await Get(DigestContents, PathGlobs([lockfile]))
        if not contents:
            raise _missing_lockfile(lockfile, request.resolve, request.description_of_origin)
        versions = locked_versions(contents[0].content)
        return PinnedVersions(FrozenDict(sorted(versions.items())), ())
    constraints_file = python_setup.requirement_constraints
    if not constraints_file:
        return PinnedVersions(FrozenDict(), ())
    contents = await Get(
        DigestContents,
        PathGlobs(
            [constraints_file],
            glob_match_error_behavior=GlobMatchErrorBehavior.error,
            description_of_origin="the option `[python].requirement_constraints`",
        ),
    )
    try:
        constraints = list(
            parse_requirements_file(contents[0].content.decode(), rel_path=constraints_file)
        )
    except ValueError as e:
        raise LambdaRequirementsError(
            f"{constraints_file} (`[python].requirement_constraints`, used by "
            f"{request.description_of_origin}) holds a line that is not a requirement: {e}. "
            "Write one `name==version` per line."
        ) from e
    versions = {
        canonicalize_name(constraint.project_name): pinned[0]
        for constraint in constraints
        if (pinned := [version for operator, version in constraint.specs if operator == "=="])
    }
    return PinnedVersions(
        FrozenDict(sorted(versions.items())), tuple(str(constraint) for constraint in constraints)
    )


@dataclass(frozen=True)
class InstallLambdaRequirementsRequest:
    requirements: tuple[str, ...]
    resolve: str
    runtime: str
    architecture: str
    description_of_origin: str


@dataclass(frozen=True)
class InstalledLambdaRequirements:
    digest: Digest  # What goes into site-packages, at the root of the digest.
    dists: FrozenDict[str, str]  # Canonical project name -> version.
    files: tuple[str, ...] = ()


def dists_in(paths: tuple[str, ...]) -> FrozenDict[str, str]:
    """The distributions installed in a site-packages listing, from their `.dist-info` folders."""
    dists = {}
    for path in paths:
        top = path.split("/", 1)[0]
        if top.endswith(".dist-info"):
            name, _, version = top[: -len(".dist-info")].rpartition("-")
            dists[canonicalize_name(name)] = version
    return FrozenDict(sorted(dists.items()))


async def _export_locked_subset(
    request: InstallLambdaRequirementsRequest, python_setup: PythonSetup
) -> Digest:
    """What the lockfile pins for these requirements on this platform, as a requirements file
    with every artifact's `--hash`.

    The artifacts come from the resolve's lockfile, or, for runtimes newer than its wheels, from
    its Lambda platform lockfile (see platform_lock_rules.py).

    Pants would hand pex the lockfile itself (`pex --lock`), but pex 2.1.137 then checks each
    locked artifact's Requires-Python against the interpreter running pex, Pants' own CPython 3.9,
    instead of the target platform (pex-tool/pex#2395, fixed in pex 2.3.1): every wheel requiring
    Python >= 3.10 fails to download. pip, given the target platform, checks the right version.
    """
    lockfile = await Get(Lockfile, Resolve(request.resolve, use_entire_lockfile=False))
    loaded, config = await MultiGet(
        Get(LoadedLockfile, LoadedLockfileRequest(lockfile)),
        Get(ResolvePexConfig, ResolvePexConfigRequest(request.resolve)),
    )
    if not loaded.is_pex_native:
        raise LambdaRequirementsError(
            f"The lockfile {lockfile.url} of the resolve `{request.resolve}` (used by "
            f"{request.description_of_origin}) is not a pex lockfile. Generate it with "
            f"`pants generate-lockfiles --resolve={request.resolve}`."
        )
    if loaded.metadata:
        # The check Pants makes before it subsets a lockfile: is it stale for the resolve?
        validate_metadata(
            loaded.metadata,
            InterpreterConstraints(
                python_setup.resolves_to_interpreter_constraints.get(
                    request.resolve, python_setup.interpreter_constraints
                )
            ),
            loaded.original_lockfile,
            consumed_req_strings=request.requirements,
            validate_consumed_req_strings=False,
            python_setup=python_setup,
            resolve_config=config,
        )
    lock_digest, lock_path, lock_url = loaded.lockfile_digest, loaded.lockfile_path, lockfile.url
    regenerate = f"pants generate-lockfiles --resolve={request.resolve}"
    if needs_platform_lock(request.runtime):
        platform_lock = await Get(
            LambdaPlatformLock,
            LambdaPlatformLockRequest(
                request.resolve,
                lockfile.url,
                request.runtime,
                request.architecture,
                request.requirements,
                request.description_of_origin,
            ),
        )
        lock_digest, lock_path, lock_url = (
            platform_lock.digest,
            platform_lock.path,
            platform_lock.source,
        )
        regenerate = regenerate_command(request.resolve)
    complete_platforms = await Get(
        CompletePlatforms, LambdaPlatformRequest(request.runtime, request.architecture)
    )
    input_digest = await Get(Digest, MergeDigests([complete_platforms.digest, lock_digest]))
    pin = await Get(
        Process,
        PexCliProcess(
            subcommand=("lock", "export-subset"),
            extra_args=(
                "--lock",
                lock_path,
                "--format",
                "pip",
                "--output",
                _LOCKED_SUBSET,
                *complete_platforms.generate_pex_arg_list(),
                *(("--manylinux", config.manylinux) if config.manylinux else ("--no-manylinux",)),
                *(f"--path-mapping={mapping}" for mapping in config.path_mappings),
                *request.requirements,
            ),
            additional_input_digest=input_digest,
            extra_env=PIP_ISOLATION_ENV,
            description=f"Pin {len(request.requirements)} requirements from {lock_url}",
            output_files=(_LOCKED_SUBSET,),
        ),
    )
    result = await Get(FallibleProcessResult, CacheFirstProcess(pin))
    if result.exit_code != 0:
        raise LambdaRequirementsError(
            f"The third-party requirements of {request.description_of_origin} "
            f"({', '.join(request.requirements)}) cannot be pinned for {request.runtime} "
            f"{request.architecture} from the lockfile {lock_url}:\n"
            f"{result.stderr.decode().strip()}\n"
            f"If a requirement changed since the lockfile was generated, run `{regenerate}`."
        )
    return result.output_digest


_PLATFORM_LOCK = "__lambda_platforms.lock"


async def install_for_platform(
    requirement_args: tuple[str, ...],
    inputs: Digest,
    config: ResolvePexConfig,
    runtime: str,
    architecture: str,
    description: str,
) -> Snapshot:
    """Resolves for the Lambda platform with pex and installs flat, as site-packages.

    Pants' own `PexRequest` would run pip with `[subprocess-environment]`'s variables only, so
    the pex Process is built here, with pip isolated from the machine's configuration.
    """
    complete_platforms = await Get(CompletePlatforms, LambdaPlatformRequest(runtime, architecture))
    platform = f"{runtime} {architecture}"
    return await install_flat(
        (
            *complete_platforms.generate_pex_arg_list(),
            *requirement_args,
            *config.pex_args(),
            "--resolver-version",
            "pip-2020-resolver",
        ),
        await Get(Digest, MergeDigests([complete_platforms.digest, inputs])),
        (_REQUIREMENTS_PEX, _SITE_PACKAGES),
        (f"Resolve {description} for {platform}", f"Install {description} for {platform}"),
        complete_platforms,
    )


@rule(desc="Install Lambda requirements")
async def install_lambda_requirements(
    request: InstallLambdaRequirementsRequest, python_setup: PythonSetup
) -> InstalledLambdaRequirements:
    if not request.requirements:
        return InstalledLambdaRequirements(EMPTY_DIGEST, FrozenDict())
    # Read first: a missing lockfile or a bad constraints file gets its own clear error.
    pins = await Get(
        PinnedVersions, PinnedVersionsRequest(request.resolve, request.description_of_origin)
    )
    if python_setup.enable_resolves:
        check_lockable(request.requirements, f"{request.description_of_origin} needs")
        # Exactly the locked artifacts, hash-checked; no resolving of our own.
        inputs = await _export_locked_subset(request, python_setup)
        requirement_args: tuple[str, ...] = ("--requirement", _LOCKED_SUBSET, "--no-transitive")
        config = await Get(ResolvePexConfig, ResolvePexConfigRequest(request.resolve))
    else:
        # Without resolves: from [python-repos], every version pinned to the constraints file's
        # (if any).
        inputs = await Get(
            Digest,
            CreateDigest(
                [FileContent(_CONSTRAINTS, "".join(f"{c}\n" for c in pins.constraints).encode())]
            ),
        )
        requirement_args = (*request.requirements, "--constraints", _CONSTRAINTS)
        config = await Get(ResolvePexConfig, ResolvePexConfigRequest(None))
    snapshot = await install_for_platform(
        requirement_args,
        inputs,
        config,
        request.runtime,
        request.architecture,
        f"{len(request.requirements)} requirements",
    )
    return InstalledLambdaRequirements(snapshot.digest, dists_in(snapshot.files), snapshot.files)


def rules():
    return [*collect_rules(), *pex.rules(), *cache_first.rules()]
