"""Pip reads no configuration file in the processes that resolve Lambda requirements."""

from __future__ import annotations

from pants.backend.python.util_rules.pex import CompletePlatforms, PexLayout
from pants.backend.python.util_rules.pex_cli import PexCliProcess
from pants.backend.python.util_rules.pex_venv import PexVenvLayout
from pants.engine.fs import Digest, MergeDigests, RemovePrefix, Snapshot
from pants.engine.process import Process, ProcessResult
from pants.engine.rules import Get
from pants.util.frozendict import FrozenDict

from pants_lambda.util_rules.cache_first import CacheFirstProcess

# What makes pip load no configuration file at all, whatever the machine has in /etc/pip.conf,
# /etc/xdg/pip/pip.conf or a user's pip.conf (pex's `--isolated` still reads the global ones).
# Pip configuration is in no cache key, so it must not decide what goes into a ZIP: the plugin's
# processes that run pip (resolving for a Lambda platform, generating Lambda platform lockfiles)
# and its pin step get this, whatever `[subprocess-environment]` says. (`pex3 venv create` only
# unpacks a PEX; the `[boto3]` tool of `lambda-drift` is built by Pants' own PexRequest.)
# Indexes and find-links come from `[python-repos]`, a TLS proxy's CA bundle from
# `[GLOBAL].ca_certs_path`.
PIP_ISOLATION_ENV = FrozenDict({"PIP_CONFIG_FILE": "/dev/null"})


async def install_flat(
    pex_args: tuple[str, ...],
    input_digest: Digest,
    names: tuple[str, str],
    descriptions: tuple[str, str],
    complete_platforms: CompletePlatforms = CompletePlatforms(),
) -> Snapshot:
    """Resolves with pex, pip isolated, into a packed PEX, then installs that flat, as a
    site-packages folder: for `complete_platforms`, else for the interpreter pex runs on (Pants'
    own). `names` are the PEX's and the folder's, `descriptions` those of the two steps."""
    pex_name, folder = names
    resolve = await Get(
        Process,
        PexCliProcess(
            subcommand=(),
            extra_args=(
                "--output-file",
                pex_name,
                "--no-emit-warnings",
                *pex_args,
                "--layout",
                PexLayout.PACKED.value,
            ),
            additional_input_digest=input_digest,
            extra_env=PIP_ISOLATION_ENV,
            output_directories=(pex_name,),
            description=descriptions[0],
        ),
    )
    built = await Get(ProcessResult, CacheFirstProcess(resolve))
    # What Pants' `PexVenvRequest` runs, with the same arguments, made here to ask the cache first.
    install = await Get(
        Process,
        PexCliProcess(
            subcommand=("venv", "create"),
            extra_args=(
                f"--dest-dir={folder}",
                f"--pex-repository={pex_name}",
                f"--layout={PexVenvLayout.FLAT.value}",
                *complete_platforms.generate_pex_arg_list(),
            ),
            additional_input_digest=await Get(
                Digest, MergeDigests([built.output_digest, complete_platforms.digest])
            ),
            output_directories=(folder,),
            description=descriptions[1],
        ),
    )
    installed = await Get(ProcessResult, CacheFirstProcess(install))
    return await Get(Snapshot, RemovePrefix(installed.output_digest, folder))
