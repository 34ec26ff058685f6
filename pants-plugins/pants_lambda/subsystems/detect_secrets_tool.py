"""The `[detect-secrets]` tool: the secrets check of the zip step (see checks/secret_scan.py)."""

from __future__ import annotations

from pants.backend.python.subsystems.python_tool_base import PythonToolRequirementsBase
from pants.backend.python.util_rules.lockfile import LockfileRules
from pants.util.strutil import help_text


class DetectSecretsTool(PythonToolRequirementsBase):
    options_scope = "detect-secrets"
    name = "detect-secrets"
    help = help_text(
        """
        Yelp's detect-secrets (https://github.com/Yelp/detect-secrets), which the zip step of
        every `lambda_function` and `lambda_layer` runs over the files the target's own sources
        put into its ZIP, looking for private keys and tokens (see `allow_secrets`). It runs on
        Pants' own Python, installed from a lockfile shipped with the plugin; set
        `[detect-secrets].lockfile` and run `pants generate-lockfiles --resolve=detect-secrets`
        to pick another version.
        """
    )

    default_version = "detect-secrets==1.5.0"
    default_requirements = [default_version]

    # The zip step runs it on Pants' own interpreter, CPython 3.9 for Pants 2.17.
    default_interpreter_constraints = ["CPython==3.9.*"]
    register_interpreter_constraints = True

    default_lockfile_resource = ("pants_lambda", "detect_secrets.lock")
    lockfile_rules_type = LockfileRules.SIMPLE


def rules():
    return DetectSecretsTool.rules()
