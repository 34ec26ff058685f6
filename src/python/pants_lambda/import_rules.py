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
from pants.backend.python.dependency_inference.module_mapper import (
    PythonModuleOwners,
    PythonModuleOwnersRequest,
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

from pants_lambda.platforms import RUNTIMES
from pants_lambda.runtime_packages import runtime_modules

# The standard library changes between the runtimes, and Pants 2.17 has one list for every
# Python version (up to 3.11). What each CPython release added or removed (its "What's New"; the
# underscore modules from `sys.stdlib_module_names` of CPython 3.12.1 and 3.13.0 here; 3.14, whose
# interpreter these machines lack, from its "What's New").
STDLIB_ADDED = {
    (3, 11): frozenset({"tomllib", "_tokenize", "_typing"}),
    (3, 12): frozenset({"_pydatetime", "_pylong", "_sha2"}),
    (3, 13): frozenset(
        {
            "_colorize",
            "_interpchannels",
            "_interpqueues",
            "_interpreters",
            "_opcode_metadata",
            "_pyrepl",
            "_suggestions",
            "_sysconfig",
        }
    ),
    (3, 14): frozenset({"annotationlib", "compression", "_remote_debugging", "_zstd"}),
}
STDLIB_REMOVED = {
    (3, 12): frozenset({"asynchat", "asyncore", "distutils", "imp", "smtpd"}),
    # PEP 594's dead batteries, and lib2to3.
    (3, 13): frozenset(
        {
            "aifc",
            "audioop",
            "cgi",
            "cgitb",
            "chunk",
            "crypt",
            "imghdr",
            "lib2to3",
            "mailcap",
            "msilib",
            "nis",
            "nntplib",
            "ossaudiodev",
            "pipes",
            "sndhdr",
            "spwd",
            "sunau",
            "telnetlib",
            "uu",
            "xdrlib",
        }
    ),
}


_VERSION_DEPENDENT_STDLIB = frozenset().union(*STDLIB_ADDED.values(), *STDLIB_REMOVED.values())


def _not_in_stdlib(top: str, version: tuple[int, int]) -> bool:
    """Whether a module of Pants' standard library list is missing from this CPython."""
    added_later = any(top in names for added, names in STDLIB_ADDED.items() if added > version)
    removed = any(top in names for gone, names in STDLIB_REMOVED.items() if gone <= version)
    return added_later or removed


def _newer_stdlib(top: str, version: tuple[int, int]) -> bool:
    """Whether a module Pants' list lacks is in this CPython's standard library."""
    return any(top in names for added, names in STDLIB_ADDED.items() if added <= version)


@dataclass(frozen=True)
class UnownedImportsRequest:
    address: Address  # A `lambda_function` or `lambda_layer`.


@dataclass(frozen=True)
class UnownedImport:
    file: str  # Relative to the repository root.
    line: int
    module: str
    stdlib: bool  # In Pants' standard library list (which holds every Python version's).


@dataclass(frozen=True)
class UnownedImports:
    """Imports of the closure's first-party code that Pants found no first-party source or
    requirement for, or found in its standard library list; none weak or ignored."""

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
    candidates = [
        (fs, module, deps.imports[module], outcome.status == ImportOwnerStatus.unownable)
        for fs, deps, result in zip(field_sets, parsed, resolved)
        for module, outcome in result.resolve_results.items()
        if (
            outcome.status == ImportOwnerStatus.unowned
            # Of the standard library, only what some runtime lacks can be missing.
            or (
                outcome.status == ImportOwnerStatus.unownable
                and module.split(".")[0] in _VERSION_DEPENDENT_STDLIB
            )
        )
        and not deps.imports[module].weak
        and not _ignored(module, infer.ignored_unowned_imports)
    ]
    # Pants calls an import whose owners it could not tell apart "unowned" too; it warns about
    # those itself, and something does provide them. (Standard library imports have no owners
    # to ask about.)
    owned_elsewhere = [c for c in candidates if not c[3]]
    owners = await MultiGet(
        Get(
            PythonModuleOwners,
            PythonModuleOwnersRequest(module, fs.resolve.normalized_value(python_setup)),
        )
        for fs, module, _, _ in owned_elsewhere
    )
    ambiguous = {
        (fs.address, module)
        for (fs, module, _, _), found in zip(owned_elsewhere, owners)
        if found.ambiguous
    }
    unowned = [
        UnownedImport(fs.source.file_path, info.lineno, module, stdlib)
        for fs, module, info, stdlib in candidates
        if (fs.address, module) not in ambiguous
    ]
    return UnownedImports(tuple(sorted(unowned, key=lambda i: (i.file, i.line, i.module))))


@dataclass(frozen=True)
class ShippedModules:
    """What a `sys.path` entry holding these files can import."""

    modules: frozenset[str]  # Dotted names with code: `a/b.py`, `a/b/__init__.py`, `a/b.*.so`.
    folders: frozenset[str]  # Dotted names of folders: namespace packages.

    @classmethod
    def of(cls, paths: Iterable[str]) -> ShippedModules:
        modules, folders = set(), set()
        for path in paths:
            *dirs, name = path.split("/")
            if not all(d.isidentifier() for d in dirs):
                continue
            folders.update(".".join(dirs[: i + 1]) for i in range(len(dirs)))
            stem, dot, suffix = name.partition(".")
            if dot and stem.isidentifier() and suffix.rsplit(".", 1)[-1] in ("py", "so", "pyd"):
                modules.add(".".join([*dirs, stem]) if stem != "__init__" else ".".join(dirs))
        return cls(frozenset(modules - {""}), frozenset(folders))

    def union(self, *others: ShippedModules) -> ShippedModules:
        return ShippedModules(
            self.modules.union(*(o.modules for o in others)),
            self.folders.union(*(o.folders for o in others)),
        )

    def provide(self, module: str) -> bool:
        """`import a.b.c` and `from a.b import c`: a module or folder `a.b.c`, or a name of the
        module `a.b`."""
        if module in self.modules or module in self.folders:
            return True
        parent = module.rpartition(".")[0]
        return bool(parent) and parent in self.modules


def check_imports_provided(
    target: str,
    unowned: UnownedImports,
    shipped: ShippedModules,
    runtimes: tuple[str, ...],
) -> None:
    """Raises for the unowned imports that nothing on the Lambda platform provides either.

    `shipped`: what the target and its layers ship. On every one of `runtimes`, a module must be
    shipped, in that runtime's standard library, or one of its own packages."""

    def missing_on(imp: UnownedImport, runtime: str) -> bool:
        top = imp.module.split(".")[0]
        version = RUNTIMES[runtime].python_version
        if imp.stdlib:
            provided_by_runtime = top == "distutils" and "setuptools" in runtime_modules(runtime)
            return _not_in_stdlib(top, version) and not provided_by_runtime
        return not (
            shipped.provide(imp.module)
            or _newer_stdlib(top, version)
            or top in runtime_modules(runtime)
        )

    missing = [
        (imp, [runtime for runtime in runtimes if missing_on(imp, runtime)])
        for imp in unowned.imports
    ]
    missing = [(imp, on) for imp, on in missing if on]
    if not missing:
        return
    listing = "\n".join(
        f"  {imp.file}:{imp.line}: import {imp.module}"
        + (f" (not in the standard library of {', '.join(on)})" if imp.stdlib else "")
        for imp, on in missing
    )
    raise InvalidTargetException(
        f"{target} imports modules that nothing provides on Lambda {', '.join(runtimes)}:\n"
        f"{listing}\n"
        "No first-party source, requirement, file of the ZIP or its layers, standard library "
        "module or package of the runtime provides them, so the import would fail in AWS "
        '("Unable to import module" when it runs at import time). Fix each one: a first-party '
        "module must be importable by that name under a source root (check "
        "`[source].root_patterns`), a third-party one needs a `python_requirement`, a module the "
        "runtime's Python no longer has needs a backport or another runtime. An import "
        "that is optional on purpose can be guarded with `try: ... except ImportError:`, or "
        "marked with `# pants: no-infer-dep` on its line, or listed in "
        "`[python-infer].ignored_unowned_imports`."
    )


def rules():
    return [*collect_rules(), *dependency_inference_rules.rules()]
