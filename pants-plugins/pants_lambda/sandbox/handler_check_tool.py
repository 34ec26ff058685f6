"""Checks a Lambda function's handler module with its runtime's own grammar.

This file runs as a script inside a Pants sandbox (see `handler_rules.py`), on a CPython of the
function's runtime started with `-I -S`, so it uses the standard library only and parses with
exactly the grammar Lambda's interpreter has. It reads one JSON spec:

    {"file": "app/handler.py", "func": "handler"}

and prints one JSON result: `{"syntax_error": {"file", "line", "offset", "msg", "text"}}` if Python
cannot compile the file, else `{"defines": true|false}`: whether the module binds `func` at its
top level.
"""

from __future__ import annotations

import ast
import json
import sys


def _top_level(body: list) -> list:
    """The statements that run at import: the module's, and those of its top-level `if`, `try`
    and `with` blocks (e.g. `try: from fast import handler` / `except ImportError: def ...`)."""
    statements = []
    for node in body:
        statements.append(node)
        for block in ("body", "orelse", "finalbody"):
            if isinstance(node, (ast.If, ast.Try, ast.With)) and hasattr(node, block):
                statements.extend(_top_level(getattr(node, block)))
        if isinstance(node, ast.Try):
            for handler in node.handlers:
                statements.extend(_top_level(handler.body))
    return statements


def defines(tree: ast.Module, name: str) -> bool:
    """Whether a module binds `name` at its top level."""
    for node in _top_level(tree.body):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            if node.name == name:
                return True
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id == name for t in targets):
                return True
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            if any((alias.asname or alias.name).split(".")[0] == name for alias in node.names):
                return True
    return False


def check(spec: dict) -> dict:
    path = spec["file"]
    with open(path, "rb") as fp:
        source = fp.read()
    try:
        # Compiled, not only parsed: some errors come from the compiler, e.g. `return` in an
        # `except*` block.
        compile(source, path, "exec", dont_inherit=True)
        tree = ast.parse(source, filename=path)
    except SyntaxError as e:
        return {
            "syntax_error": {
                "file": path,
                "line": e.lineno,
                "offset": e.offset,
                "msg": e.msg,
                "text": (e.text or "").rstrip("\n"),
            }
        }
    return {"defines": defines(tree, spec["func"])}


def main(spec_json: str) -> int:
    print(json.dumps(check(json.loads(spec_json))))
    return 0


if __name__ == "__main__":
    # The spec, {"file": ..., "func": ...}, is the argument itself: a few dozen bytes.
    sys.exit(main(sys.argv[1]))
