"""Pip must read no configuration file in the processes that resolve Lambda requirements."""

from __future__ import annotations

from pants.core.util_rules.subprocess_environment import SubprocessEnvironmentVars

# What makes pip load no configuration file at all, whatever the machine has in /etc/pip.conf,
# /etc/xdg/pip/pip.conf or a user's pip.conf (pex's `--isolated` still reads the global ones).
PIP_CONFIG_ISOLATION = "PIP_CONFIG_FILE=/dev/null"


class PipIsolationError(Exception):
    pass


def check_pip_isolation(env: SubprocessEnvironmentVars, description_of_origin: str) -> None:
    """Pip configuration is in no cache key, so it must not decide what gets resolved."""
    if env.vars.get("PIP_CONFIG_FILE") != "/dev/null":
        raise PipIsolationError(
            f"Resolving the third-party requirements of {description_of_origin} would let this "
            "machine's pip configuration (constraints, find-links, extra indexes) decide what "
            "goes into the ZIP, and no cache key covers it. Add to pants.toml:\n\n"
            f'[subprocess-environment]\nenv_vars.add = ["{PIP_CONFIG_ISOLATION}"]\n\n'
            "Indexes and find-links then come from [python-repos] only; give a TLS proxy's CA "
            "bundle to Pants with [GLOBAL].ca_certs_path (the `./pants` launcher does it from "
            "SSL_CERT_FILE or pip's `cert` setting)."
        )
