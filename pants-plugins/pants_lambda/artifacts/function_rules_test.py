"""Packaging `lambda_function` and `lambda_layer` targets with first-party code only.

Third-party resolution for Lambda platforms is covered end to end in tests/python/e2e.
"""

from __future__ import annotations

import base64
import hashlib
import logging
from pathlib import Path

import pytest


from pants.engine.addresses import Address
from pants.engine.fs import DigestContents
from pants.engine.internals.scheduler import ExecutionError
from pants.testutil.rule_runner import RuleRunner


from pants_lambda.artifacts import zip_rules
from pants_lambda.conftest import (
    REPO,
    check_golden_compilers,
    package,
    package_error,
    set_options,
    zip_listing,
)

# Golden hashes: the bytes of these ZIPs must never change for the same inputs. If a deliberate
# change to the ZIP format moves them, update them in the same commit and say why. With bytecode
# (the default), they also hold for the CPython releases that compiled it, in GOLDEN_COMPILERS.
GOLDEN_FUNCTION_SHA256 = "3f39742a800b66f183d9af4fcba0b8db28231dd7e46df5656ed41a873064a313"
GOLDEN_LAYER_SHA256 = "1d90bcbfa2205175c6a2f07b456424981e32cedece803d185c48a361fc9f4185"
# The same ZIPs with `compile_bytecode=False`.
GOLDEN_FUNCTION_NO_BYTECODE_SHA256 = (
    "a8efa80814ae6984f3a97958ce2b77a8fac3a07fbbf4921586a074ef4f1e1b3e"
)
GOLDEN_LAYER_NO_BYTECODE_SHA256 = "9b6d35f61a2401cf139247e2e5dbabce7be095b141a18cc59f7c77b10a2a51f2"


def test_function_ships_its_imports_minus_its_layers(rule_runner: RuleRunner) -> None:
    rule_runner.write_files(REPO)
    built = package(rule_runner, Address("src/python/app", target_name="fn"))
    assert [a.relpath for a in built.artifacts] == [
        "src.python.app/fn.zip",
        "src.python.app/fn.json",
    ]
    files, infos, metadata = zip_listing(rule_runner, built)
    # db.py comes from the layer; unused.py is never imported.
    assert sorted(files) == [
        "app/__pycache__/handler.cpython-312.pyc",
        "app/handler.py",
        "shared/__pycache__/text.cpython-312.pyc",
        "shared/text.py",
    ]
    assert all(info.date_time == (1980, 1, 1, 0, 0, 0) for info in infos.values())
    assert all(info.external_attr >> 16 == 0o100644 for info in infos.values())
    assert metadata["handler"] == "app.handler.handler"
    assert metadata["runtime"] == "python3.12"
    assert metadata["architectures"] == ["arm64"]
    assert metadata["layers"] == ["shared"]
    # The JSON describes the ZIP's own bytes, as Terraform's filebase64sha256() would.
    contents = {fc.path: fc.content for fc in rule_runner.request(DigestContents, [built.digest])}
    zip_bytes = contents["src.python.app/fn.zip"]
    assert metadata["sha256"] == hashlib.sha256(zip_bytes).hexdigest()
    assert (
        metadata["source_code_hash"]
        == base64.b64encode(hashlib.sha256(zip_bytes).digest()).decode()
    )
    assert metadata["size"] == len(zip_bytes) and metadata["file_count"] == len(files)
    assert metadata["unzipped_size"] == sum(len(content) for content in files.values())
    check_golden_compilers()
    assert metadata["sha256"] == GOLDEN_FUNCTION_SHA256


def test_layer_layout(rule_runner: RuleRunner) -> None:
    rule_runner.write_files(REPO)
    rule_runner.chmod("layers/shared/bin/tool", 0o755)
    built = package(rule_runner, Address("layers/shared", target_name="shared"))
    files, infos, metadata = zip_listing(rule_runner, built)
    assert sorted(files) == [
        "bin/tool",
        "python/shared/__pycache__/db.cpython-312.pyc",
        "python/shared/__pycache__/db.cpython-313.pyc",
        "python/shared/db.py",
    ]
    assert infos["bin/tool"].external_attr >> 16 == 0o100755
    assert metadata["compatible_runtimes"] == ["python3.12", "python3.13"]
    assert metadata["compatible_architectures"] == ["arm64"]
    check_golden_compilers()
    assert metadata["sha256"] == GOLDEN_LAYER_SHA256


