"""The handler and import checks on code Pants' own CPython 3.9 cannot parse, and their errors."""

from __future__ import annotations

import logging
from textwrap import dedent

import pytest

from pants.engine.addresses import Address
from pants.testutil.rule_runner import RuleRunner

from pants_lambda.conftest import package, package_error, set_options, zip_listing

from pants_lambda.sandbox.handler_check_tool import check
from pants_lambda.sandbox.import_chain_tool import imports
from pants_lambda.checks.import_rules import ShippedModules

MODERN_HANDLER = dedent(
    """\
    import json

    type Row = dict[str, int]

    class Box[T]:
        def __init__(self, item: T) -> None:
            self.item = item

    def handler(event, context):
        match event:
            case {"id": str(key)}:
                import shared.text
                return {"slug": shared.text.slug(key), "box": f"{json.dumps({"a": 1})}"}
            case _:
                try:
                    pass
                except* ValueError:
                    import shared.db
                return None
    """
)


def function(runtime: str, handler: str = "handler.py:handler") -> dict[str, str]:
    return {
        "src/python/shared/BUILD": "python_sources()",
        "src/python/shared/db.py": "def get(key):\n    return {'id': key}\n",
        "src/python/shared/text.py": "def slug(v):\n    return '-'.join(v.lower().split())\n",
        "src/python/app/BUILD": 'python_sources(name="src")\n'
        f'lambda_function(name="fn", handler="{handler}", runtime="{runtime}")\n',
    }


def assert_package_error(rule_runner: RuleRunner, *fragments: str) -> None:
    message = package_error(rule_runner, Address("src/python/app", target_name="fn"))
    for fragment in fragments:
        assert fragment in message


def test_python312_syntax_packages_and_inference_sees_inside_it(rule_runner: RuleRunner) -> None:
    rule_runner.write_files({**function("python3.12"), "src/python/app/handler.py": MODERN_HANDLER})
    built = package(rule_runner, Address("src/python/app", target_name="fn"))
    files, _, metadata = zip_listing(rule_runner, built)
    # The imports inside `match` cases and `except*` blocks are inferred.
    assert sorted(f for f in files if f.endswith(".py")) == [
        "app/handler.py",
        "shared/db.py",
        "shared/text.py",
    ]
    assert metadata["handler"] == "app.handler.handler"


def test_syntax_the_runtime_lacks_names_target_file_and_line(rule_runner: RuleRunner) -> None:
    rule_runner.write_files({**function("python3.11"), "src/python/app/handler.py": MODERN_HANDLER})
    assert_package_error(
        rule_runner,
        "The handler of src/python/app:fn is in app/handler.py (under its source root), which "
        "is not valid python3.11 code: invalid syntax (line 3",
        "type Row = dict[str, int]",
        "CPython 3.11.",
    )


def test_errors_only_the_compiler_finds(rule_runner: RuleRunner) -> None:
    # Valid to the parser, rejected by CPython 3.12's compiler.
    rule_runner.write_files(
        {
            **function("python3.12"),
            "src/python/app/handler.py": "def handler(event, context):\n    try:\n"
            "        pass\n    except* ValueError:\n        return 1\n",
        }
    )
    assert_package_error(
        rule_runner,
        "app/handler.py (under its source root), which is not valid python3.12 code: 'break', "
        "'continue' and 'return' cannot appear in an except* block (line 5",
    )


def test_no_interpreter_of_the_runtime_never_rejects_code(
    rule_runner: RuleRunner, caplog: pytest.LogCaptureFixture
) -> None:
    # Nothing to parse python3.12 code with: the handler check falls back to reading lines.
    set_options(
        rule_runner,
        extra=[
            "--python-bootstrap-search-path=['/nonexistent']",
            "--lambda-compile-bytecode=false",
        ],
    )
    rule_runner.write_files({**function("python3.12"), "src/python/app/handler.py": MODERN_HANDLER})
    with caplog.at_level(logging.WARNING):
        package(rule_runner, Address("src/python/app", target_name="fn"))
    assert "Could not check" not in caplog.text
    rule_runner.write_files(
        {
            **function("python3.12", handler="handler.py:main"),
            "src/python/app/handler.py": MODERN_HANDLER,
        }
    )
    with caplog.at_level(logging.WARNING):
        package(rule_runner, Address("src/python/app", target_name="fn"))
    assert (
        "Could not check that app/handler.py defines `main` (the `handler` field of "
        "src/python/app:fn): no CPython 3.12 was found to parse it with."
    ) in caplog.text
    assert "/nonexistent" in caplog.text


