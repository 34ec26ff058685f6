"""Installs third-party requirements for a Lambda platform, from the resolve's lockfile.

Resolving and installing run as pex Processes, so they are cached locally and remotely, and they
only depend on the requirement strings, the lockfile and the platform: editing first-party code
never re-resolves anything.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from packaging.utils import canonicalize_name
from pex.interpreter_constraints import COMPATIBLE_PYTHON_VERSIONS

from pants.backend.python.subsystems.setup import PythonSetup
from pants.backend.python.target_types import PexLayout
from pants.backend.python.util_rules import pex, pex_venv
from pants.backend.python.util_rules.interpreter_constraints import InterpreterConstraints
from pants.backend.python.util_rules.pex import CompletePlatforms, Pex, PexRequest
from pants.backend.python.util_rules.pex_cli import PexCliProcess
from pants.backend.python.util_rules.pex_environment import PythonExecutable
from pants.backend.python.util_rules.pex_requirements import (
    LoadedLockfile,
    LoadedLockfileRequest,
    Lockfile,
    PexRequirements,
    Resolve,
    ResolvePexConfig,
    ResolvePexConfigRequest,
    strip_comments_from_pex_json_lockfile,
    validate_metadata,
)
from pants.backend.python.util_rules.pex_venv import PexVenv, PexVenvLayout, PexVenvRequest
from pants.engine.fs import (
    EMPTY_DIGEST,
    CreateDigest,
    Digest,
    DigestContents,
    FileContent,
    MergeDigests,
    PathGlobs,
    RemovePrefix,
    Snapshot,
)
from pants.engine.process import ProcessExecutionFailure, ProcessResult
from pants.engine.rules import Get, MultiGet, collect_rules, rule
from pants.util.frozendict import FrozenDict

from pants_lambda.platforms import RUNTIMES, complete_platform_json

_PLATFORM_FILE = "__lambda_platform.json"
_SITE_PACKAGES = "site-packages"
_REQUIREMENTS_PEX = "lambda-requirements.pex"

# The Python versions whose wheels pex puts into a universal lockfile. Pex 2.1.137 stops at 3.12,
# so its lockfiles carry no cp313/cp314 wheels; newer runtimes resolve from the index instead, with
# every version pinned to the lockfile's.
LOCKFILE_PYTHON_VERSIONS = frozenset((v.major, v.minor) for v in COMPATIBLE_PYTHON_VERSIONS)


class LambdaResolveInterpreterError(Exception):
    pass


@dataclass(frozen=True)
class LockedVersionsRequest:
    resolve: str


@dataclass(frozen=True)
class LockedVersions:
    """What a resolve's lockfile pins: canonical project name -> version."""

    versions: FrozenDict[str, str]


@rule
async def read_locked_versions(
    request: LockedVersionsRequest, python_setup: PythonSetup
) -> LockedVersions:
    lockfile = python_setup.resolves[request.resolve]
    contents = await Get(DigestContents, PathGlobs([lockfile]))
    if not contents:
        return LockedVersions(FrozenDict())
    lock = json.loads(strip_comments_from_pex_json_lockfile(contents[0].content))
    versions = {
        canonicalize_name(req["project_name"]): req["version"]
        for locked_resolve in lock.get("locked_resolves", ())
        for req in locked_resolve.get("locked_requirements", ())
    }
    return LockedVersions(FrozenDict(sorted(versions.items())))


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


def dists_in(paths: tuple[str, ...]) -> FrozenDict[str, str]:
    """The distributions installed in a site-packages listing, from their `.dist-info` folders."""
    dists = {}
    for path in paths:
        top = path.split("/", 1)[0]
        if top.endswith(".dist-info"):
            name, _, version = top[: -len(".dist-info")].rpartition("-")
            dists[canonicalize_name(name)] = version
    return FrozenDict(sorted(dists.items()))


# Pex 2.1.137 checks each locked artifact's Requires-Python against the interpreter running pex
# rather than the target platform (pex-tool/pex#2395, fixed in pex 2.3.1). Pants runs pex on its
# own CPython 3.9, so any locked wheel requiring Python >= 3.10 would fail to download. Pex
# 2.1.137 itself runs on CPython 3.11 at most, and so does `generate-lockfiles` for the resolve.
_PEX_RUNS_ON = ((3, 10), (3, 11))


