"""The Lambda platforms this plugin builds for, and the pex complete platforms that describe them.

Third-party code is resolved for the Lambda runtime's interpreter, CPU and glibc, whatever machine
runs the build: the complete platform lists exactly the wheel tags Lambda can load.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from packaging.tags import compatible_tags, cpython_tags

from pants.backend.python.util_rules.pex import CompletePlatforms
from pants.engine.fs import CreateDigest, Digest, FileContent
from pants.engine.rules import Get, collect_rules, rule


@dataclass(frozen=True)
class LambdaRuntime:
    name: str
    python_version: tuple[int, int]
    amazon_linux: str
    glibc: tuple[int, int]


# Amazon Linux 2 ships glibc 2.26, Amazon Linux 2023 glibc 2.34.
RUNTIMES: dict[str, LambdaRuntime] = {
    runtime.name: runtime
    for runtime in (
        LambdaRuntime("python3.10", (3, 10), "Amazon Linux 2", (2, 26)),
        LambdaRuntime("python3.11", (3, 11), "Amazon Linux 2", (2, 26)),
        LambdaRuntime("python3.12", (3, 12), "Amazon Linux 2023", (2, 34)),
        LambdaRuntime("python3.13", (3, 13), "Amazon Linux 2023", (2, 34)),
        LambdaRuntime("python3.14", (3, 14), "Amazon Linux 2023", (2, 34)),
    )
}

# Lambda's architecture names, mapped to the machine names wheels are tagged with.
ARCHITECTURES: dict[str, str] = {"x86_64": "x86_64", "arm64": "aarch64"}

# The legacy manylinux names are aliases of a glibc version (PEP 600).
_LEGACY_MANYLINUX = {(2, 17): "manylinux2014", (2, 12): "manylinux2010", (2, 5): "manylinux1"}


def manylinux_platform_tags(glibc: tuple[int, int], machine: str) -> list[str]:
    """Platform tags a glibc of this version accepts, most specific first."""
    major, newest_minor = glibc
    tags = []
    for minor in range(newest_minor, 4, -1):
        tags.append(f"manylinux_{major}_{minor}_{machine}")
        legacy = _LEGACY_MANYLINUX.get((major, minor))
        if legacy and (machine in ("x86_64", "i686") or legacy == "manylinux2014"):
            tags.append(f"{legacy}_{machine}")
    return tags


def complete_platform(runtime: LambdaRuntime, architecture: str) -> dict:
    """A pex `--complete-platform` description of a Lambda runtime on one architecture."""
    machine = ARCHITECTURES[architecture]
    platforms = manylinux_platform_tags(runtime.glibc, machine)
    version = runtime.python_version
    tags = [
        *cpython_tags(version, platforms=platforms),
        *compatible_tags(version, interpreter=f"cp{version[0]}{version[1]}", platforms=platforms),
    ]
    dotted = f"{version[0]}.{version[1]}"
    return {
        "marker_environment": {
            "implementation_name": "cpython",
            "implementation_version": f"{dotted}.0",
            "os_name": "posix",
            "platform_machine": machine,
            "platform_python_implementation": "CPython",
            "platform_release": "",
            "platform_system": "Linux",
            "platform_version": "",
            "python_full_version": f"{dotted}.0",
            "python_version": dotted,
            "sys_platform": "linux",
        },
        "compatible_tags": [str(tag) for tag in tags],
    }


def complete_platform_json(runtime: str, architecture: str) -> bytes:
    return json.dumps(
        complete_platform(RUNTIMES[runtime], architecture), indent=2, sort_keys=True
    ).encode()


@dataclass(frozen=True)
class LambdaPlatformRequest:
    runtime: str
    architecture: str


_PLATFORM_FILE = "__lambda_platform.json"


@rule
async def lambda_complete_platforms(request: LambdaPlatformRequest) -> CompletePlatforms:
    """The platform as pex takes it: `--complete-platform __lambda_platform.json`."""
    content = complete_platform_json(request.runtime, request.architecture)
    digest = await Get(Digest, CreateDigest([FileContent(_PLATFORM_FILE, content)]))
    return CompletePlatforms([_PLATFORM_FILE], digest=digest)


def rules():
    return collect_rules()
