"""Every import of a Lambda target's code must be provided by something that is there on Lambda.

Pants only warns about an import it cannot infer an owner for, and then builds a ZIP without it:
a function that fails in AWS with "Unable to import module". At package time, each `import` in a
function's or layer's first-party closure must be provided by one of: a first-party source or a
requirement (Pants' own inference), a file the ZIP or its layers ship, the standard library, or
the runtime's own packages (boto3, ...). Imports Pants calls weak (inside `try: ... except
ImportError:`), imports with `# pants: no-infer-dep` and `[python-infer].ignored_unowned_imports`
are never reported.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from pants.backend.python.dependency_inference import rules as dependency_inference_rules
from pants.backend.python.dependency_inference.parse_python_dependencies import (
    ParsedPythonDependencies,
    ParsePythonDependenciesRequest,
)
from pants.backend.python.dependency_inference.rules import (
    ImportOwnerStatus,
    PythonImportDependenciesInferenceFieldSet,
    ResolvedParsedPythonDependencies,
    ResolvedParsedPythonDependenciesRequest,
)
from pants.backend.python.dependency_inference.subsystem import PythonInferSubsystem
from pants.backend.python.subsystems.setup import PythonSetup
from pants.backend.python.util_rules.interpreter_constraints import InterpreterConstraints
from pants.engine.addresses import Address
from pants.engine.rules import Get, MultiGet, collect_rules, rule
from pants.engine.target import InvalidTargetException, TransitiveTargets, TransitiveTargetsRequest

from pants_lambda.runtime_packages import runtime_modules

# Pants 2.17's list of standard library modules stops at CPython 3.11; these came later
# (`sys.stdlib_module_names` of CPython 3.12.1 and 3.13.0, and for 3.14, whose interpreter these
# machines lack, its "What's New": annotationlib, compression, _zstd, _remote_debugging).
NEWER_STDLIB_MODULES = frozenset(
    {
        "_colorize",
        "_interpchannels",
        "_interpqueues",
        "_interpreters",
        "_opcode_metadata",
        "_pydatetime",
        "_pylong",
        "_pyrepl",
        "_remote_debugging",
        "_sha2",
        "_suggestions",
        "_sysconfig",
        "_tokenize",
        "_typing",
        "_zstd",
        "annotationlib",
        "compression",
    }
)


@dataclass(frozen=True)
class UnownedImportsRequest:
    address: Address  # A `lambda_function` or `lambda_layer`.


@dataclass(frozen=True)
class UnownedImport:
    file: str  # Relative to the repository root.
    line: int
    module: str


@dataclass(frozen=True)
class UnownedImports:
    """Imports of the closure's first-party code that Pants found no first-party source or
    requirement for (and that are not weak, ignored or in Pants' standard library list)."""

    imports: tuple[UnownedImport, ...]


def _ignored(module: str, ignored: Iterable[str]) -> bool:
    return any(module == prefix or module.startswith(f"{prefix}.") for prefix in ignored)


@rule(desc="Find the unowned imports of a Lambda target's code")
async def find_unowned_imports(
    request: UnownedImportsRequest, python_setup: PythonSetup, infer: PythonInferSubsystem
) -> UnownedImports:
    transitive = await Get(TransitiveTargets, TransitiveTargetsRequest([request.address]))
    field_sets = [
        PythonImportDependenciesInferenceFieldSet.create(tgt)
        for tgt in transitive.closure
        if PythonImportDependenciesInferenceFieldSet.is_applicable(tgt)
    ]
    # The same requests dependency inference made: answered from the engine's memo.
    parsed = await MultiGet(
        Get(
            ParsedPythonDependencies,
            ParsePythonDependenciesRequest(
                fs.source,
                InterpreterConstraints.create_from_compatibility_fields(
                    [fs.interpreter_constraints], python_setup
                ),
            ),
        )
        for fs in field_sets
    )
    resolved = await MultiGet(
        Get(
            ResolvedParsedPythonDependencies,
            ResolvedParsedPythonDependenciesRequest(
                fs, deps, fs.resolve.normalized_value(python_setup)
            ),
        )
        for fs, deps in zip(field_sets, parsed)
    )
    unowned = [
        UnownedImport(fs.source.file_path, deps.imports[module].lineno, module)
        for fs, deps, result in zip(field_sets, parsed, resolved)
        for module, outcome in result.resolve_results.items()
        if outcome.status == ImportOwnerStatus.unowned
        and not _ignored(module, infer.ignored_unowned_imports)
    ]
    return UnownedImports(tuple(sorted(unowned, key=lambda i: (i.file, i.line, i.module))))


def top_level_names(paths: Iterable[str]) -> frozenset[str]:
    """The importable top-level names of a `sys.path` entry holding these files."""
    names = set()
    for path in paths:
        first, sep, _ = path.partition("/")
        if sep:
            if first.isidentifier():
                names.add(first)
        elif first.endswith((".py", ".so", ".pyd")):
            names.add(first.split(".", 1)[0])
    return frozenset(names)


def check_imports_provided(
    target: str,
    unowned: UnownedImports,
    shipped_names: frozenset[str],
    runtimes: tuple[str, ...],
) -> None:
    """Raises for the unowned imports that nothing on the Lambda platform provides either.

    `shipped_names`: the top-level modules and packages of what the target and its layers ship.
    """
    missing = [
        imp
        for imp in unowned.imports
        if (top := imp.module.split(".")[0]) not in shipped_names
        and top not in NEWER_STDLIB_MODULES
        and not all(top in runtime_modules(runtime) for runtime in runtimes)
    ]
    if not missing:
        return
    listing = "\n".join(f"  {imp.file}:{imp.line}: import {imp.module}" for imp in missing)
    raise InvalidTargetException(
        f"{target} imports modules that nothing provides on Lambda {', '.join(runtimes)}:\n"
        f"{listing}\n"
        "No first-party source, requirement, file of the ZIP or its layers, standard library "
        "module or package of the runtime provides them, so the import would fail in AWS "
        '("Unable to import module" when it runs at import time). Fix each one: a first-party '
        "module must be importable by that name under a source root (check "
        "`[source].root_patterns`), a third-party one needs a `python_requirement`. An import "
        "that is optional on purpose can be guarded with `try: ... except ImportError:`, or "
        "marked with `# pants: no-infer-dep` on its line, or listed in "
        "`[python-infer].ignored_unowned_imports`."
    )


def rules():
    return [*collect_rules(), *dependency_inference_rules.rules()]
