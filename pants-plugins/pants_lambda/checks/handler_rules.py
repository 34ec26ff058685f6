"""Checks a `lambda_function`'s handler: a file that exists, a module path Python can import, and
a top-level function, parsed with the runtime's own grammar."""

from __future__ import annotations

import json
import keyword
import logging
import os
import re
from pathlib import PurePath
from dataclasses import dataclass

from pants.backend.python.util_rules.faas import ResolvedPythonFaaSHandler
from pants.engine.fs import (
    Digest,
    DigestContents,
    DigestSubset,
    MergeDigests,
    Paths,
    PathGlobs,
)
from pants.engine.process import Process, ProcessResult
from pants.engine.rules import Get, MultiGet, collect_rules
from pants.engine.target import InvalidFieldException
from pants.source.source_root import SourceRoot, SourceRootRequest
from pants.util.logging import LogLevel

from pants_lambda.util_rules import cache_first, scripts
from pants_lambda.util_rules.cache_first import CacheFirstProcess
from pants_lambda.util_rules.closure_rules import LambdaClosure
from pants_lambda.util_rules.runtime_interpreter import (
    RuntimeInterpreter,
    RuntimeInterpreterRequest,
)
from pants_lambda.targets.target_types import LambdaFunctionHandlerField
from pants_lambda.util_rules.scripts import Script, ScriptRequest

logger = logging.getLogger(__name__)

_TOOL = "__lambda_handler_check.py"


@dataclass(frozen=True)
class HandlerModule:
    path: str  # The module's file, relative to its source root.
    module: str
    func: str


async def check_handler_file(field: LambdaFunctionHandlerField) -> None:
    """A `file.py:func` handler names a file beside the BUILD file: say so if it is missing."""
    path, _, _ = field.value.rpartition(":")
    if not path.endswith(".py"):
        return
    full_path = os.path.join(field.address.spec_path, path)
    paths = await Get(Paths, PathGlobs([full_path]))
    if not paths.files:
        raise InvalidFieldException(
            f"The `{field.alias}` field of {field.address} is {field.value!r}, but {full_path} "
            "does not exist. Give a file relative to the BUILD file's folder, e.g. "
            '`handler="handler.py:handler"`, or a module, e.g. `handler="pkg.module:handler"`.'
        )


async def check_module_path(
    field: LambdaFunctionHandlerField, handler: ResolvedPythonFaaSHandler
) -> None:
    """Lambda imports the handler by its dotted module path: every part must be an identifier.

    A file handler's module path is its path under its source root, so a source root too high up
    (Pants' default, `/`, in a repository of `service-name/` folders) gives a path like
    `backend.orders-service.app`, which no Python can import.
    """
    path, _, _ = field.value.rpartition(":")
    if path.endswith(".py"):
        stem = PurePath(path).stem
        if not _is_identifier(stem):
            renamed = re.sub(r"\W", "_", stem) + ("_" if keyword.iskeyword(stem) else "")
            raise InvalidFieldException(
                f"The `{field.alias}` field of {field.address} is {field.value!r}, but `{stem}` "
                "(the file's name without `.py`) is not a valid Python module name, so Lambda "
                f"could not import it. Rename the file, e.g. to `{renamed}.py`."
            )
    invalid = [part for part in handler.module.split(".") if not _is_identifier(part)]
    if not invalid:
        return
    if not path.endswith(".py"):
        raise InvalidFieldException(
            f"The `{field.alias}` field of {field.address} is {field.value!r}, but "
            f"{', '.join(repr(part) for part in invalid)} is not a valid Python identifier, so "
            "Lambda could not import the module. Rename the module or package."
        )
    full_path = os.path.join(field.address.spec_path, path)
    root = await Get(SourceRoot, SourceRootRequest.for_file(full_path))
    parts = full_path.split("/")
    # The deepest folder whose name is no identifier: the source root must be at least that deep.
    deepest = max(i for i, part in enumerate(parts[:-1]) if part in invalid)
    suggested = "/" + "/".join(parts[: deepest + 1])
    parent = "/".join(parts[:deepest])
    pattern = f"/{parent}/*" if parent else "/*"
    raise InvalidFieldException(
        f"The `{field.alias}` field of {field.address} is {field.value!r}, which Lambda would "
        f"import as `{handler.module}.{handler.func}`: "
        f"{', '.join(repr(part) for part in invalid)} is not a valid Python identifier, so the "
        'function would fail in AWS with "Unable to import module". A handler\'s module path is '
        f"its file's path under its source root, here `{_display(root)}` (from "
        "`[source].root_patterns` or `[source].marker_filenames`). Make the folder that holds "
        f'the code a source root, e.g. `[source].root_patterns = ["{suggested}"]` (or '
        f'`"{pattern}"` for every folder beside it), or rename the folder.'
    )


