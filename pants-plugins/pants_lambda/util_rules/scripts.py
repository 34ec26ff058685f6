"""The scripts this plugin runs inside sandboxes, read as data: they never run in Pants' process.

Each is part of the cache key of every process that runs it, so an edit runs those again.
"""

from __future__ import annotations

import pkgutil
from dataclasses import dataclass

from pants.engine.fs import CreateDigest, Digest, FileContent
from pants.engine.rules import Get, collect_rules, rule


# Where the scripts live: standard library (and their own tools' requirements) only.
SANDBOX_PACKAGE = "pants_lambda.sandbox"


def script_source(name: str) -> bytes:
    """A script of `pants_lambda.sandbox`, e.g. `zip_tool.py`, as the wheel or checkout has it."""
    data = pkgutil.get_data(SANDBOX_PACKAGE, name)
    if data is None:
        raise FileNotFoundError(f"pants_lambda ships no {name}: the plugin is installed wrongly")
    return data


@dataclass(frozen=True)
class ScriptRequest:
    name: str  # The script in this package, e.g. "zip_tool.py".
    path: str  # Its file name in the sandbox.


@dataclass(frozen=True)
class Script:
    digest: Digest


@rule
async def script_digest(request: ScriptRequest) -> Script:
    # Made once a run and shared by every process running the script. (Pants 2.17 hashes every
    # `CreateDigest` alike, so each distinct one makes the next slower to request: none is made
    # per artifact for what is the same in all of them.)
    return Script(
        await Get(Digest, CreateDigest([FileContent(request.path, script_source(request.name))]))
    )


def rules():
    return collect_rules()
