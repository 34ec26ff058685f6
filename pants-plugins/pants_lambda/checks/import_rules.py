"""Every import of a Lambda target's code must be provided by something that is there on Lambda.

Pants only warns about an import it cannot infer an owner for, and then builds a ZIP without it:
a function that fails in AWS with "Unable to import module". At package time, each `import` in a
function's or layer's first-party closure must be provided by one of: a first-party source or a
requirement (Pants' own inference), a file the ZIP or its layers ship, the standard library, or
the runtime's own packages (boto3, ...). An import in a fallback chain (`try:` ... `except
ImportError:`, at any depth) needs one alternative of its chain provided: the chains are read by
`import_chain_tool.py` on a CPython of the runtime, and only for the files with an import nothing
provides. Imports with `# pants: no-infer-dep` and `[python-infer].ignored_unowned_imports` are
never reported.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Iterable, Mapping

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
from pants.core.util_rules.source_files import SourceFilesRequest
from pants.core.util_rules.stripped_source_files import StrippedSourceFiles
from pants.engine.addresses import Address
from pants.engine.fs import Digest, MergeDigests
from pants.engine.process import Process, ProcessResult
from pants.engine.rules import Get, MultiGet, collect_rules, rule
from pants.engine.target import InvalidTargetException, TransitiveTargets, TransitiveTargetsRequest
from pants.util.frozendict import FrozenDict
from pants.util.logging import LogLevel

from pants_lambda.util_rules import cache_first, runtime_interpreter, scripts
from pants_lambda.util_rules.cache_first import CacheFirstProcess
from pants_lambda.platforms import RUNTIMES
from pants_lambda.util_rules.runtime_interpreter import (
    RuntimeInterpreter,
    RuntimeInterpreterRequest,
)
from pants_lambda.checks.runtime_packages import left_to_runtime_advice, runtime_modules
from pants_lambda.util_rules.scripts import Script, ScriptRequest

logger = logging.getLogger(__name__)

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
    line: int
    module: str
    stdlib: bool  # In Pants' standard library list (which holds every Python version's).
    weak: bool  # In the body of a `try:` with `except ImportError:` (Pants' own reading).
    # The owners Pants could not choose between (and so added none of), if that is why.
    ambiguous_owners: tuple[str, ...] = ()


@dataclass(frozen=True)
class FileWithUnownedImports:
    file: str  # Relative to the repository root.
    module_path: str  # Under its source root, as Lambda imports it.
    source: Digest  # The file alone, at `module_path`.
    imports: tuple[UnownedImport, ...]


@dataclass(frozen=True)
class UnownedImports:
    """Imports of the closure's first-party code that Pants found no first-party source or
    requirement for, or found in its standard library list; none ignored."""

    files: tuple[FileWithUnownedImports, ...]


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
            # Pants' "weak" imports are in a fallback chain: their chain decides.
            outcome.status in (ImportOwnerStatus.unowned, ImportOwnerStatus.weak_ignore)
            # Of the standard library, only what some runtime lacks can be missing.
            or (
                outcome.status == ImportOwnerStatus.unownable
                and module.split(".")[0] in _VERSION_DEPENDENT_STDLIB
            )
        )
        and not _ignored(module, infer.ignored_unowned_imports)
    ]
    # Pants calls an import whose owners it could not tell apart "unowned" too, warns, and adds
    # none of them: unless the ZIP or a layer ships the module some other way, it is missing, and
    # the error names the owners. (Standard library imports have no owners to ask about.)
    owned_elsewhere = [c for c in candidates if not c[3]]
    owners = await MultiGet(
        Get(
            PythonModuleOwners,
            PythonModuleOwnersRequest(module, fs.resolve.normalized_value(python_setup)),
        )
        for fs, module, _, _ in owned_elsewhere
    )
    ambiguous = {
        (fs.address, module): tuple(sorted(str(a) for a in found.ambiguous))
        for (fs, module, _, _), found in zip(owned_elsewhere, owners)
        if found.ambiguous
    }
    by_file: dict[PythonImportDependenciesInferenceFieldSet, list[UnownedImport]] = {}
    for fs, module, info, stdlib in candidates:
        by_file.setdefault(fs, []).append(
            UnownedImport(
                info.lineno, module, stdlib, info.weak, ambiguous.get((fs.address, module), ())
            )
        )
    stripped = await MultiGet(
        Get(StrippedSourceFiles, SourceFilesRequest([fs.source])) for fs in by_file
    )
    files = [
        FileWithUnownedImports(
            fs.source.file_path,
            one.snapshot.files[0],
            one.snapshot.digest,
            tuple(sorted(imports, key=lambda i: (i.line, i.module))),
        )
        for (fs, imports), one in zip(by_file.items(), stripped)
    ]
    return UnownedImports(tuple(sorted(files, key=lambda f: f.file)))


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


@dataclass(frozen=True)
class ImportChainsRequest:
    module_path: str
    source: Digest
    interpreter: RuntimeInterpreter


@dataclass(frozen=True)
class ImportChains:
    """`import_chain_tool.py`'s reading of one file: its import statements, fallback chains
    included, or why it could not read them."""

    nodes: tuple[FrozenDict, ...]
    type_checking: frozenset[str]  # Modules imported under `if TYPE_CHECKING:` only: never run.
    syntax_error: str | None


_CHAIN_TOOL = "__lambda_import_chains.py"


def _freeze(value):
    if isinstance(value, dict):
        return FrozenDict({k: _freeze(v) for k, v in value.items()})
    if isinstance(value, list):
        return tuple(_freeze(v) for v in value)
    return value


@rule(desc="Read a Python file's import chains")
async def read_import_chains(request: ImportChainsRequest) -> ImportChains:
    interpreter = request.interpreter
    assert interpreter.path is not None
    tool = await Get(Script, ScriptRequest("import_chain_tool.py", _CHAIN_TOOL))
    result = await Get(
        ProcessResult,
        CacheFirstProcess(
            Process(
                argv=(interpreter.path, "-I", "-S", _CHAIN_TOOL, request.module_path),
                input_digest=await Get(Digest, MergeDigests([tool.digest, request.source])),
                # The exact interpreter version is part of the key, as for the handler check.
                env={"LAMBDA_PYTHON_VERSION": interpreter.version},
                description=f"Read the imports of {request.module_path} with CPython "
                f"{interpreter.version}",
                level=LogLevel.DEBUG,
            )
        ),
    )
    outcome = json.loads(result.stdout)
    return ImportChains(
        _freeze(outcome.get("imports", [])),
        frozenset(outcome.get("type_checking", ())),
        outcome.get("syntax_error"),
    )


async def _chain_reader(runtimes: tuple[str, ...]) -> RuntimeInterpreter | None:
    """A CPython to read import chains with: the target's runtimes' first, newest first, else the
    newest of any Lambda runtime on the machine (try/except and imports read alike in all).
    Machines are only probed for the other runtimes when the target's have no CPython."""

    def newest_first(names) -> list[str]:
        return sorted(names, key=lambda r: RUNTIMES[r].python_version, reverse=True)

    for group in (newest_first(runtimes), newest_first(set(RUNTIMES) - set(runtimes))):
        found = await MultiGet(Get(RuntimeInterpreter, RuntimeInterpreterRequest(r)) for r in group)
        for interpreter in found:
            if interpreter.path is not None:
                return interpreter
    return None


