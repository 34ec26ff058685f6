"""The plugin's layout holds: imports run one way, sandbox scripts stay standard library, and no
folder grows past a dozen modules."""

from __future__ import annotations

import ast
import importlib.util
import sys
import sysconfig
from pathlib import Path

PLUGIN = Path(__file__).parent

# Higher imports lower, never the reverse: goals use the rules, the rules use the targets and
# subsystems, and everything may use the utilities (and the sandbox scripts' constants).
LAYERS = {
    "register": 4,
    "goals": 3,
    "artifacts": 2,
    "checks": 2,
    "platform_lock": 2,
    "util_rules": 2,
    "targets": 1,
    "subsystems": 1,
    "platforms": 0,
    "quotas": 0,
    "sandbox": 0,
}
# What the sandbox scripts may import besides the standard library: their own tools'
# requirements, and the drift tool, which the sync tool runs beside.
SANDBOX_THIRD_PARTY = {"boto3", "botocore", "detect_secrets", "__lambda_drift_tool"}


def modules() -> list[Path]:
    return sorted(
        path
        for path in PLUGIN.rglob("*.py")
        if not path.name.endswith("_test.py") and path.name not in ("conftest.py", "__init__.py")
    )


def part(path: Path) -> str:
    """`goals` for goals/drift_rules.py, `platforms` for platforms.py."""
    relative = path.relative_to(PLUGIN)
    return relative.parts[0] if len(relative.parts) > 1 else relative.stem


def imported(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
            if node.module == "pants_lambda":
                names.update(f"pants_lambda.{alias.name}" for alias in node.names)
    return names


def is_stdlib(name: str) -> bool:
    top = name.split(".")[0]
    if top in sys.builtin_module_names or top == "__future__":
        return True
    spec = importlib.util.find_spec(top)
    if spec is None or spec.origin is None:
        return False
    stdlib = sysconfig.get_paths()["stdlib"]
    return spec.origin.startswith(stdlib) and "site-packages" not in spec.origin


def test_imports_run_one_way() -> None:
    upward = []
    for path in modules():
        layer = LAYERS[part(path)]
        for name in imported(path):
            parts = name.split(".")
            if parts[0] != "pants_lambda" or len(parts) < 2:
                continue
            if LAYERS[parts[1]] > layer:
                upward.append(f"{path.relative_to(PLUGIN)} imports {name}")
    assert not upward, upward


def test_sandbox_scripts_import_the_standard_library_only() -> None:
    scripts = [path for path in modules() if part(path) == "sandbox"]
    assert {p.name for p in scripts} >= {"zip_tool.py", "lambda_runner.py", "sync_tool.py"}
    found = {
        f"{path.name}: {name}"
        for path in scripts
        for name in imported(path)
        if name.split(".")[0] not in SANDBOX_THIRD_PARTY and not is_stdlib(name)
    }
    assert not found, found


def test_no_folder_holds_more_than_twelve_modules() -> None:
    folders: dict[Path, int] = {}
    for path in PLUGIN.rglob("*.py"):
        if path.name != "__init__.py":
            folders[path.parent] = folders.get(path.parent, 0) + 1
    crowded = {str(f.relative_to(PLUGIN.parent)): n for f, n in folders.items() if n > 12}
    assert not crowded, crowded
