"""Lists a Python file's import statements as Lambda would meet them: fallback chains included.

This file runs as a script inside a Pants sandbox (see `import_rules.py`), on a CPython of the
target's runtime started with `-I -S`, so it uses the standard library only and parses with the
grammar Lambda's interpreter has. Its argument is the file's path under its source root, e.g.
`provider/handler.py`, and it prints one JSON result: `{"syntax_error": "..."}` if Python cannot
parse the file, else `{"imports": [node, ...]}`, every one of which the module needs, where a
node is either one statement,

    {"line": 3, "text": "from a import b", "modules": ["a.b"]}

with `modules` named as Pants' import parser names them (`from . import x` in `pkg/mod.py` is
`pkg.x`), or a fallback chain,

    {"line": 2, "alternatives": [[node, ...], [node, ...]]}

from a `try:` statement with a handler that catches a failed import (`except ImportError:`,
`ModuleNotFoundError`, `Exception`, `BaseException`, a bare `except:` or a tuple holding one):
its body (with its `else:` block) is the first alternative and each such handler's body another.
The chain works when every node of one alternative works; an alternative without imports (say
`except ImportError: ujson = None`) always does.

Imports under `if TYPE_CHECKING:` (or `typing.TYPE_CHECKING`) never run: they are no nodes, and
their modules are listed apart, `{"imports": [...], "type_checking": ["mypy_boto3_s3", ...]}`.
"""

from __future__ import annotations

import ast
import json
import sys
import tokenize

_CATCHES_IMPORT_ERROR = frozenset(
    {"ImportError", "ModuleNotFoundError", "Exception", "BaseException"}
)
_TRY_NODES = tuple(t for t in (ast.Try, getattr(ast, "TryStar", None)) if t is not None)


def _catches_import_error(handler: ast.ExceptHandler) -> bool:
    kind = handler.type
    if kind is None:
        return True
    names = kind.elts if isinstance(kind, ast.Tuple) else [kind]
    return any(
        (isinstance(n, ast.Name) and n.id in _CATCHES_IMPORT_ERROR)
        or (isinstance(n, ast.Attribute) and n.attr in _CATCHES_IMPORT_ERROR)
        for n in names
    )


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


class _Collector:
    def __init__(self, source: str, path: str) -> None:
        self.source = source
        self.type_checking: set[str] = set()
        # What Pants resolves relative imports against: the file's folder under its source root.
        self.package = path.split("/")[:-1]

    def absolute(self, level: int, name: str) -> str:
        if level == 0:
            return name
        if level > len(self.package):
            return "." * level + name  # Beyond the source root: Pants keeps it as written.
        return ".".join([*self.package[: len(self.package) - level + 1], *([name] if name else [])])

    def modules(self, node: ast.Import | ast.ImportFrom) -> list[str]:
        if isinstance(node, ast.Import):
            return [alias.name for alias in node.names]
        base = node.module or ""
        if any(alias.name == "*" for alias in node.names):
            return [self.absolute(node.level, base)]
        return [
            self.absolute(node.level, f"{base}.{alias.name}" if base else alias.name)
            for alias in node.names
        ]

    def text(self, node: ast.stmt) -> str:
        segment = ast.get_source_segment(self.source, node) or ""
        # One line, as the user wrote it: `from a import (\n    b,\n)` -> `from a import (b)`.
        flat = " ".join(segment.replace("\\\n", " ").split())
        return flat.replace("( ", "(").replace(", )", ")").replace(",)", ")").replace(" )", ")")

    def walk(self, nodes) -> list[dict]:
        found: list[dict] = []
        for node in nodes:
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                found.append(
                    {"line": node.lineno, "text": self.text(node), "modules": self.modules(node)}
                )
            elif isinstance(node, _TRY_NODES) and any(map(_catches_import_error, node.handlers)):
                alternatives = [self.walk([*node.body, *node.orelse])]
                for handler in node.handlers:
                    if _catches_import_error(handler):
                        alternatives.append(self.walk(handler.body))
                    else:
                        found.extend(self.walk(handler.body))
                found.append({"line": node.lineno, "alternatives": alternatives})
                found.extend(self.walk(node.finalbody))
            elif isinstance(node, ast.If) and _is_type_checking(node.test):
                # Only type checkers run this block; at run time, `else:` does.
                for skipped in ast.walk(ast.Module(body=node.body, type_ignores=[])):
                    if isinstance(skipped, (ast.Import, ast.ImportFrom)):
                        self.type_checking.update(self.modules(skipped))
                found.extend(self.walk(node.orelse))
            else:
                found.extend(self.walk(ast.iter_child_nodes(node)))
        return found


def imports(source: str, path: str) -> dict:
    try:
        tree = ast.parse(source, filename=path)
    except SyntaxError as e:
        return {"syntax_error": f"{e.msg} (line {e.lineno})"}
    collector = _Collector(source, path)
    nodes = collector.walk(tree.body)
    return {"imports": nodes, "type_checking": sorted(collector.type_checking)}


def main(path: str) -> int:
    # In the file's declared encoding (PEP 263), as Python reads it.
    with tokenize.open(path) as fp:
        source = fp.read()
    print(json.dumps(imports(source, path), sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
