"""Lambda platform lockfiles: their names, paths and header.

Pants 2.17 writes a resolve's lockfile with pex 2.1.137, whose universal locks carry wheels for
CPython 3.12 at most. For each newer Lambda platform (runtime and architecture) that the resolve's
Lambda targets build for, `generate-lockfiles` also writes a Lambda platform lockfile,
`<lockfile stem>.<runtime>-<arch>.lock` beside the resolve's lockfile, under the resolve name
`<resolve>.lambda-platforms` (see platform_lock_rules.py).

These modules (`platform_lock_format.py`, `platform_lock_rules.py`, `platform_lock_targets.py`)
are one removable unit: once Pants runs a pex that locks wheels for every Lambda runtime (pex
2.3.1 fixed pex#2395), delete them and read every runtime's wheels from the resolve's lockfile.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass

from pex.interpreter_constraints import COMPATIBLE_PYTHON_VERSIONS

from pants.backend.python.subsystems.setup import PythonSetup
from pants.backend.python.util_rules.interpreter_constraints import InterpreterConstraints
from pants.util.docutil import bin_name

from pants_lambda.platforms import RUNTIMES

# The Python versions whose wheels pex puts into a universal lockfile. Pex 2.1.137 stops at 3.12.
LOCKFILE_PYTHON_VERSIONS = frozenset((v.major, v.minor) for v in COMPATIBLE_PYTHON_VERSIONS)

SUFFIX = ".lambda-platforms"
_METADATA_BEGIN = "// --- BEGIN LAMBDA PLATFORM LOCKFILE METADATA ---"
_METADATA_END = "// --- END LAMBDA PLATFORM LOCKFILE METADATA ---"


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


@functools.lru_cache(maxsize=None)
def admitted_runtimes(interpreter_constraints: InterpreterConstraints) -> tuple[str, ...]:
    """The runtimes that need a Lambda platform lockfile and that the constraints admit.

    Remembered: dependency inference asks for every Lambda target, and each answer parses the
    constraints."""
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
