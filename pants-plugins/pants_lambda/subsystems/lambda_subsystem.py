"""The `[lambda]` options scope: repository-wide defaults for Lambda targets."""

from __future__ import annotations

from pants.option.option_types import BoolOption, IntOption, StrOption
from pants.option.subsystem import Subsystem
from pants.util.strutil import softwrap

from pants_lambda.platforms import ARCHITECTURES, RUNTIMES


class LambdaSubsystem(Subsystem):
    options_scope = "lambda"
    help = "Defaults for `lambda_function` and `lambda_layer` targets."

    runtime = StrOption(
        default="python3.12",
        help=softwrap(
            f"""
            The Lambda runtime of targets that do not set `runtime` (or, for layers,
            `compatible_runtimes`). One of: {", ".join(RUNTIMES)}.
            Example: `runtime = "python3.12"`.
            """
        ),
    )
    architecture = StrOption(
        default="x86_64",
        help=softwrap(
            f"""
            The Lambda instruction set architecture of targets that do not set `architecture`.
            One of: {", ".join(ARCHITECTURES)}. Example: `architecture = "arm64"`.
            """
        ),
    )

    compile_bytecode = BoolOption(
        default=True,
        help=softwrap(
            """
            Whether Lambda ZIPs carry the bytecode of the Python files they ship, compiled by a
            CPython of each target's runtime (found in `[python-bootstrap].search_path`), for
            targets that do not set `compile_bytecode`. Lambda's file system is read-only, so
            without it every cold start compiles every module it imports.
            Example: `compile_bytecode = false`.
            """
        ),
    )

    retiring_runtimes = StrOption(
        default="warn",
        help=softwrap(
            """
            What packaging does with a target whose runtime AWS retires within 90 days or has
            retired (deprecation, then no new functions, then no updates; see the README's
            "Runtimes AWS retires"): `warn` prints one warning per runtime and builds, `error`
            fails the build, e.g. in CI. Example: `retiring_runtimes = "error"`.
            """
        ),
    )

    remote_cache_speculation_delay = IntOption(
        default=5000,
        advanced=True,
        help=softwrap(
            """
            How long, in milliseconds, the plugin's processes (resolving, installing, compiling,
            zipping, checking handlers) wait for a remote cache lookup before they also start
            locally. A hit within that time runs nothing on this machine; a miss or a failed
            lookup starts the local run at once. `0` is Pants' own behaviour: start locally
            right away and keep whichever finishes first. Only matters with
            `[GLOBAL].remote_cache_read`. Example: `remote_cache_speculation_delay = 0`.
            """
        ),
    )

    def runtime_or_default(self, value: str | None) -> str:
        if value:
            return value
        if self.runtime not in RUNTIMES:
            raise ValueError(
                f"The option `[{self.options_scope}].runtime` is {self.runtime!r}; "
                f"set it to one of {', '.join(RUNTIMES)}."
            )
        return self.runtime

    def architecture_or_default(self, value: str | None) -> str:
        if value:
            return value
        if self.architecture not in ARCHITECTURES:
            raise ValueError(
                f"The option `[{self.options_scope}].architecture` is {self.architecture!r}; "
                f"set it to one of {', '.join(ARCHITECTURES)}."
            )
        return self.architecture