def _is_identifier(name: str) -> bool:
    return name.isidentifier() and not keyword.iskeyword(name)


def _display(root: SourceRoot) -> str:
    return "/" if root.path in ("", ".") else f"/{root.path}"


# A top-level binding of `{name}`: a def, a class, an assignment or an import.
_DEFINITION = (
    r"^(?:async[ \t]+def|def|class)[ \t]+{name}\b"
    r"|^{name}[ \t]*(?::|=(?!=))"
    r"|^(?:from|import)[ \t].*\b{name}\b"
)


async def check_handler_function(
    field: LambdaFunctionHandlerField,
    handler: ResolvedPythonFaaSHandler,
    closure: LambdaClosure,
    runtime: str,
) -> None:
    """The handler's module exists, compiles on the runtime's CPython and defines the function.

    Only the handler's module: the other files are compiled with the ZIP's bytecode, so an edit to
    a shared file runs no check for each function importing it.
    """
    base = handler.module.replace(".", "/")
    module_files = [
        path for path in (f"{base}.py", f"{base}/__init__.py") if path in closure.python_files.files
    ]
    if not module_files:
        raise InvalidFieldException(
            f"The `{field.alias}` field of {field.address} is {field.value!r}, but no Python "
            f"source in the function's dependencies defines the module `{handler.module}`. Check "
            "the spelling, that a `python_sources` target owns the file, or add it to "
            "`dependencies`."
        )
    module_file = module_files[0]
    interpreter = await Get(RuntimeInterpreter, RuntimeInterpreterRequest(runtime))
    if interpreter.path is None:
        # No parser of this runtime's grammar here: never reject what may be valid code.
        contents = await Get(
            DigestContents, DigestSubset(closure.python_files.digest, PathGlobs([module_file]))
        )
        pattern = _DEFINITION.format(name=re.escape(handler.func))
        if not re.search(pattern, contents[0].content.decode(errors="replace"), re.M):
            logger.warning(
                f"Could not check that {module_file} defines `{handler.func}` (the `{field.alias}` "
                f"field of {field.address}): no CPython {interpreter.python_version} was found to "
                f"parse it with. {interpreter.where_pants_looked()}."
            )
        return
    spec = {"file": module_file, "func": handler.func}
    tool, sources = await MultiGet(
        Get(Script, ScriptRequest("handler_check_tool.py", _TOOL)),
        Get(Digest, DigestSubset(closure.python_files.digest, PathGlobs([module_file]))),
    )
    result = await Get(
        ProcessResult,
        CacheFirstProcess(
            Process(
                argv=(interpreter.path, "-I", "-S", _TOOL, json.dumps(spec, sort_keys=True)),
                input_digest=await Get(Digest, MergeDigests([tool.digest, sources])),
                # The exact interpreter version is part of the key: a new patch release checks again.
                env={"LAMBDA_PYTHON_VERSION": interpreter.version},
                description=f"Check the handler of {field.address} with CPython {interpreter.version}",
                level=LogLevel.DEBUG,
            )
        ),
    )
    outcome = json.loads(result.stdout)
    error = outcome.get("syntax_error")
    if error:
        raise InvalidFieldException(
            f"The handler of {field.address} is in {error['file']} (under its source root), "
            f"which is not valid {runtime} code: "
            f"{error['msg']} (line {error['line']}"
            + (f", column {error['offset']}" if error["offset"] else "")
            + f"):\n    {error['text'].strip()}\n"
            f"CPython {interpreter.version} cannot parse it, so Lambda could not import it. Fix "
            f"the line, or set the function's `runtime` to one whose grammar it is written for."
        )
    if not outcome["defines"]:
        raise InvalidFieldException(
            f"The `{field.alias}` field of {field.address} is {field.value!r}, but "
            f"{module_file} defines no top-level `{handler.func}`. Define "
            f"`def {handler.func}(event, context)` there or fix the name after the colon."
        )


def rules():
    return [*collect_rules(), *cache_first.rules(), *scripts.rules()]
