"""Calls a packaged Lambda function the way the Lambda Python runtime does, for `pants run`.

This file runs as a script, with the standard library only, on a CPython of the function's
runtime started with `-I -S` (no site-packages, no environment), in a fresh folder `run_rules.py`
fills with the function's and its layers' ZIPs. It:

1. unpacks them into `task/` (Lambda's /var/task) and, in order, `opt/` (/opt);
2. sets Lambda's environment and `sys.path` (task, opt/python/lib/pythonX.Y/site-packages,
   opt/python, the standard library, then the packages the runtime provides if
   `--runtime-packages` names a folder of them), and changes directory to `task/`, as Lambda
   starts the runtime in /var/task (a relative `--event` is read before, from where Pants ran);
3. imports the handler's module (Lambda's init phase); with `--snap-start`, runs the SnapStart
   hooks the code registered with `snapshot_restore_py` as Lambda does around a snapshot: the
   before-snapshot hooks in reverse order of registration, then the after-restore hooks in
   order of registration, each logged on stderr; then sets `_X_AMZN_TRACE_ID` and calls the
   handler with the event and a context object, stopping it after `--timeout` seconds;
4. prints the result as JSON on stdout. The handler's own output goes to stderr, as it would go
   to CloudWatch Logs.

Exit codes: 0 the handler returned, 1 it or a SnapStart hook raised or it timed out (the
traceback is on stderr), 2 the event or the arguments are wrong.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import os
import signal
import sys
import time
import traceback
import uuid
import zipfile

USAGE_ERROR = 2
HANDLER_ERROR = 1
# What Lambda gives a function by default.
DEFAULT_TIMEOUT = 3.0
DEFAULT_MEMORY_MB = 128
DEFAULT_REGION = "us-east-1"
# The account id of the ARN the context reports: an example value, this is no real account.
ACCOUNT_ID = "123456789012"


class UsageError(Exception):
    pass


class HandlerTimeout(Exception):
    pass


class LambdaContext:
    """The attributes and methods of the Lambda Python runtime's context object."""

    def __init__(self, name: str, memory_mb: int, region: str, timeout: float) -> None:
        self.function_name = name
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:{region}:{ACCOUNT_ID}:function:{name}"
        self.memory_limit_in_mb = memory_mb
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{name}"
        self.log_stream_name = f"{time.strftime('%Y/%m/%d')}/[$LATEST]{uuid.uuid4().hex}"
        self.identity = None
        self.client_context = None
        self._deadline = time.monotonic() + timeout

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="pants run <lambda_function> --",
        description="Call the function's handler under the Lambda layout.",
    )
    # Given by run_rules.py.
    parser.add_argument("--chroot", required=True, help=argparse.SUPPRESS)
    parser.add_argument("--function-zip", required=True, help=argparse.SUPPRESS)
    parser.add_argument("--layer-zip", action="append", default=[], help=argparse.SUPPRESS)
    parser.add_argument("--handler", required=True, help=argparse.SUPPRESS)
    parser.add_argument("--runtime", required=True, help=argparse.SUPPRESS)
    parser.add_argument("--name", required=True, help=argparse.SUPPRESS)
    # A site-packages-like folder with what the runtime ships (boto3, botocore, ...).
    parser.add_argument("--runtime-packages", help=argparse.SUPPRESS)
    # The target's `snap_start=True`.
    parser.add_argument("--snap-start", action="store_true", help=argparse.SUPPRESS)
    # The user's, after `--`.
    parser.add_argument(
        "--event",
        help="a JSON file with the event, or `-` to read it from stdin; default: {}",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        help=f"seconds the handler may run, as Lambda's timeout (default {DEFAULT_TIMEOUT:g})",
    )
    parser.add_argument(
        "--memory",
        type=int,
        default=DEFAULT_MEMORY_MB,
        help=f"what the context and environment report, in MB (default {DEFAULT_MEMORY_MB})",
    )
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="an environment variable of the function, as Terraform's `environment` sets it",
    )
    args = parser.parse_args(argv)
    if args.timeout <= 0:
        parser.error(f"--timeout must be a positive number of seconds, not {args.timeout:g}")
    return args


