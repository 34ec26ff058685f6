"""What a pex lockfile pins: read by the pin checks and by Lambda platform lockfile generation."""

from __future__ import annotations

import json
from typing import Iterable

from packaging.utils import canonicalize_name

from pants.backend.python.pip_requirement import PipRequirement
from pants.backend.python.util_rules.pex_requirements import strip_comments_from_pex_json_lockfile


class UnlockableRequirementError(Exception):
    pass


def locked_versions(lock_json: bytes) -> dict[str, str]:
    """Canonical project name (PEP 503) -> the version the lockfile pins."""
    lock = json.loads(strip_comments_from_pex_json_lockfile(lock_json))
    return {
        canonicalize_name(req["project_name"]): req["version"]
        for locked_resolve in lock.get("locked_resolves", ())
        for req in locked_resolve.get("locked_requirements", ())
    }


def check_lockable(requirements: Iterable[str], who_needs: str) -> None:
    """Direct-URL and VCS requirements: a lockfile pins them by name and version only (pex drops
    the URL), so a hash-checked build for a Lambda platform would fetch another file or none.

    `who_needs`: the start of the message, e.g. "the `lambda_layer` x:y needs"."""
    unlockable = sorted(
        requirement
        for requirement in requirements
        if PipRequirement.parse(requirement, description_of_origin="a requirement").url
    )
    if unlockable:
        raise UnlockableRequirementError(
            f"{who_needs} direct-URL or VCS requirements: {', '.join(unlockable)}. A lockfile "
            "pins them by name and version only (pex drops the URL), so a build for a Lambda "
            "platform would fetch another file or none. Publish each as a wheel to your index or "
            "to a `[python-repos].find_links` folder, require it as `name==version`, and run "
            "`pants generate-lockfiles`."
        )
