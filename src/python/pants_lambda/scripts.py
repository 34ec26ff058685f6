"""The scripts this plugin runs inside sandboxes, read as data: they never run in Pants' process.

Each is part of the cache key of every process that runs it, so an edit runs those again.
"""

from __future__ import annotations

import pkgutil


def script_source(name: str) -> bytes:
    """A script of this package, e.g. `zip_tool.py`, as its installed wheel or checkout has it."""
    data = pkgutil.get_data(__package__, name)
    if data is None:
        raise FileNotFoundError(f"pants_lambda ships no {name}: the plugin is installed wrongly")
    return data