def test_a_handler_path_that_is_no_module_path(rule_runner: RuleRunner) -> None:
    set_options(rule_runner, source_roots="['/']")
    rule_runner.write_files(
        {
            "backend/cart-service/BUILD": 'python_sources(name="src")\n'
            'lambda_function(name="fn", handler="app.py:handler")\n',
            "backend/cart-service/app.py": "def handler(event, context):\n    return 1\n",
        }
    )
    message = package_error(rule_runner, Address("backend/cart-service", target_name="fn"))
    assert (
        "which Lambda would import as `backend.cart-service.app.handler`: 'cart-service' is not "
        "a valid Python identifier"
    ) in message
    assert '`[source].root_patterns = ["/backend/cart-service"]` (or `"/backend/*"`' in message


@pytest.mark.parametrize(
    "handler, fragment",
    [
        (
            "my-handler.py:handler",
            "`my-handler` (the file's name without `.py`) is not a valid "
            "Python module name, so Lambda could not import it. Rename the file, e.g. to "
            "`my_handler.py`.",
        ),
        (
            "lambda.py:handler",
            "`lambda` (the file's name without `.py`) is not a valid Python " "module name",
        ),
        ("handler.v2.py:handler", "`handler.v2` (the file's name without `.py`) is not a valid"),
    ],
)
def test_a_handler_file_name_that_is_no_module_name(
    rule_runner: RuleRunner, handler: str, fragment: str
) -> None:
    rule_runner.write_files(
        {
            "src/python/app/BUILD": 'python_sources(name="src")\n'
            f'lambda_function(name="fn", handler="{handler}")\n',
            f"src/python/app/{handler.split(':')[0]}": "def handler(event, context):\n    return 1\n",
        }
    )
    assert_package_error(rule_runner, fragment)


def test_a_handler_defined_in_a_top_level_try_block(rule_runner: RuleRunner) -> None:
    guarded = (
        "try:\n    from fastpath import handler  # pants: no-infer-dep\n"
        "except ImportError:\n    def handler(event, context):\n        return 1\n"
    )
    rule_runner.write_files({**function("python3.12"), "src/python/app/handler.py": guarded})
    package(rule_runner, Address("src/python/app", target_name="fn"))


def test_imports_nothing_provides_fail_and_guarded_ones_do_not(rule_runner: RuleRunner) -> None:
    guarded = dedent(
        """\
        import boto3
        import tomllib
        try:
            import ujson
        except ImportError:
            ujson = None
        import yaml_is_missing  # pants: no-infer-dep

        def handler(event, context):
            return boto3.__name__
        """
    )
    rule_runner.write_files({**function("python3.12"), "src/python/app/handler.py": guarded})
    # boto3 comes from the runtime, tomllib from the standard library, ujson is optional.
    package(rule_runner, Address("src/python/app", target_name="fn"))

    rule_runner.write_files(
        {"src/python/app/handler.py": "import utils\nfrom pydantic import BaseModel\n" + guarded}
    )
    assert_package_error(
        rule_runner,
        "The `lambda_function` src/python/app:fn imports modules that nothing provides on Lambda "
        "python3.12:\n"
        "  src/python/app/handler.py:1: import utils\n"
        "  src/python/app/handler.py:2: from pydantic import BaseModel\n",
        "`[python-infer].ignored_unowned_imports`",
    )


def test_the_check_tool_parses_with_its_own_grammar(tmp_path) -> None:
    (tmp_path / "ok.py").write_text("import os as handler\n")
    (tmp_path / "bad.py").write_text("def f(:\n    pass\n")
    assert check({"file": str(tmp_path / "ok.py"), "func": "handler"}) == {"defines": True}
    bad = check({"file": str(tmp_path / "bad.py"), "func": "f"})
    assert bad["syntax_error"]["line"] == 1 and bad["syntax_error"]["text"] == "def f(:"


def test_what_shipped_files_provide() -> None:
    shipped = ShippedModules.of(
        [
            "yaml/__init__.py",
            "yaml/_yaml.cpython-312-x86_64-linux-gnu.so",
            "six.py",
            "shared/text.py",  # `shared`: a namespace package
            "google/protobuf/message.py",
            "x-y/z.py",
            "PyYAML-6.0.2.dist-info/RECORD",
        ]
    )
    provided = ["yaml", "yaml.safe_load", "yaml._yaml", "six", "six.moves", "shared.text"]
    provided += ["shared.text.slug", "shared", "google.protobuf.message", "google.protobuf"]
    assert all(shipped.provide(module) for module in provided)
    # A typo in a namespace package, another `google` package, and no module at all.
    missing = ["shared.txt", "google.cloud.storage", "x-y", "z", "PyYAML"]
    assert not any(shipped.provide(module) for module in missing)