def _works(node, missing: Mapping[str, UnownedImport]) -> bool:
    if "alternatives" in node:
        return any(all(_works(n, missing) for n in alt) for alt in node["alternatives"])
    return not any(module in missing for module in node["modules"])


def _failing_statements(nodes, missing: Mapping[str, UnownedImport]) -> list:
    """The statements under `nodes` that import something missing, in line order."""
    found = []
    for node in nodes:
        if "alternatives" in node:
            for alt in node["alternatives"]:
                found.extend(_failing_statements(alt, missing))
        elif not _works(node, missing):
            found.append(node)
    return sorted(found, key=lambda n: n["line"])


def _statements(nodes) -> set[str]:
    modules: set[str] = set()
    for node in nodes:
        if "alternatives" in node:
            for alt in node["alternatives"]:
                modules |= _statements(alt)
        else:
            modules.update(node["modules"])
    return modules


def _warn_left_to_runtime(
    target: str, unowned: UnownedImports, shipped: ShippedModules, runtimes: tuple[str, ...]
) -> None:
    """AWS advises bundling some of what its runtimes provide (a runtime update can change its
    version under a deployed function): say so for each such import nothing ships."""
    left: dict[str, list[str]] = {}
    for f in unowned.files:
        for imp in f.imports:
            if shipped.provide(imp.module):
                continue
            for runtime in runtimes:
                advice = left_to_runtime_advice(runtime, imp.module.split(".")[0])
                if advice:
                    left.setdefault(advice, []).append(f"{f.file}:{imp.line}")
                    break
    for advice, where in sorted(left.items()):
        logger.warning(f"{target} leaves " + advice.format(where=", ".join(sorted(set(where)))))


