from __future__ import annotations

import pytest

from e2e.clones import Clone, make_clone


@pytest.fixture(scope="session")
def packaged(tmp_path_factory: pytest.TempPathFactory) -> Clone:
    """The repository copied once and packaged with `./pants package ::` from empty caches."""
    clone = make_clone(tmp_path_factory.mktemp("clone-a"))
    clone.pants("package", "::")
    return clone
