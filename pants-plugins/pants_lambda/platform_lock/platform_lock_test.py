from __future__ import annotations

import pytest

from pants.backend.python.util_rules.interpreter_constraints import InterpreterConstraints
from pants.engine.addresses import Address
from pants.testutil.rule_runner import RuleRunner

from pants_lambda.util_rules.closure_rules import (
    LambdaClosure,
    LambdaClosureRequest,
    RequirementStrings,
    RequirementStringsRequest,
)
from pants_lambda.platform_lock.platform_lock_format import (
    LambdaPlatformLockError,
    PlatformLockMetadata,
    admitted_runtimes,
    needs_platform_lock,
    platform_lock_path,
)
from pants_lambda.platform_lock.lockfiles import UnlockableRequirementError, check_lockable, locked_versions


def test_runtimes_newer_than_pex_lockfiles_need_a_platform_lock() -> None:
    assert [
        r
        for r in ("python3.10", "python3.12", "python3.13", "python3.14")
        if needs_platform_lock(r)
    ] == [
        "python3.13",
        "python3.14",
    ]


@pytest.mark.parametrize(
    "constraints, expected",
    [
        (["CPython>=3.10,<3.15"], ("python3.13", "python3.14")),
        (["CPython==3.13.*"], ("python3.13",)),
        (["CPython>=3.9,<3.13"], ()),
        (["CPython==3.9.*"], ()),
    ],
)
def test_admitted_runtimes(constraints: list[str], expected: tuple[str, ...]) -> None:
    assert admitted_runtimes(InterpreterConstraints(constraints)) == expected


def test_platform_lock_path_sits_beside_the_lockfile() -> None:
    assert (
        platform_lock_path("3rdparty/python/lambda.lock", "python3.13-arm64")
        == "3rdparty/python/lambda.python3.13-arm64.lock"
    )
    assert (
        platform_lock_path("default.lock", "python3.14-x86_64") == "default.python3.14-x86_64.lock"
    )


def test_metadata_round_trips_through_the_header() -> None:
    metadata = PlatformLockMetadata(
        "a/b.lock", "ab" * 32, "python3.14-arm64", ("pydantic==2.12.5",)
    )
    header = metadata.header("pants generate-lockfiles --resolve=b.lambda-platforms")
    content = (header + '{\n  "locked_resolves": []\n}\n').encode()
    assert PlatformLockMetadata.parse(content, "a/b.python3.14-arm64.lock", "cmd") == metadata
    assert locked_versions(content) == {}
    assert "//    pants generate-lockfiles --resolve=b.lambda-platforms" in header


def test_a_lockfile_without_its_header_names_the_command() -> None:
    with pytest.raises(LambdaPlatformLockError, match="regenerate it with `the command`"):
        PlatformLockMetadata.parse(b'{"locked_resolves": []}', "x.lock", "the command")


def test_direct_url_and_vcs_requirements_cannot_be_locked() -> None:
    check_lockable(["pydantic==2.12.5"], "x needs")
    with pytest.raises(UnlockableRequirementError) as error:
        check_lockable(
            [
                "pydantic==2.12.5",
                "six @ https://example.com/six-1.16.0-py2.py3-none-any.whl",
                "lib @ git+https://example.com/lib.git@v1",
            ],
            "the `lambda_function` a:b needs",
        )
    assert str(error.value).startswith(
        "the `lambda_function` a:b needs direct-URL or VCS requirements: "
        "lib @ git+https://example.com/lib.git@v1, "
        "six @ https://example.com/six-1.16.0-py2.py3-none-any.whl. A lockfile pins them"
    )


def test_transitive_excludes_leave_a_requirement_out_of_the_walk(rule_runner: RuleRunner) -> None:
    # boto3 reaches the function through shared code, and `!!` takes it out of the closure:
    # it is neither in the ZIP nor among the requirements a platform lockfile locks.
    rule_runner.write_files(
        {
            "3rdparty/BUILD": 'python_requirement(name="boto3", requirements=["boto3==1.40.4"])\n'
            'python_requirement(name="six", requirements=["six==1.17.0"])\n',
            "src/python/shared/BUILD": "python_sources()",
            "src/python/shared/aws.py": "import boto3\nimport six\n",
            "src/python/app/BUILD": 'python_sources(name="src")\n'
            'lambda_function(name="fn", handler="handler.py:handler", runtime="python3.13",\n'
            '                dependencies=["!!3rdparty:boto3"])\n'
            'lambda_layer(name="layer", runtime="python3.13",\n'
            '             dependencies=["src/python/shared", "!!3rdparty:six"])\n',
            "src/python/app/handler.py": "import shared.aws\n\n\ndef handler(event, context):\n"
            "    return 1\n",
        }
    )
    function, layer = Address("src/python/app", target_name="fn"), Address(
        "src/python/app", target_name="layer"
    )
    walked = rule_runner.request(RequirementStrings, [RequirementStringsRequest((function,))])
    assert walked.requirements == ("six==1.17.0",)
    walked = rule_runner.request(RequirementStrings, [RequirementStringsRequest((layer,))])
    assert walked.requirements == ("boto3==1.40.4",)
    closure = rule_runner.request(LambdaClosure, [LambdaClosureRequest(function)])
    assert dict(closure.requirements) == {"six==1.17.0": "six"}
