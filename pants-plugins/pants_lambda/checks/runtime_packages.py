"""The distributions AWS's Python runtimes provide themselves, at the runtimes' versions.

Lambda's Python runtimes put boto3 and what it needs on `sys.path` after the function's
`/var/task` and the layers' `/opt/python` (python3.10 to python3.12 also have setuptools, whose
`pkg_resources` older SDKs such as the X-Ray SDK import), their runtime interface client and the
SnapStart hooks library it needs, and from python3.13 the durable functions SDK. A function can
leave them to the runtime (`include_runtime_provided=False`), imports of them are never
"unprovided", and `pants run` installs these exact versions, hash-checked, behind the function's
own files. The README's "The runtime's own packages" names the sources of the table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Tuple

from pants.backend.python.pip_requirement import PipRequirement
from pants.backend.python.util_rules.pex_requirements import (
    ResolvePexConfig,
    ResolvePexConfigRequest,
)
from pants.engine.fs import CreateDigest, Digest, FileContent
from pants.engine.rules import Get, MultiGet, collect_rules, rule
from pants.engine.target import InvalidFieldException

from pants_lambda.util_rules.requirements_rules import install_for_platform

# The top-level import names of each distribution.
_MODULES: dict[str, tuple[str, ...]] = {
    "aws-durable-execution-sdk-python": ("aws_durable_execution_sdk_python",),
    "awslambdaric": ("awslambdaric", "runtime_client"),
    "boto3": ("boto3",),
    "botocore": ("botocore",),
    "jmespath": ("jmespath",),
    "python-dateutil": ("dateutil",),
    "s3transfer": ("s3transfer",),
    "setuptools": ("setuptools", "pkg_resources", "_distutils_hack"),
    "simplejson": ("simplejson",),
    "six": ("six",),
    "snapshot-restore-py": ("snapshot_restore_py",),
    "urllib3": ("urllib3",),
}

# (canonical project name, version, sha256 of each of its wheels the runtime's platforms take).
Dist = Tuple[str, str, Tuple[str, ...]]

# What boto3 1.40.4 needs, at the versions seen in the runtimes' base images (urllib3) or, where
# no source says, the newest that boto3 1.40.4's requirements admit.
_SDK: tuple[Dist, ...] = (
    ("boto3", "1.40.4", ("95cdc86454e9ff43e0693c5d807a54ce6813b6711d3543a0052ead5216b93367",)),
    ("botocore", "1.40.4", ("4e131c52731e10a6af998c2ac3bfbda12e6ecef0e3633268c7752d0502c74197",)),
    ("jmespath", "1.0.1", ("02e2e4cc71b5bcab88332eebf907519190dd9e6e82107fa7f83b1003a6252980",)),
    (
        "python-dateutil",
        "2.9.0.post0",
        ("a8b2bc7bffae282281c8140a97d3aa9c14da0b136dfe83f850eea9a5f7470427",),
    ),
    ("s3transfer", "0.13.1", ("a981aa7429be23fe6dfc13e80e4020057cbab622b08c0315288758d67cabc724",)),
    ("six", "1.17.0", ("4721f391ed90541fddacab5acf947aa0d3dc7d27b2e1e8eda2be8970586c3274",)),
    ("urllib3", "1.26.18", ("34b97092d7e0a3a8cf7cd10e386f401b3737364026c45e622aa02903dffe0f07",)),
)
# python3.13 and later include the durable functions SDK, which needs boto3 1.43.114 or later:
# their boto3 and botocore are the oldest that admit it, s3transfer the newest boto3 admits.
_SDK_DURABLE: tuple[Dist, ...] = (
    ("boto3", "1.43.114", ("d9cac2eb921ce674970cef1c9ad750f85ee3a846aedcf188d18368fb9eb6da23",)),
    (
        "botocore",
        "1.43.114",
        ("d1c441a22e93e158de5b1e026205f5d6d67a4545d10540c5090c62dccb3a9eca",),
    ),
    ("s3transfer", "0.19.3", ("24eb7535804306355e31c952a90022bf5b2f9d760f9a11062c7493a217c08553",)),
    *(dist for dist in _SDK if dist[0] not in ("boto3", "botocore", "s3transfer")),
)
_SETUPTOOLS_56: tuple[Dist, ...] = (
    ("setuptools", "56.0.0", ("7430499900e443375ba9449a9cc5d78506b801e929fef4a186496012f93683b5",)),
)
_SETUPTOOLS_68: tuple[Dist, ...] = (
    ("setuptools", "68.0.0", ("11e52c67415a381d10d6b462ced9cfb97066179f0e871399e006c4ab101fc85f",)),
)

# The runtime interface client, which starts every Python function, and what it needs: the
# SnapStart hooks library (from awslambdaric 3.0.0) and simplejson. Its wheels are compiled: one
# per CPython, for x86_64 and aarch64 (manylinux2014).
_RIC_WHEELS = {
    "python3.10": (
        "71feb2fb303b73642a433154f2ea9eba8dd8c1da0863a3ff4c3916b9945b0de1",
        "4e53dbdf07c2c56824a7c539aeb65d15ea26858c1d7cdc89edf4d976dd50450f",
    ),
    "python3.11": (
        "ea87f581768a7558b493a59ee9f4de6dcbc6444b888169afa01af71396ed731d",
        "0bfd063e2b4c3f1c58e5a561fab3a15d71ed85dbfacb0a7a693b8d20f1d1c544",
    ),
    "python3.12": (
        "f04e362be24ae21f34beb9ad4847f94ebb915ccd5120925a227f721af20a411d",
        "1c6c1a9df7b32043f820204c035c0c9496b8203c8a39331712cb5f058ea6be8f",
    ),
    "python3.13": (
        "2215bca01bbdbdfa9579bb4204f55d3e91e6dee589b88f8f9d20a285a790c468",
        "bd3ebafddd6c3283a2c7f121164f304273256c7fe3f9847be44d0c5f6fd2d792",
    ),
    "python3.14": (
        "a153a632c70b6bb3f2783bcf609e38182740d812a2424be03a26782484ff6610",
        "702ead5196cf5ff30dcab997e4e4fca7ba020a258fa5ef996ef95955a0abab25",
    ),
}


def _ric(runtime: str) -> tuple[Dist, ...]:
    return (
        ("awslambdaric", "4.2.2", _RIC_WHEELS[runtime]),
        (
            "simplejson",
            "3.20.2",
            ("3b6bb7fb96efd673eac2e4235200bfffdc2353ad12c54117e1e4e2fc485ac017",),
        ),
        (
            "snapshot-restore-py",
            "1.0.0",
            ("38f99e696793790f54658e71c68c7a8a40cea877c81232b5052383b1301aceba",),
        ),
    )


# The durable functions SDK: python3.13 and later (its newest release; no source names the
# runtimes' version).
_DURABLE: tuple[Dist, ...] = (
    (
        "aws-durable-execution-sdk-python",
        "3.0.0",
        ("7748ad82ef0fce6e6a6531c92d4c5a6023c5d4e643217fe29b2c6b4252fda66d",),
    ),
)

# Each runtime's distributions. AWS publishes no current table and updates them in place, by
# Region (see the README): this is the latest state the sources show, identical SDKs everywhere.
_PROVIDED: dict[str, tuple[Dist, ...]] = {
    "python3.10": _SDK + _SETUPTOOLS_56 + _ric("python3.10"),
    "python3.11": _SDK + _SETUPTOOLS_56 + _ric("python3.11"),
    "python3.12": _SDK + _SETUPTOOLS_68 + _ric("python3.12"),
    "python3.13": _SDK_DURABLE + _ric("python3.13") + _DURABLE,
    "python3.14": _SDK_DURABLE + _ric("python3.14") + _DURABLE,
}

# What AWS advises for what its runtimes provide but a function should bundle.
_BUNDLE_ADVICE: dict[str, str] = {
    "aws-durable-execution-sdk-python": (
        "the durable execution SDK (`aws-durable-execution-sdk-python`), imported at {where}, to "
        'the {runtime} runtime. AWS: "Lambda Node.js and Python runtimes include the durable '
        "execution SDK for testing and development. However, we recommend including the SDK in "
        "your deployment package for production. This ensures version consistency and avoids potential runtime "
        'updates that might affect your function behavior." '
        "(https://docs.aws.amazon.com/lambda/latest/dg/durable-supported-runtimes.html). Bundle "
        "it: a `python_requirement` for `aws-durable-execution-sdk-python` puts it in the ZIP, or "
        "in a `lambda_layer` of the function's `layers` that depends on it."
    ),
}


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
    advises against it: a message to complete with `.format(where=...)`."""
    for project, _, _ in _PROVIDED[runtime]:
        if module in _MODULES[project] and project in _BUNDLE_ADVICE:
            return _BUNDLE_ADVICE[project].replace("{runtime}", runtime)
    return None


def runtime_modules(runtime: str) -> frozenset[str]:
    """The top-level modules the runtime's own packages provide."""
    return frozenset(module for project, _, _ in _PROVIDED[runtime] for module in _MODULES[project])


def requirements_file(runtime: str) -> str:
    """A pip requirements file pinning the runtime's packages, each by its wheel's hash."""
    return "".join(
        f"{project}=={version} {' '.join(f'--hash=sha256:{h}' for h in hashes)}\n"
        for project, version, hashes in _PROVIDED[runtime]
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
