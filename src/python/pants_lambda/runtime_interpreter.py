"""A local CPython of a Lambda runtime's Python version, for the steps that must use its grammar.

Pants itself runs on CPython 3.9, whose parser rejects valid python3.10+ code (`match`, `except*`,
PEP 695 generics, PEP 701 f-strings, ...). The handler check runs on the runtime's own CPython,
found where Pants finds every interpreter: `[python-bootstrap].search_path`.
"""

from __future__ import annotations

from dataclasses import dataclass

from pants.core.subsystems.python_bootstrap import PythonBootstrap
from pants.core.util_rules.system_binaries import (
    BinaryPathRequest,
    BinaryPaths,
    BinaryPathTest,
    SearchPath,
)
from pants.engine.process import Process, ProcessCacheScope, ProcessResult
from pants.engine.rules import Get, collect_rules, rule


@dataclass(frozen=True)
class RuntimeInterpreterRequest:
    runtime: str  # A Lambda runtime name, e.g. "python3.12": also the interpreter's file name.


@dataclass(frozen=True)
class RuntimeInterpreter:
    runtime: str
    path: str | None  # None when no CPython of the runtime's version was found.
    version: str  # The exact version, e.g. "3.12.1"; "" when not found.
    searched: tuple[str, ...]  # The folders Pants looked in.

    @property
    def python_version(self) -> str:
        return self.runtime[len("python") :]

    def where_pants_looked(self) -> str:
        return (
            f"Pants looks for `{self.runtime}` in `[python-bootstrap].search_path` (`<PYENV>` is "
            f"pyenv's versions, `<PATH>` your PATH), here: {', '.join(self.searched) or '(nothing)'}"
        )


@rule(desc="Find a CPython of a Lambda runtime")
async def find_runtime_interpreter(
    request: RuntimeInterpreterRequest, bootstrap: PythonBootstrap
) -> RuntimeInterpreter:
    searched = tuple(bootstrap.interpreter_search_paths)
    found = await Get(
        BinaryPaths,
        BinaryPathRequest(
            binary_name=request.runtime,
            search_path=SearchPath(searched),
            test=BinaryPathTest(
                ["-c", "import sys; sys.exit(sys.implementation.name != 'cpython')"],
                fingerprint_stdout=False,
            ),
        ),
    )
    if not found.first_path:
        return RuntimeInterpreter(request.runtime, None, "", searched)
    path = found.first_path.path
    # The exact version goes into the keys of the processes that run on it.
    version = await Get(
        ProcessResult,
        Process(
            argv=(path, "-I", "-S", "-c", "import platform; print(platform.python_version())"),
            description=f"Read the version of {path}",
            cache_scope=ProcessCacheScope.PER_RESTART_SUCCESSFUL,
        ),
    )
    return RuntimeInterpreter(request.runtime, path, version.stdout.decode().strip(), searched)


def rules():
    return collect_rules()
