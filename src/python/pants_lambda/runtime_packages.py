"""The distributions AWS's Python runtimes provide themselves, at the runtimes' versions.

Lambda's Python runtimes put boto3 and what it needs on `sys.path` after the function's
`/var/task` and the layers' `/opt/python` (python3.10 to python3.12 also have setuptools, whose
`pkg_resources` older SDKs such as the X-Ray SDK import). A function can leave them to the
runtime (`include_runtime_provided=False`), imports of them are never "unprovided", and `pants
run` installs these exact versions, hash-checked, behind the function's own files. The README's
"The runtime's own packages" names the sources of the table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from pants.backend.python.pip_requirement import PipRequirement
from pants.backend.python.util_rules.pex_requirements import (
    ResolvePexConfig,
    ResolvePexConfigRequest,
)
from pants.engine.fs import CreateDigest, Digest, FileContent
from pants.engine.rules import Get, MultiGet, collect_rules, rule
from pants.engine.target import InvalidFieldException

from pants_lambda.requirements_rules import install_for_platform

# The top-level import names of each distribution.
_MODULES: dict[str, tuple[str, ...]] = {
    "boto3": ("boto3",),
    "botocore": ("botocore",),
    "jmespath": ("jmespath",),
    "python-dateutil": ("dateutil",),
    "s3transfer": ("s3transfer",),
    "setuptools": ("setuptools", "pkg_resources", "_distutils_hack"),
    "six": ("six",),
    "urllib3": ("urllib3",),
}

# What boto3 1.40.4 needs, at the versions seen in the runtimes' base images (urllib3) or, where
# no source says, the newest that boto3 1.40.4's requirements admit: (canonical project name,
# version, sha256 of its wheel on PyPI).
_SDK = (
    ("boto3", "1.40.4", "95cdc86454e9ff43e0693c5d807a54ce6813b6711d3543a0052ead5216b93367"),
    ("botocore", "1.40.4", "4e131c52731e10a6af998c2ac3bfbda12e6ecef0e3633268c7752d0502c74197"),
    ("jmespath", "1.0.1", "02e2e4cc71b5bcab88332eebf907519190dd9e6e82107fa7f83b1003a6252980"),
    (
        "python-dateutil",
        "2.9.0.post0",
        "a8b2bc7bffae282281c8140a97d3aa9c14da0b136dfe83f850eea9a5f7470427",
    ),
    ("s3transfer", "0.13.1", "a981aa7429be23fe6dfc13e80e4020057cbab622b08c0315288758d67cabc724"),
    ("six", "1.17.0", "4721f391ed90541fddacab5acf947aa0d3dc7d27b2e1e8eda2be8970586c3274"),
    ("urllib3", "1.26.18", "34b97092d7e0a3a8cf7cd10e386f401b3737364026c45e622aa02903dffe0f07"),
)
_SETUPTOOLS_56 = (
    ("setuptools", "56.0.0", "7430499900e443375ba9449a9cc5d78506b801e929fef4a186496012f93683b5"),
)
_SETUPTOOLS_68 = (
    ("setuptools", "68.0.0", "11e52c67415a381d10d6b462ced9cfb97066179f0e871399e006c4ab101fc85f"),
)

# Each runtime's distributions. AWS publishes no current table and updates them in place, by
# Region (see the README): this is the latest state the sources show, identical SDKs everywhere.
_PROVIDED: dict[str, tuple[tuple[str, str, str], ...]] = {
    "python3.10": _SDK + _SETUPTOOLS_56,
    "python3.11": _SDK + _SETUPTOOLS_56,
    "python3.12": _SDK + _SETUPTOOLS_68,
    "python3.13": _SDK,
    "python3.14": _SDK,
}


# What AWS advises for what its runtimes provide but a function should bundle.
_BUNDLE_ADVICE: dict[str, str] = {}


def runtime_dists(runtime: str) -> frozenset[str]:
    """The canonical project names of what the runtime provides."""
    return frozenset(project for project, _, _ in _PROVIDED[runtime])


def check_runtime_versions(
    target: str, requirements: Mapping[str, str], runtimes: tuple[str, ...]
) -> None:
    """What a target leaves to its runtimes (`include_runtime_provided=False`) must satisfy its
    requirements there: the runtime's version is what runs."""
    for requirement, project in sorted(requirements.items()):
        for runtime in runtimes:
            versions = {p: v for p, v, _ in _PROVIDED[runtime]}
            if project not in versions:
                continue
            if (
                versions[project]
                not in PipRequirement.parse(
                    requirement, description_of_origin=target
                ).as_pkg_resources_requirement()
            ):
                raise InvalidFieldException(
                    f"{target} needs {requirement} and leaves {project} to the {runtime} runtime "
                    f"(`include_runtime_provided=False`), which provides {project} "
                    f"{versions[project]}. Bundle it (remove `include_runtime_provided=False`) or "
                    "require a version the runtime has."
                )


def left_to_runtime_advice(runtime: str, module: str) -> str | None:
    """What AWS says of leaving the distribution of a top-level `module` to `runtime`, if it
    advises against it."""
    for project, _, _ in _PROVIDED[runtime]:
        if module in _MODULES[project] and project in _BUNDLE_ADVICE:
            return _BUNDLE_ADVICE[project].format(runtime=runtime)
    return None


def runtime_modules(runtime: str) -> frozenset[str]:
    """The top-level modules the runtime's own packages provide."""
    return frozenset(module for project, _, _ in _PROVIDED[runtime] for module in _MODULES[project])


def requirements_file(runtime: str) -> str:
    """A pip requirements file pinning the runtime's packages, each by its wheel's hash."""
    return "".join(
        f"{project}=={version} --hash=sha256:{sha256}\n"
        for project, version, sha256 in _PROVIDED[runtime]
    )


@dataclass(frozen=True)
class RuntimePackagesRequest:
    runtime: str
    architecture: str


@dataclass(frozen=True)
class InstalledRuntimePackages:
    digest: Digest  # A site-packages folder's content, at the root of the digest.


_REQUIREMENTS = "__lambda_runtime_packages.txt"


@rule(desc="Install a Lambda runtime's own packages")
async def install_runtime_packages(request: RuntimePackagesRequest) -> InstalledRuntimePackages:
    requirements, config = await MultiGet(
        Get(
            Digest,
            CreateDigest([FileContent(_REQUIREMENTS, requirements_file(request.runtime).encode())]),
        ),
        # The indexes and find-links of `[python-repos]`, as for requirements without a resolve.
        Get(ResolvePexConfig, ResolvePexConfigRequest(None)),
    )
    snapshot = await install_for_platform(
        ("--requirement", _REQUIREMENTS, "--no-transitive"),
        requirements,
        config,
        request.runtime,
        request.architecture,
        f"the {request.runtime} runtime's own packages",
    )
    return InstalledRuntimePackages(snapshot.digest)


def rules():
    return collect_rules()
