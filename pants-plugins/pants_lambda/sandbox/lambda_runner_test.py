from __future__ import annotations

import io
import json
import os
import re
import signal
import sys
import time
import zipfile
from pathlib import Path
from typing import Iterator

import pytest

from pants_lambda.sandbox import lambda_runner

# What run_rules.py gives the runner.
INTERNAL_ARGS = [
    "--chroot=chroot",
    "--function-zip=function.zip",
    "--handler=lambda_app.handler",
    "--runtime=python3.12",
    "--name=fn",
]
TRACE_ID = re.compile(r"Root=1-([0-9a-f]{8})-[0-9a-f]{24};Parent=[0-9a-f]{16};Sampled=0")


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A current directory for main(), and back, after it, what main() changes in this process:
    the environment, sys.path, the working directory, SIGALRM and the imported modules."""
    environ = dict(os.environ)
    path = sys.path[:]
    modules = set(sys.modules)
    alarm = signal.getsignal(signal.SIGALRM)
    monkeypatch.chdir(tmp_path)
    yield tmp_path
    os.environ.clear()
    os.environ.update(environ)
    sys.path[:] = path
    signal.signal(signal.SIGALRM, alarm)
    # Only the function's modules: a second copy of anything pytest imported meanwhile would
    # confuse it.
    for name in set(sys.modules) - modules:
        if (getattr(sys.modules[name], "__file__", None) or "").startswith(str(tmp_path)):
            del sys.modules[name]


def write_zip(path: Path, files: dict[str, str]) -> None:
    with zipfile.ZipFile(path, "w") as zf:
        for name, text in files.items():
            zf.writestr(name, text)


def write_function(workdir: Path, handler_source: str) -> None:
    write_zip(workdir / "function.zip", {"lambda_app.py": handler_source})


def test_parse_args_defaults() -> None:
    args = lambda_runner.parse_args(INTERNAL_ARGS)
    assert args.event is None
    assert args.timeout == lambda_runner.DEFAULT_TIMEOUT == 3.0
    assert args.memory == lambda_runner.DEFAULT_MEMORY_MB == 128
    assert args.env == []
    assert args.layer_zip == []
    assert args.runtime_packages is None


def test_parse_args_internal_arguments() -> None:
    args = lambda_runner.parse_args(
        [*INTERNAL_ARGS, "--layer-zip=a.zip", "--layer-zip=b.zip", "--runtime-packages=rt"]
    )
    assert args.layer_zip == ["a.zip", "b.zip"]
    assert args.runtime_packages == "rt"


def test_help_hides_the_internal_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        lambda_runner.parse_args([*INTERNAL_ARGS, "--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    assert "--event" in out and "--timeout" in out
    assert "--runtime-packages" not in out and "--chroot" not in out


@pytest.mark.parametrize("timeout", ["0", "-1"])
def test_parse_args_rejects_a_timeout_that_is_not_positive(
    timeout: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        lambda_runner.parse_args([*INTERNAL_ARGS, f"--timeout={timeout}"])
    assert exited.value.code == lambda_runner.USAGE_ERROR == 2
    assert "--timeout must be a positive number of seconds" in capsys.readouterr().err


def test_parse_args_rejects_a_timeout_that_is_not_a_number() -> None:
    with pytest.raises(SystemExit) as exited:
        lambda_runner.parse_args([*INTERNAL_ARGS, "--timeout=soon"])
    assert exited.value.code == 2


def test_read_event_defaults_to_an_empty_object() -> None:
    assert lambda_runner.read_event(None) == {}


def test_read_event_from_a_file(tmp_path: Path) -> None:
    event = tmp_path / "event.json"
    event.write_text('{"id": "u1", "items": [1, 2]}')
    assert lambda_runner.read_event(str(event)) == {"id": "u1", "items": [1, 2]}


def test_read_event_from_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO('["from", "stdin"]'))
    assert lambda_runner.read_event("-") == ["from", "stdin"]


def test_read_event_that_is_not_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO('{"id": u1}'))
    with pytest.raises(lambda_runner.UsageError) as raised:
        lambda_runner.read_event("-")
    message = str(raised.value)
    assert message.startswith("the event from stdin is not valid JSON: Expecting value at line 1")
    assert "`--event event.json`" in message


def test_read_event_from_a_missing_file(tmp_path: Path) -> None:
    missing = str(tmp_path / "missing.json")
    with pytest.raises(lambda_runner.UsageError) as raised:
        lambda_runner.read_event(missing)
    assert str(raised.value) == f"cannot read the event from {missing}: No such file or directory"


def test_lambda_environment() -> None:
    args = lambda_runner.parse_args(
        [*INTERNAL_ARGS, "--memory=512", "--env=TABLE=users", "--env=QUERY=a=b", "--env=EMPTY="]
    )
    env = lambda_runner.lambda_environment(args, "/t/task", "/t/opt", "eu-west-1")
    assert env["TABLE"] == "users"
    assert env["QUERY"] == "a=b"
    assert env["EMPTY"] == ""
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == "eu-west-1"
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "512"
    assert env["AWS_EXECUTION_ENV"] == "AWS_Lambda_python3.12"
    assert env["LAMBDA_TASK_ROOT"] == "/t/task"
    assert env["_HANDLER"] == "lambda_app.handler"
    # Lambda sets it per invocation, not in the init phase.
    assert "_X_AMZN_TRACE_ID" not in env


@pytest.mark.parametrize("item", ["TABLE", "=users"])
def test_lambda_environment_rejects_a_bad_env(item: str) -> None:
    args = lambda_runner.parse_args([*INTERNAL_ARGS, f"--env={item}"])
    with pytest.raises(lambda_runner.UsageError, match=f"--env takes NAME=VALUE, not '{item}'"):
        lambda_runner.lambda_environment(args, "/t/task", "/t/opt", "us-east-1")


def test_lambda_sys_path_order(tmp_path: Path) -> None:
    task, opt, runtime = (str(tmp_path / name) for name in ("task", "opt", "runtime"))
    version = f"python{sys.version_info[0]}.{sys.version_info[1]}"
    path = lambda_runner.lambda_sys_path(task, opt, runtime)
    assert path[:3] == [
        task,
        os.path.join(opt, "python", "lib", version, "site-packages"),
        os.path.join(opt, "python"),
    ]
    assert path[-1] == runtime
    stdlib = path[3:-1]
    assert os.path.dirname(os.__file__) in stdlib
    assert not [p for p in stdlib if "site-packages" in p]
    # Without the runtime's packages: the same, less the last entry.
    assert lambda_runner.lambda_sys_path(task, opt) == path[:-1]


def test_trace_id_header() -> None:
    # The time of AWS's documented example, Root=1-5759e988-bd862e3fe1be46a994272793.
    header = lambda_runner.trace_id_header(0x5759E988 + 0.75)
    match = TRACE_ID.fullmatch(header)
    assert match, header
    assert match.group(1) == "5759e988"
    assert lambda_runner.trace_id_header(0x5759E988) != header


HANDLER = """\
import json
import os

