"""Secrets a Lambda ZIP must not ship: detect-secrets' detectors, installed for the zip step.

The check runs inside the zip step (zip_tool.py), over the files a target's own sources put into
its ZIP, so its result is cached with the ZIP. Third-party distributions are not checked: their
wheels ship test fixtures and sample keys that are no secret of the user's.
"""

from __future__ import annotations

import dataclasses

from pants.backend.python.util_rules.pex_requirements import (
    EntireLockfile,
    LoadedLockfile,
    LoadedLockfileRequest,
    Lockfile,
    Resolve,
    ResolvePexConfig,
    ResolvePexConfigRequest,
)
from pants.engine.fs import Digest
from pants.engine.rules import Get, MultiGet, collect_rules, rule

from pants_lambda.subsystems import detect_secrets_tool
from pants_lambda.subsystems.detect_secrets_tool import DetectSecretsTool
from pants_lambda.util_rules import cache_first
from pants_lambda.util_rules.pip_isolation import install_flat

# detect-secrets' detectors of formats that are secrets with high confidence: a fixed prefix or
# structure. Its entropy and keyword detectors flag ordinary data too often to fail a build on.
DETECTORS = (
    "ArtifactoryDetector",
    "AWSKeyDetector",
    "AzureStorageKeyDetector",
    "DiscordBotTokenDetector",
    "GitHubTokenDetector",
    "GitLabTokenDetector",
    "MailchimpDetector",
    "NpmDetector",
    "OpenAIDetector",
    "PrivateKeyDetector",
    "PypiTokenDetector",
    "SendGridDetector",
    "SlackDetector",
    "SquareOAuthDetector",
    "StripeDetector",
    "TelegramBotTokenDetector",
    "TwilioKeyDetector",
)


@dataclasses.dataclass(frozen=True)
class SecretScannerRequest:
    pass


@dataclasses.dataclass(frozen=True)
class SecretScanner:
    """detect-secrets installed flat for Pants' own interpreter, which the zip step runs on."""

    site_packages: Digest

    # What the zip step's Process needs to import detect-secrets: a symlinked folder, so that no
    # sandbox copies its files.
    def env(self) -> dict[str, str]:
        return {"PYTHONPATH": SITE_PACKAGES}

    def immutable_input_digests(self) -> dict[str, Digest]:
        return {SITE_PACKAGES: self.site_packages}


SITE_PACKAGES = "__detect_secrets"
_PEX = "__detect_secrets.pex"


@rule(desc="Set up the secrets check of Lambda ZIPs")
async def secret_scanner(_: SecretScannerRequest, tool: DetectSecretsTool) -> SecretScanner:
    # Pants' `PexRequest` would look for an interpreter in every run (its `python=` does not go
    # with a lockfile): pex runs on Pants' own interpreter here, and installs for it.
    requirements = tool.pex_requirements()
    if isinstance(requirements, EntireLockfile):
        lockfile = requirements.lockfile
    elif isinstance(requirements.from_superset, Resolve):
        lockfile = await Get(Lockfile, Resolve, requirements.from_superset)
    else:
        raise ValueError(
            f"The secrets check of Lambda ZIPs installs `[{tool.options_scope}]` from a lockfile, "
            f"and `[{tool.options_scope}].lockfile` is `<none>`. Leave it at its default (the "
            f"lockfile the plugin ships), or point it or `[{tool.options_scope}]."
            "install_from_resolve` at a lockfile."
        )
    loaded, config = await MultiGet(
        Get(LoadedLockfile, LoadedLockfileRequest(lockfile)),
        Get(ResolvePexConfig, ResolvePexConfigRequest(None)),
    )
    description = f"{tool.name} for the secrets check of Lambda ZIPs"
    installed = await install_flat(
        ("--lock", loaded.lockfile_path, *config.pex_args()),
        loaded.lockfile_digest,
        (_PEX, SITE_PACKAGES),
        (f"Resolve {description}", f"Install {description}"),
    )
    return SecretScanner(installed.digest)


def rules():
    return [*collect_rules(), *detect_secrets_tool.rules(), *cache_first.rules()]
