"""A new repository set up as the README's "Use the plugin in your own repository" says."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from e2e.clones import Clone, source_repo

SECTION = "## Use the plugin in your own repository"


def readme_pants_toml() -> str:
    readme = (source_repo() / "README.md").read_text()
    section = readme.split(SECTION, 1)[1].split("\n## ", 1)[0]
    (toml,) = re.findall(r"```toml\n(.*?)```", section, re.DOTALL)
    return toml


def new_repository(root: Path, caches: Path, files: dict[str, str]) -> Clone:
    """The launcher, the plugin and the README's pants.toml in an empty folder, plus `files`."""
    plugin = root / "pants-plugins/pants_lambda"
    plugin.mkdir(parents=True)
    shutil.copy2(source_repo() / "pants", root / "pants")
    # What the README says to copy: the plugin's modules, without its tests and BUILD file.
    for module in sorted((source_repo() / "src/python/pants_lambda").glob("*.py")):
        if not module.name.endswith("_test.py") and module.name != "conftest.py":
            shutil.copy2(module, plugin / module.name)
    (root / "pants.toml").write_text(readme_pants_toml())
    for relpath, content in files.items():
        (root / relpath).parent.mkdir(parents=True, exist_ok=True)
        (root / relpath).write_text(content)
    return Clone(root, caches)
