from __future__ import annotations

import pytest

from pants.engine.addresses import Address
from pants.engine.internals.scheduler import ExecutionError
from pants.testutil.rule_runner import RuleRunner

from pants_lambda.targets.target_types import (
    LambdaCompatibleRuntimesField,
    LambdaFunctionHandlerField,
    LambdaFunctionLayersField,
)


@pytest.mark.parametrize(
    "handler", ["handler.py:handler", "sub/app.py:main", "pkg.module:func", "m:_private"]
)
def test_handler_accepts_files_and_modules(handler: str) -> None:
    assert LambdaFunctionHandlerField(handler, Address("src")).value == handler


@pytest.mark.parametrize(
    "handler",
    [
        "handler.py",
        "handler.py:",
        ":func",
        "a.b",
        "pkg-x.mod:f",
        "/abs.py:f",
        "../up.py:f",
        "handler.py:1func",
        "handler.py:a.b",
    ],
)
def test_handler_rejects_malformed_values(handler: str) -> None:
    with pytest.raises(Exception, match=r"`handler` field of src:fn .*file.py:function"):
        LambdaFunctionHandlerField(handler, Address("src", target_name="fn"))


def test_layers_at_most_five_and_unique() -> None:
    address = Address("src", target_name="fn")
    assert LambdaFunctionLayersField(["l1", "l2"], address).value == ("l1", "l2")
    with pytest.raises(Exception, match="lists 6 layers, but Lambda allows at most 5"):
        LambdaFunctionLayersField([f"l{i}" for i in range(6)], address)
    with pytest.raises(Exception, match="lists l1 more than once"):
        LambdaFunctionLayersField(["l1", "l1"], address)


def test_compatible_runtimes_are_validated_and_ordered() -> None:
    address = Address("layers", target_name="deps")
    field = LambdaCompatibleRuntimesField(["python3.13", "python3.12", "python3.13"], address)
    assert field.value == ("python3.12", "python3.13")
    with pytest.raises(Exception, match=r"`compatible_runtimes` field of layers:deps must list"):
        LambdaCompatibleRuntimesField(["python2.7"], address)


@pytest.mark.parametrize(
    "build, message",
    [
        (
            'lambda_function(name="fn", handler="h.py:handler", runtime="python3.8")',
            r"runtime.*python3\.10.*python3\.8",
        ),
        (
            'lambda_function(name="fn", handler="h.py:handler", architecture="arm")',
            r"architecture.*arm64.*'arm'",
        ),
        (
            'lambda_layer(name="fn", runtime="python3.12", compatible_runtimes=["python3.12"])',
            "sets both `runtime` and `compatible_runtimes`. Keep one of them.",
        ),
    ],
)
def test_bad_targets_name_the_target_and_field(
    rule_runner: RuleRunner, build: str, message: str
) -> None:
    rule_runner.write_files({"src/BUILD": build, "src/h.py": "def handler(e, c): pass\n"})
    with pytest.raises(ExecutionError, match=message) as error:
        rule_runner.get_target(Address("src", target_name="fn"))
    assert "src:fn" in str(error.value)