async def check_imports_provided(
    target: str,
    unowned: UnownedImports,
    shipped: ShippedModules,
    runtimes: tuple[str, ...],
) -> None:
    """Raises for the imports that nothing on the Lambda platform provides, on any of `runtimes`.

    `shipped`: what the target and its layers ship. On every one of `runtimes`, a module must be
    shipped, in that runtime's standard library, or one of its own packages. An import in a
    fallback chain (`try: import a` / `except ImportError: import b`) is an error only when no
    alternative of its chain is provided: Lambda would take the first that works.
    """

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

    _warn_left_to_runtime(target, unowned, shipped, runtimes)
    missing = {
        f: {r: {i.module: i for i in f.imports if missing_on(i, r)} for r in runtimes}
        for f in unowned.files
    }
    missing = {f: by_runtime for f, by_runtime in missing.items() if any(by_runtime.values())}
    if not missing:
        return
    reader = await _chain_reader(runtimes)
    chains = await MultiGet(
        Get(ImportChains, ImportChainsRequest(f.module_path, f.source, reader)) for f in missing
    ) if reader else ()
    # (file, line) -> (the message's lines, runtimes it fails on)
    problems: dict[tuple[str, int], tuple[list[str], list[str]]] = {}
    unread: dict[str, set[str]] = {}

    def add(f: FileWithUnownedImports, line: int, text: list[str], runtime: str) -> None:
        problems.setdefault((f.file, line), (text, []))[1].append(runtime)

    def statement(f, node, gone: Mapping[str, UnownedImport], runtime: str) -> str:
        missing = [gone[m] for m in node["modules"] if m in gone]
        stdlib = any(i.stdlib for i in missing)
        note = f" (not in the standard library of {runtime})" if stdlib else ""
        owners = sorted({o for i in missing for o in i.ambiguous_owners})
        if owners:
            note += (
                f" (Pants found several owners, {', '.join(owners)}, and added none of them: list "
                "the one to ship in the target's `dependencies`, or set "
                '`[python-infer].ambiguity_resolution = "by_source_root"`)'
            )
        return f"{f.file}:{node['line']}: {node['text']}{note}"

    for index, (f, by_runtime) in enumerate(missing.items()):
        read = chains[index] if reader else None
        for runtime, gone in by_runtime.items():
            if read is None or read.syntax_error is not None:
                # Not knowing the chains, report only what Pants calls a plain import, as a warning.
                unread.setdefault(f.file, set()).update(m for m, i in gone.items() if not i.weak)
                continue
            for node in read.nodes:
                if _works(node, gone):
                    continue
                if "alternatives" in node:
                    text = [
                        f"{f.file}:{node['line']}: a fallback chain (`try:` ... `except "
                        "ImportError:`) none of whose alternatives is provided:",
                        *(
                            "    " + statement(f, n, gone, runtime)
                            for n in _failing_statements([node], gone)
                        ),
                    ]
                else:
                    text = [statement(f, node, gone, runtime)]
                add(f, node["line"], text, runtime)
            # What the tool cannot see (`__import__("x")`): reported as before, unless weak.
            seen = _statements(read.nodes) | read.type_checking
            for module, imp in gone.items():
                if module not in seen and not imp.weak:
                    node = {"line": imp.line, "text": f"import {module}", "modules": [module]}
                    add(f, imp.line, [statement(f, node, gone, runtime)], runtime)
    if unread and any(unread.values()):
        logger.warning(
            f"{target}: could not confirm that these imports are provided on Lambda "
            f"{', '.join(runtimes)}, nor read the fallback chains around them ("
            + ("no CPython of a Lambda runtime was found" if reader is None
               else f"CPython {reader.version} cannot parse the file")
            + "): "
            + "; ".join(f"{file}: {', '.join(sorted(m))}" for file, m in sorted(unread.items()))
        )
    if not problems:
        return
    listing = []
    for (file, line), (text, on) in sorted(problems.items()):
        if set(on) != set(runtimes):
            text = [text[0] + f" [on {', '.join(on)}]", *text[1:]]
        listing.extend("  " + t for t in text)
    raise InvalidTargetException(
        f"{target} imports modules that nothing provides on Lambda {', '.join(runtimes)}:\n"
        + "\n".join(listing)
        + "\n"
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
    return [
        *collect_rules(),
        *dependency_inference_rules.rules(),
        *cache_first.rules(),
        *runtime_interpreter.rules(),
        *scripts.rules(),
    ]
