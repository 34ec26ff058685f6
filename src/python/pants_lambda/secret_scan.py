"""Secrets a Lambda ZIP must not ship: the `[detect-secrets]` tool and the `allow_secrets` field.

The check runs inside the zip step (zip_tool.py), over the files a target's own sources put into
its ZIP, so its result is cached with the ZIP. Third-party distributions are not checked: their
wheels ship test fixtures and sample keys that are no secret of the user's.
"""

from __future__ import annotations

import dataclasses
from typing import Iterable, Optional

from pants.backend.python.subsystems.python_tool_base import PythonToolRequirementsBase
from pants.backend.python.util_rules.lockfile import LockfileRules
from pants.backend.python.util_rules.pex_requirements import (
    EntireLockfile,
    LoadedLockfile,
    LoadedLockfileRequest,
    Lockfile,
    Resolve,
    ResolvePexConfig,
    ResolvePexConfigRequest,
)
from pants.engine.addresses import Address
from pants.engine.fs import Digest
from pants.engine.rules import Get, MultiGet, collect_rules, rule
from pants.engine.target import InvalidFieldException, StringSequenceField
from pants.util.strutil import help_text

from pants_lambda import cache_first
from pants_lambda.pip_isolation import install_flat

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


class LambdaAllowSecretsField(StringSequenceField):
    alias = "allow_secrets"
    default = ()
    help = help_text(
        """
        Paths inside the ZIP that may hold what the secrets check refuses, each exactly as the
        error names it: a file that truly belongs in the artifact, such as a public test
        certificate that looks like a key. Everything else the check finds fails the package.

        The check looks at the files this target's own sources put into the ZIP (first-party code
        and data, not third-party distributions): files that are secrets by name (`.env`,
        `id_rsa`, `.aws/credentials`, `.netrc`, `.p12` key stores, a `.pypirc` or `.npmrc` with a
        password) and, in every file that is not Python code, private keys and tokens with a
        known format (AWS access keys, GitHub, Slack, Stripe, PyPI and npm tokens, and others
        detect-secrets knows).

        Example: `allow_secrets=["service/fixtures/test-only-key.pem"]`.
        """
    )

    @classmethod
    def compute_value(
        cls, raw_value: Optional[Iterable[str]], address: Address
    ) -> Optional[tuple[str, ...]]:
        value = super().compute_value(raw_value, address)
        bad = [path for path in value or () if not path or path.startswith("/") or "*" in path]
        if bad:
            raise InvalidFieldException(
                f"The `{cls.alias}` field of {address} lists {', '.join(map(repr, bad))}: it "
                "takes exact paths inside the ZIP, as the secrets check names them, without a "
                'leading `/` or wildcards. Example: `allow_secrets=["app/certs/public.pem"]`.'
            )
        return value


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
    return [*collect_rules(), *DetectSecretsTool.rules(), *cache_first.rules()]
