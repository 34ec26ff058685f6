from __future__ import annotations

import pytest
from pants.engine.process import Process
from pants.testutil.option_util import create_subsystem
from pants.testutil.rule_runner import run_rule_with_mocks

from pants_lambda.util_rules.cache_first import CacheFirstProcess, cache_first_process
from pants_lambda.subsystems.lambda_subsystem import LambdaSubsystem

PROCESS = Process(("/bin/true",), description="a step", env={"A": "1"}, output_files=("out",))


def delayed(delay: int) -> Process:
    subsystem = create_subsystem(LambdaSubsystem, remote_cache_speculation_delay=delay)
    return run_rule_with_mocks(
        cache_first_process, rule_args=[CacheFirstProcess(PROCESS), subsystem]
    )


@pytest.mark.parametrize("delay", [0, 5000])
def test_only_the_delay_changes(delay: int) -> None:
    process = delayed(delay)
    assert process.remote_cache_speculation_delay_millis == delay
    assert process.argv == PROCESS.argv and process.env == PROCESS.env
    assert process.output_files == PROCESS.output_files
    assert process.timeout_seconds == PROCESS.timeout_seconds


def test_a_negative_delay_is_an_error() -> None:
    with pytest.raises(ValueError, match=r"`\[lambda\].remote_cache_speculation_delay` is -1"):
        delayed(-1)