def test_golden_hashes_without_bytecode(rule_runner: RuleRunner) -> None:
    set_options(rule_runner, extra=["--lambda-compile-bytecode=false"])
    rule_runner.write_files(REPO)
    rule_runner.chmod("layers/shared/bin/tool", 0o755)
    function = package(rule_runner, Address("src/python/app", target_name="fn"))
    layer = package(rule_runner, Address("layers/shared", target_name="shared"))
    assert zip_listing(rule_runner, function)[2]["sha256"] == GOLDEN_FUNCTION_NO_BYTECODE_SHA256
    assert zip_listing(rule_runner, layer)[2]["sha256"] == GOLDEN_LAYER_NO_BYTECODE_SHA256


def test_a_spec_too_large_for_the_environment_goes_in_a_file(
    rule_runner: RuleRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The zip and compile steps get their spec in an environment variable, or, past the limit
    # (a function with very many files), in a file: the same ZIP either way.
    monkeypatch.setattr(zip_rules, "_SPEC_ENV_LIMIT", 0)
    rule_runner.write_files(REPO)
    rule_runner.chmod("layers/shared/bin/tool", 0o755)
    function = package(rule_runner, Address("src/python/app", target_name="fn"))
    layer = package(rule_runner, Address("layers/shared", target_name="shared"))
    check_golden_compilers()
    assert zip_listing(rule_runner, function)[2]["sha256"] == GOLDEN_FUNCTION_SHA256
    assert zip_listing(rule_runner, layer)[2]["sha256"] == GOLDEN_LAYER_SHA256


def test_function_without_layers_ships_everything_it_imports(rule_runner: RuleRunner) -> None:
    rule_runner.write_files(
        {
            **REPO,
            "src/python/app/BUILD": 'python_sources(name="src")\n'
            'lambda_function(name="fn", handler="app.handler:handler", runtime="python3.10")\n',
        }
    )
    built = package(rule_runner, Address("src/python/app", target_name="fn"))
    files, _, metadata = zip_listing(rule_runner, built)
    assert sorted(f for f in files if f.endswith(".py")) == [
        "app/handler.py",
        "shared/db.py",
        "shared/text.py",
    ]
    assert metadata["bytecode"]["cache_tags"] == ["cpython-310"]
    assert metadata["layers"] == [] and metadata["runtime"] == "python3.10"


def assert_package_error(rule_runner: RuleRunner, files: dict[str, str], *fragments: str) -> None:
    rule_runner.write_files({**REPO, **files})
    message = package_error(rule_runner, Address("src/python/app", target_name="fn"))
    for fragment in fragments:
        assert fragment in message


def function_build(**fields: str) -> dict[str, str]:
    args = {
        "handler": '"handler.py:handler"',
        "architecture": '"arm64"',
        "layers": '["layers/shared"]',
        **fields,
    }
    body = ", ".join(f"{k}={v}" for k, v in args.items())
    return {
        "src/python/app/BUILD": f'python_sources(name="src")\nlambda_function(name="fn", {body})\n'
    }


def test_missing_handler_file(rule_runner: RuleRunner) -> None:
    assert_package_error(
        rule_runner,
        function_build(handler='"nope.py:handler"'),
        "The `handler` field of src/python/app:fn is 'nope.py:handler', but "
        "src/python/app/nope.py does not exist. Give a file relative to the BUILD file's folder",
    )


def test_missing_handler_function(rule_runner: RuleRunner) -> None:
    assert_package_error(
        rule_runner,
        function_build(handler='"handler.py:main"'),
        "`handler` field of src/python/app:fn",
        "app/handler.py defines no top-level `main`",
    )


def test_missing_handler_module(rule_runner: RuleRunner) -> None:
    assert_package_error(
        rule_runner,
        function_build(handler='"app.missing:handler"'),
        "`handler` field of src/python/app:fn",
        "defines the module `app.missing`",
    )


def test_layer_that_is_not_a_lambda_layer(rule_runner: RuleRunner) -> None:
    assert_package_error(
        rule_runner,
        function_build(layers='["src/python/shared/db.py"]'),
        "`layers` field of src/python/app:fn",
        "src/python/shared/db.py (a `python_source`)",
        "only `lambda_layer` targets can be layers",
    )


def test_layer_for_another_runtime(rule_runner: RuleRunner) -> None:
    assert_package_error(
        rule_runner,
        function_build(runtime='"python3.11"'),
        "`layers` field of src/python/app:fn lists layers/shared:shared",
        "built for python3.12, python3.13, but the function runs on python3.11",
    )


def test_layer_for_another_architecture(rule_runner: RuleRunner) -> None:
    assert_package_error(
        rule_runner,
        function_build(architecture='"x86_64"'),
        "built for arm64, but the function runs on x86_64",
    )


def test_two_layers_shipping_one_path_with_other_bytes(rule_runner: RuleRunner) -> None:
    # A `file` the other layer ships at python/shared/db.py, with other content than the source.
    assert_package_error(
        rule_runner,
        {
            **function_build(layers='["layers/shared", "layers/other"]'),
            "layers/other/BUILD": 'file(name="db", source="python/shared/db.py")\n'
            'lambda_layer(name="other", runtime="python3.12", architecture="arm64", '
            'dependencies=[":db"])',
            "layers/other/python/shared/db.py": "# another db.py\n",
        },
        "lists layers/shared:shared and layers/other:other, which ship 1 path(s) with different "
        "content, e.g. python/shared/db.py",
    )


def test_two_layers_shipping_identical_files_is_a_warning(
    rule_runner: RuleRunner, caplog: pytest.LogCaptureFixture
) -> None:
    set_options(rule_runner, extra=["--lambda-compile-bytecode=false"])
    rule_runner.write_files(
        {
            **REPO,
            **function_build(layers='["layers/shared", "layers/other"]'),
            "layers/other/BUILD": 'lambda_layer(name="other", runtime="python3.12", '
            'architecture="arm64", dependencies=["src/python/shared/db.py"])',
        }
    )
    with caplog.at_level(logging.WARNING):
        built = package(rule_runner, Address("src/python/app", target_name="fn"))
    assert built.artifacts[0].relpath == "src.python.app/fn.zip"
    db_size = len(REPO["src/python/shared/db.py"].encode())
    assert (
        "lists layers/shared:shared and layers/other:other, which both ship the same 1 file(s), "
        f"e.g. python/shared/db.py: {db_size:,} bytes count twice against Lambda's 262,144,000-byte "
        "limit"
    ) in caplog.text


def test_include_sources_false_leaves_first_party_code_out(rule_runner: RuleRunner) -> None:
    rule_runner.write_files(
        {
            **REPO,
            "layers/shared/BUILD": 'lambda_layer(name="shared", architecture="arm64", '
            'runtime="python3.12", dependencies=["src/python/shared/db.py"], '
            "include_sources=False)",
        }
    )
    built = package(rule_runner, Address("layers/shared", target_name="shared"))
    assert sorted(zip_listing(rule_runner, built)[0]) == []
    # The function ships db.py itself, since the layer does not.
    function = package(rule_runner, Address("src/python/app", target_name="fn"))
    assert "shared/db.py" in zip_listing(rule_runner, function)[0]


def test_include_requirements_false_names_what_no_layer_provides(rule_runner: RuleRunner) -> None:
    assert_package_error(
        rule_runner,
        {
            **function_build(dependencies='["3rdparty:six"]', include_requirements="False"),
            "3rdparty/BUILD": 'python_requirement(name="six", requirements=["six==1.17.0"])',
        },
        "The `include_requirements` field of src/python/app:fn is False, so its layers must "
        "provide every requirement its code needs, but none of layers/shared:shared provides "
        "six==1.17.0. Add them to a layer in `layers`, or remove `include_requirements=False`",
    )


def test_function_files_hidden_by_a_layer_package(rule_runner: RuleRunner) -> None:
    assert_package_error(
        rule_runner,
        {"src/python/shared/__init__.py": ""},
        "src/python/app:fn ships shared/text.py, but its layer layers/shared:shared",
        "regular package `shared` (shared/__init__.py)",
    )


def test_layer_file_outside_its_folder(rule_runner: RuleRunner) -> None:
    rule_runner.write_files(
        {
            **REPO,
            "data/BUILD": 'files(name="data", sources=["*.txt"])',
            "data/a.txt": "a",
            "layers/shared/BUILD": 'lambda_layer(name="shared", dependencies=["data"])',
        }
    )
    with pytest.raises(
        ExecutionError, match=r"outside the layer's folder `layers/shared`: \['data/a.txt'\]"
    ):
        package(rule_runner, Address("layers/shared", target_name="shared"))


def test_two_inputs_shipping_one_path(rule_runner: RuleRunner) -> None:
    # A `file` keeps its repository path, a Python source loses its source root: both are
    # app/handler.py in the ZIP, and Lambda could only keep one of them.
    assert_package_error(
        rule_runner,
        {
            **function_build(dependencies='["app:copy"]'),
            "app/BUILD": 'files(name="copy", sources=["handler.py"])',
            "app/handler.py": "# a copy\n",
        },
        "src/python/app:fn cannot be packaged: two inputs ship 'app/handler.py': its first-party "
        "Python sources and resources and its `file` targets. Lambda would keep only one of them",
    )


def test_bad_lambda_option_names_the_option(rule_runner: RuleRunner) -> None:
    set_options(rule_runner, runtime="python2.7")
    assert_package_error(
        rule_runner,
        function_build(),
        "The option `[lambda].runtime` is 'python2.7'; set it to one of python3.10,",
    )


def test_pip_configuration_decides_nothing_whatever_pants_toml_says(
    rule_runner: RuleRunner, tmp_path: Path
) -> None:
    # A pants.toml that hands pip a configuration forbidding every index: pip would find no six.
    hostile = tmp_path / "pip.conf"
    hostile.write_text("[global]\nno-index = true\n")
    set_options(
        rule_runner,
        resolves=False,
        extra=[f"--subprocess-environment-env-vars=['PIP_CONFIG_FILE={hostile}']"],
    )
    rule_runner.write_files(
        {
            **REPO,
            **function_build(dependencies='["3rdparty:six"]'),
            "3rdparty/BUILD": 'python_requirement(name="six", requirements=["six==1.17.0"])',
        }
    )
    built = package(rule_runner, Address("src/python/app", target_name="fn"))
    files, _, _ = zip_listing(rule_runner, built)
    assert "six.py" in files


def test_a_missing_lockfile_names_the_command_that_writes_it(rule_runner: RuleRunner) -> None:
    assert_package_error(
        rule_runner,
        {
            **function_build(dependencies='["3rdparty:six"]'),
            "3rdparty/BUILD": 'python_requirement(name="six", requirements=["six==1.17.0"])',
        },
        "The lockfile 3rdparty/lambda.lock of the resolve `lambda`, which the `lambda_function` "
        "src/python/app:fn uses, does not exist. Run `pants generate-lockfiles --resolve=lambda`",
    )


def test_a_constraints_file_line_that_is_no_requirement(rule_runner: RuleRunner) -> None:
    set_options(
        rule_runner, resolves=False, extra=["--python-requirement-constraints=constraints.txt"]
    )
    assert_package_error(
        rule_runner,
        {
            **function_build(dependencies='["3rdparty:six"]'),
            "3rdparty/BUILD": 'python_requirement(name="six", requirements=["six"])',
            "constraints.txt": "six==1.17.0\nsix=1.17\n",
        },
        "constraints.txt (`[python].requirement_constraints`, used by the `lambda_function` "
        "src/python/app:fn) holds a line that is not a requirement: Invalid requirement "
        "'six=1.17' in constraints.txt at line 2",
        "Write one `name==version` per line.",
    )


@pytest.mark.parametrize("requirement", ["boto3>=1.40", "boto3>=1.42"])
def test_what_a_function_leaves_to_its_runtime(rule_runner: RuleRunner, requirement: str) -> None:
    # The python3.12 runtime provides boto3 1.40.4 (runtime_packages.py): nothing is resolved or
    # shipped for it, and a requirement that version does not meet is an error.
    set_options(rule_runner, resolves=False)
    rule_runner.write_files(
        {
            **REPO,
            **function_build(
                dependencies='["3rdparty:boto3"]',
                include_runtime_provided="False",
                layers="[]",
            ),
            "3rdparty/BUILD": f'python_requirement(name="boto3", requirements=["{requirement}"])',
        }
    )
    if requirement == "boto3>=1.42":
        message = package_error(rule_runner, Address("src/python/app", target_name="fn"))
        assert (
            "The `lambda_function` src/python/app:fn needs boto3>=1.42 and leaves boto3 to the "
            "python3.12 runtime (`include_runtime_provided=False`), which provides boto3 1.40.4."
        ) in message
        return
    files, _, _ = zip_listing(rule_runner, package(rule_runner, Address("src/python/app", "fn")))
    assert not [name for name in files if name.startswith(("boto3", "botocore"))]
