"""A local CPython of a Lambda runtime's Python version, for the steps that must use its grammar.

Pants itself runs on CPython 3.9, whose parser rejects valid python3.10+ code (`match`, `except*`,
PEP 695 generics, PEP 701 f-strings, ...). The handler check runs on the runtime's own CPython,
found where Pants finds every interpreter: `[python-bootstrap].search_path`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from pants.core.subsystems.python_bootstrap import PythonBootstrap
from pants.engine.process import Process, ProcessResult
from pants.engine.rules import Get, collect_rules, rule
from pants.util.logging import LogLevel

from pants_lambda.util_rules import cache_first
from pants_lambda.util_rules.cache_first import CacheFirstProcess


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
            "pyenv's versions, `<PATH>` your PATH), here: "
            f"{', '.join(self.searched) or '(nothing)'}"
        )


def _executables(name: str, folders: tuple[str, ...]) -> list[tuple[str, os.stat_result]]:
    found = []
    for folder in folders:
        path = os.path.join(folder, name)
        if os.path.isfile(path) and os.access(path, os.X_OK):
            found.append((path, os.stat(path)))
    return found


@rule(desc="Find a CPython of a Lambda runtime")
async def find_runtime_interpreter(
    request: RuntimeInterpreterRequest, bootstrap: PythonBootstrap
) -> RuntimeInterpreter:
    """The first CPython named like the runtime in the search path.

    Looked up here rather than by a process, like Pants' own expansion of `<PYENV>`: a probe
    process would run again in every Pants run without pantsd. With pantsd, an interpreter
    installed or replaced while it runs is seen once pantsd restarts.
    """
    searched = tuple(bootstrap.interpreter_search_paths)
    for path, stat in _executables(request.runtime, searched):
        # Cached like any process, keyed on the file's size and modification time: a new
        # install at the same path is asked again.
        probe = await Get(
            ProcessResult,
            CacheFirstProcess(
                Process(
                    argv=(
                        path,
                        "-I",
                        "-S",
                        "-c",
                        "import platform, sys; "
                        "print(sys.implementation.name, platform.python_version())",
                    ),
                    env={"LAMBDA_INTERPRETER_FILE": f"{stat.st_size}-{stat.st_mtime_ns}"},
                    description=f"Read the version of {path}",
                    level=LogLevel.DEBUG,
                )
            ),
        )
        implementation, version = probe.stdout.decode().split()
        if implementation == "cpython":
            return RuntimeInterpreter(request.runtime, path, version, searched)
    return RuntimeInterpreter(request.runtime, None, "", searched)


def rules():
    return [*collect_rules(), *cache_first.rules()]
