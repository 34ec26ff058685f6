from __future__ import annotations

import contextlib
from typing import Callable, Iterator

import pytest

from e2e.clones import Clone, make_clone, served_by_pantsd


@pytest.fixture(scope="session")
def packaged(tmp_path_factory: pytest.TempPathFactory) -> Clone:
    """The repository copied once and packaged with `./pants package ::`, on the caches the test
    run's clones share (what a build from empty caches gives is `package_test`'s other clone)."""
    clone = make_clone(tmp_path_factory.mktemp("clone-a"), shared_caches=True)
    clone.pants("package", "::")
    return clone


@pytest.fixture
def with_pantsd() -> Iterator[Callable[[Clone], Clone]]:
    """Serves a clone by a pantsd of its own (`served_by_pantsd`), stopped after the test."""
    with contextlib.ExitStack() as stack:
        yield lambda clone: stack.enter_context(served_by_pantsd(clone))
