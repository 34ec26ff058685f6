"""A new repository set up as the README's "Use the plugin in your own repository" says."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from e2e.clones import Clone, shared_caches_dir, source_repo, write_files

SECTION = "## Use the plugin in your own repository"
WHEELS = "3rdparty/wheels"


def readme_pants_tomls() -> list[str]:
    """The section's `pants.toml` blocks: the set-up first, then the lockfile variant."""
    readme = (source_repo() / "README.md").read_text()
    section = readme.split(SECTION, 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```toml\n(.*?)```", section, re.DOTALL)


def plugin_wheel() -> Path:
    """The wheel `pants-plugins/pants_lambda:dist` builds, which Pants puts into the test sandbox."""
    wheels = sorted(Path.cwd().glob("pants_lambda-*-py3-none-any.whl"))
    assert len(wheels) == 1, (
        f"expected the plugin's wheel in the test sandbox {Path.cwd()}, found {wheels}: the "
        "tests' `runtime_package_dependencies` must list pants-plugins/pants_lambda:dist"
    )
    return wheels[0]


def new_repository(
    root: Path, caches: Path, files: dict[str, str], with_lockfiles: bool = False
) -> Clone:
    """The launcher, the plugin's wheel and the README's pants.toml in an empty folder, plus
    `files`; `with_lockfiles` adds the README's lockfile settings."""
    root.mkdir(parents=True)
    shutil.copy2(source_repo() / "pants", root / "pants")
    (root / WHEELS).mkdir(parents=True)
    shutil.copy2(plugin_wheel(), root / WHEELS)
    setup, lockfiles = readme_pants_tomls()
    if with_lockfiles:
        # The README's lockfile variant replaces the set-up's `[python]` section.
        setup = re.sub(r"^\[python\]\n.*?(?=^\[)", lockfiles + "\n", setup, flags=re.M | re.S)
        assert "enable_resolves = true" in setup, setup
    (root / "pants.toml").write_text(setup)
    write_files(root, files)
    return repository(root, caches)


def repository(root: Path, caches: Path) -> Clone:
    """The repository at `root`, run with `caches`."""
    if caches == shared_caches_dir():
        # Pants' per-run state stays the repository's own.
        return Clone(root, caches, workdir=root.parent / f"{root.name}.workdir")
    return Clone(root, caches)