def test_the_runtimes_standard_library_and_namespace_packages(rule_runner: RuleRunner) -> None:
    # python3.10 has no tomllib, python3.12 no imp; a guarded tomllib is fine; `shared` is a
    # namespace package, so `shared.txt` (a typo of `shared.text`) is a module nothing ships.
    code = dedent(
        """\
        import imp
        import tomllib
        try:
            import tomllib as toml
        except ImportError:
            import json as toml
        from shared import text, txt

        def handler(event, context):
            return text.slug("a")
        """
    )
    rule_runner.write_files({**function("python3.10"), "src/python/app/handler.py": code})
    assert_package_error(
        rule_runner,
        "imports modules that nothing provides on Lambda python3.10:\n"
        "  src/python/app/handler.py:2: import tomllib (not in the standard library of "
        "python3.10)\n"
        "  src/python/app/handler.py:7: from shared import text, txt\n",
    )
    rule_runner.write_files({**function("python3.12"), "src/python/app/handler.py": code})
    assert_package_error(
        rule_runner,
        "imports modules that nothing provides on Lambda python3.12:\n"
        "  src/python/app/handler.py:1: import imp (not in the standard library of python3.12)\n"
        "  src/python/app/handler.py:7: from shared import text, txt\n",
    )


FALLBACK_CHAIN = dedent(
    """\
    import os
    import sys

    try:
        from provider.manifest_handler import invoke_export  # what Lambda runs
    except ImportError:
        try:
            from .manifest_handler import invoke_export  # the unit tests
        except ImportError:
            sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
            from manifest_handler import invoke_export  # the last resort

    try:
        import ujson as json
    except ModuleNotFoundError:
        import json

    def handler(event, context):
        return json.dumps(invoke_export(event))
    """
)


def chain_function(handler: str, runtime: str = "python3.13") -> dict[str, str]:
    return {
        "src/python/provider/BUILD": 'python_sources(name="src")\n'
        f'lambda_function(name="fn", handler="handler.py:handler", runtime="{runtime}")\n',
        "src/python/provider/manifest_handler.py": "def invoke_export(e):\n    return e\n",
        "src/python/provider/handler.py": handler,
    }


def test_a_fallback_chain_needs_one_alternative_provided(rule_runner: RuleRunner) -> None:
    # The first alternative is there on Lambda; the last would fail, and is never reached.
    rule_runner.write_files(chain_function(FALLBACK_CHAIN))
    built = package(rule_runner, Address("src/python/provider", target_name="fn"))
    files, _, _ = zip_listing(rule_runner, built)
    assert "provider/manifest_handler.py" in files

    # Nothing provides any alternative: an error naming each, as written, and nothing else.
    nothing = FALLBACK_CHAIN.replace("manifest_handler", "exporter").replace("ujson", "orjson")
    rule_runner.write_files(chain_function(nothing))
    message = package_error(rule_runner, Address("src/python/provider", target_name="fn"))
    assert (
        "The `lambda_function` src/python/provider:fn imports modules that nothing provides on "
        "Lambda python3.13:\n"
        "  src/python/provider/handler.py:4: a fallback chain (`try:` ... `except ImportError:`) "
        "none of whose alternatives is provided:\n"
        "      src/python/provider/handler.py:5: from provider.exporter import invoke_export\n"
        "      src/python/provider/handler.py:8: from .exporter import invoke_export\n"
        "      src/python/provider/handler.py:11: from exporter import invoke_export\n"
        "No first-party source"
    ) in message, message
    # `orjson`, then `json`: the standard library provides the second alternative.
    assert "orjson" not in message

    # A module the runtime's Python lacks, with a fallback nothing provides either.
    toml = "try:\n    import tomllib\nexcept ImportError:\n    import tomli as tomllib\n\n\n"
    toml += "def handler(event, context):\n    return tomllib.loads('')\n"
    rule_runner.write_files(chain_function(toml, runtime="python3.10"))
    message = package_error(rule_runner, Address("src/python/provider", target_name="fn"))
    assert (
        "      src/python/provider/handler.py:2: import tomllib (not in the standard library of "
        "python3.10)\n"
        "      src/python/provider/handler.py:4: import tomli as tomllib\n"
    ) in message
    # On python3.11 the standard library has it.
    rule_runner.write_files(chain_function(toml, runtime="python3.11"))
    package(rule_runner, Address("src/python/provider", target_name="fn"))