async def _interpreter_to_run_pex(request: InstallLambdaRequirementsRequest) -> PythonExecutable:
    """The newest CPython that can run pex, up to the runtime's version: as close to the runtime
    as pex allows, so that the Requires-Python check passes for what the runtime can install."""
    runtime_version = RUNTIMES[request.runtime].python_version
    newest = max(_PEX_RUNS_ON)
    candidates = sorted({min(runtime_version, newest), min(_PEX_RUNS_ON)}, reverse=True)
    constraints = [f"CPython>={v[0]}.{v[1]},<{newest[0]}.{newest[1] + 1}" for v in candidates]
    for constraint in constraints:
        try:
            return await Get(PythonExecutable, InterpreterConstraints([constraint]))
        except ProcessExecutionFailure:
            continue
    raise LambdaResolveInterpreterError(
        f"Building the third-party requirements of {request.description_of_origin} for "
        f"{request.runtime} from the `{request.resolve}` lockfile needs a local CPython "
        f"{' or '.join(f'{v[0]}.{v[1]}' for v in candidates)} to run pex, and none was found "
        "(pex 2.1.137 checks Requires-Python against the interpreter it runs on: "
        "pex-tool/pex#2395). Install one, e.g. `pyenv install "
        f"{candidates[0][0]}.{candidates[0][1]}`, where `[python-bootstrap].search_path` finds it."
    )


async def _resolve_from_lockfile(
    request: InstallLambdaRequirementsRequest,
    complete_platforms: CompletePlatforms,
    description: str,
    python_setup: PythonSetup,
) -> Pex:
    """Subsets the resolve's lockfile for the Lambda platform, as Pants' own PexRequest would,
    but with pex running on the interpreter `_interpreter_to_run_pex` picks."""
    lockfile = await Get(Lockfile, Resolve(request.resolve, use_entire_lockfile=False))
    loaded, config = await MultiGet(
        Get(LoadedLockfile, LoadedLockfileRequest(lockfile)),
        Get(ResolvePexConfig, ResolvePexConfigRequest(request.resolve)),
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
    python = await _interpreter_to_run_pex(request)
    input_digest = await Get(
        Digest, MergeDigests([complete_platforms.digest, loaded.lockfile_digest])
    )
    result = await Get(
        ProcessResult,
        PexCliProcess(
            subcommand=(),
            extra_args=(
                "--output-file",
                _REQUIREMENTS_PEX,
                "--no-emit-warnings",
                "--layout",
                PexLayout.PACKED.value,
                *complete_platforms.generate_pex_arg_list(),
                *request.requirements,
                "--lock",
                loaded.lockfile_path,
                *config.pex_args(),
            ),
            additional_input_digest=input_digest,
            extra_env={"PEX_PYTHON": python.path},
            description=description,
            output_directories=(_REQUIREMENTS_PEX,),
            concurrency_available=len(request.requirements),
        ),
    )
    return Pex(digest=result.output_digest, name=_REQUIREMENTS_PEX, python=None)


@rule(desc="Install Lambda requirements")
async def install_lambda_requirements(
    request: InstallLambdaRequirementsRequest, python_setup: PythonSetup
) -> InstalledLambdaRequirements:
    if not request.requirements:
        return InstalledLambdaRequirements(EMPTY_DIGEST, FrozenDict())
    platform_digest = await Get(
        Digest,
        CreateDigest(
            [
                FileContent(
                    _PLATFORM_FILE, complete_platform_json(request.runtime, request.architecture)
                )
            ]
        ),
    )
    complete_platforms = CompletePlatforms([_PLATFORM_FILE], digest=platform_digest)
    platform_name = f"{request.runtime} {request.architecture}"
    description = f"Resolve {len(request.requirements)} requirements for {platform_name}"
    if RUNTIMES[request.runtime].python_version in LOCKFILE_PYTHON_VERSIONS:
        requirements_pex = await _resolve_from_lockfile(
            request, complete_platforms, description, python_setup
        )
    else:
        locked = await Get(LockedVersions, LockedVersionsRequest(request.resolve))
        requirements_pex = await Get(
            Pex,
            PexRequest(
                output_filename=_REQUIREMENTS_PEX,
                internal_only=False,
                layout=PexLayout.PACKED,
                requirements=PexRequirements(
                    request.requirements,
                    constraints_strings=(f"{p}=={v}" for p, v in locked.versions.items()),
                    description_of_origin=request.description_of_origin,
                ),
                complete_platforms=complete_platforms,
                description=description,
            ),
        )
    venv = await Get(
        PexVenv,
        PexVenvRequest(
            pex=requirements_pex,
            layout=PexVenvLayout.FLAT,
            output_path=Path(_SITE_PACKAGES),
            complete_platforms=complete_platforms,
            description=f"Install {len(request.requirements)} requirements for {platform_name}",
        ),
    )
    snapshot = await Get(Snapshot, RemovePrefix(venv.digest, _SITE_PACKAGES))
    return InstalledLambdaRequirements(snapshot.digest, dists_in(snapshot.files))


def rules():
    return [*collect_rules(), *pex.rules(), *pex_venv.rules()]