def read_event(source: str | None) -> object:
    if source is None:
        return {}
    where = "stdin" if source == "-" else source
    try:
        if source == "-":
            text = sys.stdin.read()
        else:
            with open(source, encoding="utf-8") as fp:
                text = fp.read()
    except OSError as e:
        raise UsageError(f"cannot read the event from {where}: {e.strerror}") from e
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise UsageError(
            f"the event from {where} is not valid JSON: {e.msg} at line {e.lineno}, column "
            f'{e.colno}. Give a JSON document, e.g. `--event event.json` with {{"id": "u1"}}.'
        ) from e


def unpack(args: argparse.Namespace) -> tuple[str, str]:
    # Absolute: the environment and sys.path name them after the runner changes directory.
    chroot = os.path.abspath(args.chroot)
    task = os.path.join(chroot, "task")
    opt = os.path.join(chroot, "opt")
    zipfile.ZipFile(args.function_zip).extractall(task)
    os.makedirs(opt, exist_ok=True)
    # Lambda extracts the layers in order, a later one over an earlier one.
    for layer in args.layer_zip:
        zipfile.ZipFile(layer).extractall(opt)
    return task, opt


def lambda_environment(
    args: argparse.Namespace, task: str, opt: str, region: str
) -> dict[str, str]:
    env = {
        "AWS_DEFAULT_REGION": region,
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{args.runtime}",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(args.memory),
        "AWS_LAMBDA_FUNCTION_NAME": args.name,
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_INITIALIZATION_TYPE": "snap-start" if args.snap_start else "on-demand",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{args.name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": f"{time.strftime('%Y/%m/%d')}/[$LATEST]local",
        "AWS_REGION": region,
        "LAMBDA_RUNTIME_DIR": os.path.join(os.path.abspath(args.chroot), "runtime"),
        "LAMBDA_TASK_ROOT": task,
        "LANG": "en_US.UTF-8",
        "LD_LIBRARY_PATH": os.pathsep.join([os.path.join(opt, "lib"), os.path.join(task, "lib")]),
        "PATH": os.pathsep.join(["/usr/local/bin", "/usr/bin", "/bin", os.path.join(opt, "bin")]),
        "TZ": ":UTC",
        "_HANDLER": args.handler,
    }
    for item in args.env:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise UsageError(f"--env takes NAME=VALUE, not {item!r}")
        env[name] = value
    return env


def lambda_sys_path(task: str, opt: str, runtime_packages: str | None = None) -> list[str]:
    """Lambda's order, the standard library, then the runtime's own packages, if given; nothing
    from the machine's site-packages."""
    version = f"python{sys.version_info[0]}.{sys.version_info[1]}"
    stdlib = [p for p in sys.path if p and "site-packages" not in p and not p.startswith(opt)]
    runner_dir = os.path.dirname(os.path.abspath(__file__))
    return [
        task,
        os.path.join(opt, "python", "lib", version, "site-packages"),
        os.path.join(opt, "python"),
        *(p for p in stdlib if os.path.abspath(p) != runner_dir),
        # Lambda keeps them in /var/runtime (before the standard library) on older runtimes and
        # in /var/lang/lib/pythonX.Y/site-packages (after it) on newer ones. Only their place
        # after task and /opt matters: the function's and the layers' copies win.
        *([runtime_packages] if runtime_packages else []),
    ]


def trace_id_header(now: float) -> str:
    """The X-Ray header Lambda sets in `_X_AMZN_TRACE_ID` for an invocation at `now` (epoch
    seconds), e.g. `Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0`.
    Not sampled: nothing here sends segments to X-Ray."""
    return f"Root=1-{int(now):08x}-{os.urandom(12).hex()};Parent={os.urandom(8).hex()};Sampled=0"


def _on_alarm(signum: int, frame: object) -> None:
    raise HandlerTimeout()


class HookFailed(Exception):
    def __init__(self, phase: str, hook: str) -> None:
        super().__init__(f"{phase} hook {hook}")
        self.phase = phase
        self.hook = hook


def load(handler: str):
    """Lambda's init phase: the module's top level runs, before any timeout starts."""
    module_name, _, func_name = handler.rpartition(".")
    return getattr(importlib.import_module(module_name), func_name)


