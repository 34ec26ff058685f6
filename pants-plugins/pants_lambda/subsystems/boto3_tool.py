"""The `[boto3]` tool: the AWS SDK that `pants lambda-drift` runs, from its own lockfile."""

from __future__ import annotations

from pants.backend.python.subsystems.python_tool_base import PythonToolBase
from pants.backend.python.target_types import EntryPoint
from pants.backend.python.util_rules.lockfile import LockfileRules

# The drift and sync tools' modules inside the tool's PEX (see drift_rules.py).
DRIFT_TOOL_MODULE = "__lambda_drift_tool"
SYNC_TOOL_MODULE = "__lambda_sync_tool"


class Boto3Tool(PythonToolBase):
    options_scope = "boto3"
    name = "boto3"
    help = (
        "The AWS SDK for Python (https://github.com/boto/boto3), which `pants lambda-drift` and "
        "`pants lambda-sync` run "
        "in its own PEX to ask AWS what is deployed. It is installed from a lockfile shipped with "
        "the plugin; set `[boto3].lockfile` and run `pants generate-lockfiles --resolve=boto3` "
        "to pick another version."
    )

    default_version = "boto3>=1.35,<2"
    default_main = EntryPoint(DRIFT_TOOL_MODULE)
    default_requirements = [default_version]

    register_interpreter_constraints = True
    # The versions pex 2.1.137 (Pants 2.17's) writes lockfile wheels for.
    default_interpreter_constraints = ["CPython>=3.9,<3.13"]

    default_lockfile_resource = ("pants_lambda", "boto3.lock")
    lockfile_rules_type = LockfileRules.SIMPLE


def rules():
    return Boto3Tool.rules()