def test_what_the_chain_tool_reads() -> None:
    source = dedent(
        """\
        from . import sibling
        try:
            import a, b.c
        except (ValueError, ImportError):
            from x import (
                y,
                z,
            )
        else:
            import after_a
        finally:
            import always
        try:
            import not_a_chain
        except KeyError:
            import needed_too
        def f():
            try:
                import inner
            except:
                pass
        if TYPE_CHECKING:
            from mypy_boto3_s3 import S3Client
        else:
            S3Client = object
        """
    )
    line = lambda n, text, *modules: {"line": n, "text": text, "modules": list(modules)}
    assert imports(source, "pkg/mod.py") == {
        "imports": [
            line(1, "from . import sibling", "pkg.sibling"),
            {
                "line": 2,
                "alternatives": [
                    [line(3, "import a, b.c", "a", "b.c"), line(10, "import after_a", "after_a")],
                    [line(5, "from x import (y, z)", "x.y", "x.z")],
                ],
            },
            line(12, "import always", "always"),
            line(14, "import not_a_chain", "not_a_chain"),
            line(16, "import needed_too", "needed_too"),
            {"line": 18, "alternatives": [[line(19, "import inner", "inner")], []]},
        ],
        "type_checking": ["mypy_boto3_s3.S3Client"],
    }
    assert "syntax_error" in imports("def f(:\n", "m.py")


SNAPSTART = dedent(
    """\
    from snapshot_restore_py import register_after_restore, register_before_snapshot

    @register_before_snapshot
    def close():
        pass

    @register_after_restore
    def reconnect():
        pass

    def handler(event, context):
        return {}
    """
)
DURABLE = dedent(
    """\
    from aws_durable_execution_sdk_python import DurableContext, durable_execution

    @durable_execution
    def handler(event, context: DurableContext):
        return {}
    """
)


def test_modules_the_runtime_brings(
    rule_runner: RuleRunner, caplog: pytest.LogCaptureFixture
) -> None:
    # SnapStart's hooks library, in every runtime with its runtime interface client.
    rule_runner.write_files({**function("python3.12"), "src/python/app/handler.py": SNAPSTART})
    built = package(rule_runner, Address("src/python/app", target_name="fn"))
    files, _, _ = zip_listing(rule_runner, built)
    assert not any("snapshot_restore_py" in f for f in files)

    # The durable functions SDK: python3.13 and later have it, and AWS advises bundling it.
    rule_runner.write_files({**function("python3.13"), "src/python/app/handler.py": DURABLE})
    with caplog.at_level(logging.WARNING):
        built = package(rule_runner, Address("src/python/app", target_name="fn"))
    files, _, _ = zip_listing(rule_runner, built)
    assert not any("aws_durable_execution_sdk_python" in f for f in files)
    assert (
        "The `lambda_function` src/python/app:fn leaves the durable execution SDK "
        "(`aws-durable-execution-sdk-python`), imported at src/python/app/handler.py:1, to the "
        "python3.13 runtime. AWS: \"Lambda Node.js "
        "and Python runtimes include the durable execution SDK for testing and development. "
        "However, we recommend including the SDK in your deployment package for production."
    ) in caplog.text
    assert "a `python_requirement` for `aws-durable-execution-sdk-python`" in caplog.text

    # python3.12 has no durable SDK: the statement as written, with its line.
    rule_runner.write_files({**function("python3.12"), "src/python/app/handler.py": DURABLE})
    assert_package_error(
        rule_runner,
        "  src/python/app/handler.py:1: from aws_durable_execution_sdk_python import "
        "DurableContext, durable_execution\n",
    )


def test_an_import_pants_found_two_owners_for_is_missing_unless_shipped(
    rule_runner: RuleRunner,
) -> None:
    # Two services' requirement files pin one package: Pants warns, and adds neither.
    files = {
        "src/python/fn_a/BUILD": 'python_requirement(name="reqs", requirements=["idna==3.10"])\n',
        "src/python/fn_b/BUILD": 'python_requirement(name="reqs", requirements=["idna==3.10"])\n'
        'python_sources(name="src")\n'
        'lambda_function(name="fn", handler="app.py:handler", runtime="python3.12")\n',
        "src/python/fn_b/app.py": "import idna\n\n\ndef handler(event, context):\n"
        "    return idna.encode(event['host'])\n",
    }
    rule_runner.write_files(files)
    message = package_error(rule_runner, Address("src/python/fn_b", target_name="fn"))
    assert (
        "  src/python/fn_b/app.py:1: import idna (Pants found several owners, "
        "src/python/fn_a:reqs, src/python/fn_b:reqs, and added none of them: list the one to "
        "ship in the target's `dependencies`"
    ) in message, message
