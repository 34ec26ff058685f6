"""`./pants run` of every x86_64 example function, and of handlers that fail, hang or cannot run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator

import pytest

from e2e.clones import Clone, make_clone, served_by_pantsd, write_files
from e2e.example import EXPECTED

# Handlers that misbehave, and one that reports what Lambda gives it.
RUNCHECK = {
    "src/python/runcheck/BUILD": "\n".join(
        f'lambda_function(name="{name}", handler="{module}.py:handler", runtime="python3.12")'
        for name, module in (("boom", "boom"), ("slow", "slow"), ("probe", "probe"))
    )
    + '\npython_sources(name="src")\n',
    "src/python/runcheck/boom.py": "def handler(event, context):\n"
    "    raise ValueError(f\"no order {event['id']}\")\n",
    "src/python/runcheck/slow.py": "import time\n\n\ndef handler(event, context):\n"
    "    time.sleep(60)\n",
    "src/python/runcheck/probe.py": "import os\nimport sys\n\nLOADED_AT_INIT = 'yaml' in "
    "sys.modules\n\n\ndef handler(event, context):\n"
    "    print('a log line')\n"
    "    return {\n"
    "        'env': {k: os.environ.get(k) for k in ('AWS_LAMBDA_FUNCTION_NAME', "
    "'AWS_LAMBDA_FUNCTION_MEMORY_SIZE', 'AWS_EXECUTION_ENV', '_HANDLER', 'AWS_REGION', 'TABLE')},\n"
    "        'task_root_is_first': sys.path[0] == os.environ['LAMBDA_TASK_ROOT'],\n"
    "        'site_packages': [p for p in sys.path if 'site-packages' in p and "
    "'/opt/python/' not in p],\n"
    "        'context': [context.function_name, context.memory_limit_in_mb, "
    "context.invoked_function_arn, len(context.aws_request_id), "
    "0 < context.get_remaining_time_in_millis() <= 3000],\n"
    "    }\n",
}


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Clone]:
    repo = make_clone(tmp_path_factory.mktemp("run"), shared_caches=True)
    write_files(repo.root, RUNCHECK)
    with served_by_pantsd(repo) as served:
        yield served


def run(clone: Clone, target: str, *args: str, stdin: str | None = None, check: bool = True):
    return clone.pants("run", target, "--", *args, check=check, stdin=stdin)


# The example's x86_64 functions and their handlers (arm64 `tokens` cannot run here).
X86_64_FUNCTIONS = {
    "src/python/access/audit:audit": "access.audit.handler.handler",
    "src/python/access/profiles:profiles": "access.profiles.handler.handler",
    "src/python/access/sessions:sessions": "access.sessions.handler.handler",
    "src/python/billing/invoices:invoices": "billing.invoices.handler.handler",
    "src/python/billing/payments:payments": "billing.payments.handler.handler",
    "src/python/billing/refunds:refunds": "billing.refunds.handler.handler",
    "src/python/billing/reports:reports": "billing.reports.handler.handler",
}


def test_every_x86_64_example_function_prints_its_result(clone: Clone, tmp_path: Path) -> None:
    targets = json.loads(clone.pants("peek", "src/python/access::", "src/python/billing::").stdout)
    x86_64 = {
        t["address"]
        for t in targets
        if t["target_type"] == "lambda_function" and t.get("architecture") != "arm64"
    }
    assert x86_64 == set(X86_64_FUNCTIONS), "the example's functions changed: update this test"
    for address, handler in X86_64_FUNCTIONS.items():
        event, expected = EXPECTED[handler]
        event_file = tmp_path / "event.json"
        event_file.write_text(json.dumps(event))
        result = run(clone, address, f"--event={event_file}")
        assert json.loads(result.stdout) == expected, (address, result.stderr)


def test_event_from_stdin_environment_and_context(clone: Clone) -> None:
    result = run(
        clone,
        "src/python/runcheck:probe",
        "--event=-",
        "--memory=512",
        "--env=TABLE=orders",
        stdin='{"id": "u1"}',
    )
    assert json.loads(result.stdout) == {
        "env": {
            "AWS_LAMBDA_FUNCTION_NAME": "probe",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
            "AWS_EXECUTION_ENV": "AWS_Lambda_python3.12",
            "_HANDLER": "runcheck.probe.handler",
            "AWS_REGION": "us-east-1",
            "TABLE": "orders",
        },
        "task_root_is_first": True,
        "site_packages": [],
        "context": [
            "probe",
            512,
            "arn:aws:lambda:us-east-1:123456789012:function:probe",
            36,
            True,
        ],
    }
    # The handler's own output goes to stderr, as it would go to CloudWatch Logs.
    assert "a log line" in result.stderr


def test_a_raising_handler_exits_non_zero_with_its_traceback(clone: Clone) -> None:
    result = run(clone, "src/python/runcheck:boom", "--event=-", stdin='{"id": 7}', check=False)
    assert result.returncode != 0
    assert "Traceback (most recent call last)" in result.stderr
    assert "ValueError: no order 7" in result.stderr
    # The paths CloudWatch would show: the handler's module is loaded from its bytecode.
    assert 'File "/var/task/runcheck/boom.py", line 2, in handler' in result.stderr
    assert result.stdout == ""


def test_invalid_json_is_a_clear_error(clone: Clone) -> None:
    result = run(clone, "src/python/runcheck:probe", "--event=-", stdin="{id: 1}", check=False)
    assert result.returncode != 0
    assert "the event from stdin is not valid JSON" in result.stderr, result.stderr


def test_the_timeout_stops_a_long_handler(clone: Clone) -> None:
    result = run(clone, "src/python/runcheck:slow", "--timeout=1", check=False)
    assert result.returncode != 0
    assert "Task timed out after 1.00 seconds" in result.stderr, result.stderr


def test_a_missing_runtime_interpreter_says_where_pants_looked(clone: Clone) -> None:
    result = clone.pants(
        "--python-bootstrap-search-path=['/nonexistent/bin']",
        # Without bytecode, the ZIP builds without the interpreter (bytecode_test.py covers the
        # compile step's own error).
        "--lambda-compile-bytecode=false",
        "run",
        "src/python/runcheck:probe",
        check=False,
    )
    assert result.returncode != 0
    assert (
        "src/python/runcheck:probe runs on python3.12, and no CPython 3.12 was found to run it "
        "with. Pants looks for `python3.12` in `[python-bootstrap].search_path`"
    ) in result.stderr, result.stderr
    assert "/nonexistent/bin" in result.stderr


def test_an_arm64_function_cannot_run_on_x86_64(clone: Clone) -> None:
    result = clone.pants("run", "src/python/access/tokens:tokens", check=False)
    assert result.returncode != 0
    assert (
        "src/python/access/tokens:tokens is built for arm64 (field `architecture`), and this "
        "machine runs x86_64"
    ) in result.stderr, result.stderr
