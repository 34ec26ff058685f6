"""Pip reads no configuration file in the processes that resolve Lambda requirements."""

from __future__ import annotations

from pants.util.frozendict import FrozenDict

# What makes pip load no configuration file at all, whatever the machine has in /etc/pip.conf,
# /etc/xdg/pip/pip.conf or a user's pip.conf (pex's `--isolated` still reads the global ones).
# Pip configuration is in no cache key, so it must not decide what goes into a ZIP: the plugin's
# processes that run pip (resolving for a Lambda platform, generating Lambda platform lockfiles)
# and its pin step get this, whatever `[subprocess-environment]` says. (`pex3 venv create` only
# unpacks a PEX; the `[boto3]` tool of `lambda-drift` is built by Pants' own PexRequest.)
# Indexes and find-links come from `[python-repos]`, a TLS proxy's CA bundle from
# `[GLOBAL].ca_certs_path`.
PIP_ISOLATION_ENV = FrozenDict({"PIP_CONFIG_FILE": "/dev/null"})