def _hook_name(func: object) -> str:
    module = getattr(func, "__module__", None)
    name = getattr(func, "__qualname__", None) or repr(func)
    return f"{module}.{name}" if module else name


def play_snap_start(log) -> None:
    """What Lambda does between init and the first invocation of a SnapStart version: the
    before-snapshot hooks, last registered first, then (in a restored environment) the
    after-restore hooks, first registered first. Only hooks the code registered, through the
    `snapshot_restore_py` it imported."""
    hooks = sys.modules.get("snapshot_restore_py")
    if hooks is None:
        log("SnapStart: no runtime hooks (the code does not import snapshot_restore_py)")
        return
    phases = (
        ("before-snapshot", list(reversed(hooks.get_before_snapshot()))),
        ("after-restore", list(hooks.get_after_restore())),
    )
    for phase, registered in phases:
        for func, args, kwargs in registered:
            log(f"SnapStart: {phase} hook {_hook_name(func)}")
            try:
                func(*args, **kwargs)
            except Exception as e:
                raise HookFailed(phase, _hook_name(func)) from e


def invoke(func, event: object, context: LambdaContext, timeout: float) -> object:
    # Lambda sets it per invocation, so it is absent during the init phase.
    os.environ["_X_AMZN_TRACE_ID"] = trace_id_header(time.time())
    signal.signal(signal.SIGALRM, _on_alarm)
    signal.setitimer(signal.ITIMER_REAL, timeout)
    try:
        with contextlib.redirect_stdout(sys.stderr):
            return func(event, context)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


def lambda_traceback(text: str, task: str, opt: str) -> str:
    """A traceback with the paths Lambda shows: the files are in /var/task and /opt there.

    CPython names a module's file where its importer found it, not the `/var/task/...` its
    bytecode was compiled with."""
    return text.replace(f'File "{task}{os.sep}', 'File "/var/task/').replace(
        f'File "{opt}{os.sep}', 'File "/opt/'
    )


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or DEFAULT_REGION
    try:
        event = read_event(args.event)
        task, opt = unpack(args)
        env = lambda_environment(args, task, opt, region)
    except UsageError as e:
        print(f"pants run {args.name}: {e}", file=sys.stderr)
        return USAGE_ERROR
    os.environ.clear()
    os.environ.update(env)
    runtime_packages = os.path.abspath(args.runtime_packages) if args.runtime_packages else None
    sys.path[:] = lambda_sys_path(task, opt, runtime_packages)
    # Lambda's working directory is /var/task: a handler may open files of its ZIP by relative
    # path. The event was read above, so a relative `--event` is the user's.
    os.chdir(task)
    context = LambdaContext(args.name, args.memory, region, args.timeout)
    try:
        func = load(args.handler)
        if args.snap_start:
            with contextlib.redirect_stdout(sys.stderr):
                play_snap_start(lambda text: print(f"pants run {args.name}: {text}"))
        result = invoke(func, event, context, args.timeout)
    except HookFailed as e:
        print(lambda_traceback(traceback.format_exc(), task, opt), end="", file=sys.stderr)
        print(
            f"pants run {args.name}: the SnapStart {e.phase} hook {e.hook} raised: "
            + (
                "Lambda would fail to create the snapshot, and the version would not deploy"
                if e.phase == "before-snapshot"
                else "Lambda would fail to restore the snapshot (SnapStartException)"
            ),
            file=sys.stderr,
        )
        return HANDLER_ERROR
    except HandlerTimeout:
        print(
            f"pants run {args.name}: Task timed out after {args.timeout:.2f} seconds "
            "(--timeout)",
            file=sys.stderr,
        )
        return HANDLER_ERROR
    except Exception:
        print(lambda_traceback(traceback.format_exc(), task, opt), end="", file=sys.stderr)
        print(f"pants run {args.name}: the handler {args.handler} raised", file=sys.stderr)
        return HANDLER_ERROR
    try:
        print(json.dumps(result))
    except (TypeError, ValueError) as e:
        print(
            f"pants run {args.name}: Lambda cannot marshal the handler's result as JSON: {e}",
            file=sys.stderr,
        )
        return HANDLER_ERROR
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