import helper
import runtimeonly
import shadowed

# Relative, as Lambda's working directory is the function's folder.
with open("data.json") as fp:
    DATA = json.load(fp)
TRACE_ID_AT_INIT = "_X_AMZN_TRACE_ID" in os.environ


def handler(event, context):
    print("goes to the logs")
    return {
        "event": event,
        "data": DATA,
        "trace_id_at_init": TRACE_ID_AT_INIT,
        "trace_id": os.environ["_X_AMZN_TRACE_ID"],
        "cwd": os.getcwd(),
        "helper": helper.WHERE,
        "runtimeonly": runtimeonly.WHERE,
        "shadowed": shadowed.WHERE,
        "function_name": context.function_name,
    }
"""


def test_main_calls_the_handler_under_the_lambda_layout(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write_zip(workdir / "function.zip", {"lambda_app.py": HANDLER, "data.json": '{"n": 7}'})
    write_zip(
        workdir / "layer.zip",
        {"python/helper.py": 'WHERE = "layer"', "python/shadowed.py": 'WHERE = "layer"'},
    )
    runtime = workdir / "runtime-packages"
    runtime.mkdir()
    (runtime / "runtimeonly.py").write_text('WHERE = "runtime"')
    (runtime / "shadowed.py").write_text('WHERE = "runtime"')
    (workdir / "event.json").write_text('{"id": "u1"}')
    # The caller's own value must not reach the init phase.
    monkeypatch.setenv("_X_AMZN_TRACE_ID", "Root=1-00000000-000000000000000000000000")

    before = int(time.time())
    # Relative paths, all from the directory the user ran Pants in.
    exit_code = lambda_runner.main(
        [
            *INTERNAL_ARGS,
            "--layer-zip=layer.zip",
            "--runtime-packages=runtime-packages",
            "--event=event.json",
        ]
    )
    after = int(time.time())

    out, err = capsys.readouterr()
    assert exit_code == 0, err
    result = json.loads(out)
    assert result["event"] == {"id": "u1"}
    assert result["data"] == {"n": 7}
    assert os.path.realpath(result["cwd"]) == os.path.realpath(workdir / "chroot" / "task")
    assert result["trace_id_at_init"] is False
    match = TRACE_ID.fullmatch(result["trace_id"])
    assert match, result["trace_id"]
    assert before <= int(match.group(1), 16) <= after
    assert result["helper"] == "layer"
    assert result["runtimeonly"] == "runtime"
    assert result["shadowed"] == "layer"
    assert result["function_name"] == "fn"
    assert "goes to the logs" in err


def test_main_reports_a_raising_handler(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_function(workdir, "def handler(event, context):\n    raise ValueError('no such user')\n")
    assert lambda_runner.main(INTERNAL_ARGS) == lambda_runner.HANDLER_ERROR == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert "Traceback (most recent call last)" in err
    assert "ValueError: no such user" in err
    # The paths Lambda would show, not the temporary folder's.
    assert 'File "/var/task/lambda_app.py", line 2, in handler' in err
    assert "raise ValueError('no such user')" in err
    assert "pants run fn: the handler lambda_app.handler raised" in err


def test_main_stops_a_handler_at_the_timeout(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_function(workdir, "import time\n\ndef handler(event, context):\n    time.sleep(30)\n")
    assert lambda_runner.main([*INTERNAL_ARGS, "--timeout=0.3"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert "pants run fn: Task timed out after 0.30 seconds (--timeout)" in err


def test_main_rejects_a_missing_event_file(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_function(workdir, "def handler(event, context):\n    return 1\n")
    assert lambda_runner.main([*INTERNAL_ARGS, "--event=missing.json"]) == 2
    assert capsys.readouterr().err == (
        "pants run fn: cannot read the event from missing.json: No such file or directory\n"
    )
