"""Installs third-party requirements for a Lambda platform, from the resolve's lockfile.

Resolving and installing run as pex Processes, so they are cached locally and remotely, and they
only depend on the requirement strings, the lockfile and the platform: editing first-party code
never re-resolves anything.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from packaging.utils import canonicalize_name
from pex.interpreter_constraints import COMPATIBLE_PYTHON_VERSIONS

from pants.backend.python.subsystems.setup import PythonSetup
from pants.backend.python.target_types import PexLayout
from pants.backend.python.util_rules import pex, pex_venv
from pants.backend.python.util_rules.pex import CompletePlatforms, Pex, PexRequest
from pants.backend.python.util_rules.pex_requirements import PexRequirements, Resolve
from pants.backend.python.util_rules.pex_venv import PexVenv, PexVenvLayout, PexVenvRequest
from pants.engine.fs import (
    EMPTY_DIGEST,
    CreateDigest,
    Digest,
    DigestContents,
    FileContent,
    PathGlobs,
    RemovePrefix,
    Snapshot,
)
from pants.engine.rules import Get, collect_rules, rule
from pants.util.frozendict import FrozenDict

from pants_lambda.platforms import RUNTIMES, complete_platform_json

_PLATFORM_FILE = "__lambda_platform.json"
_SITE_PACKAGES = "site-packages"

# The Python versions whose wheels pex puts into a universal lockfile. Pex 2.1.137 stops at 3.12,
# so its lockfiles carry no cp313/cp314 wheels; newer runtimes resolve from the index instead, with
# every version pinned to the lockfile's.
LOCKFILE_PYTHON_VERSIONS = frozenset((v.major, v.minor) for v in COMPATIBLE_PYTHON_VERSIONS)


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
    # Pants' lockfiles start with a `//` comment header, then the pex lock JSON.
    text = contents[0].content.decode()
    lock = json.loads(
        os.linesep.join(line for line in text.splitlines() if not line.startswith("//"))
    )
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


@rule(desc="Install Lambda requirements")
async def install_lambda_requirements(
    request: InstallLambdaRequirementsRequest,
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
    if RUNTIMES[request.runtime].python_version in LOCKFILE_PYTHON_VERSIONS:
        requirements = PexRequirements(
            request.requirements,
            from_superset=Resolve(request.resolve, use_entire_lockfile=False),
            description_of_origin=request.description_of_origin,
        )
    else:
        locked = await Get(LockedVersions, LockedVersionsRequest(request.resolve))
        requirements = PexRequirements(
            request.requirements,
            constraints_strings=(f"{project}=={v}" for project, v in locked.versions.items()),
            description_of_origin=request.description_of_origin,
        )
    requirements_pex = await Get(
        Pex,
        PexRequest(
            output_filename="lambda-requirements.pex",
            internal_only=False,
            layout=PexLayout.PACKED,
            requirements=requirements,
            complete_platforms=complete_platforms,
            description=f"Resolve {len(request.requirements)} requirements for {platform_name}",
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
