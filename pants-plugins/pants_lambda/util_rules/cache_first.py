"""The plugin's processes ask a remote cache before they run locally.

Pants starts a process locally as soon as it sends the remote cache lookup, unless the process
sets a speculation delay, and keeps whichever finishes first ("speculation"). On a fresh CI runner
with a warm remote cache, that starts every process of the build on the runner's CPUs as well,
and a tiny step (a zip, a version probe) can beat its own successful lookup. With a delay, a hit
runs nothing locally; a miss or a failed lookup starts the local run at once, without waiting.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from pants.engine.process import Process
from pants.engine.rules import collect_rules, rule

from pants_lambda.subsystems.lambda_subsystem import LambdaSubsystem


@dataclass(frozen=True)
class CacheFirstProcess:
    process: Process


@rule
async def cache_first_process(request: CacheFirstProcess, subsystem: LambdaSubsystem) -> Process:
    delay = subsystem.remote_cache_speculation_delay
    if delay < 0:
        raise ValueError(
            f"The option `[{subsystem.options_scope}].remote_cache_speculation_delay` is {delay}; "
            "set it to a number of milliseconds, 0 or more."
        )
    # Not in the cache key: the Action sent to the cache is the same with any delay.
    return dataclasses.replace(
        request.process,
        remote_cache_speculation_delay_millis=delay,
    )


def rules():
    return collect_rules()
