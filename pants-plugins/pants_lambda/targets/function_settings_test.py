"""A function's settings (memory, timeout, environment, ephemeral storage, SnapStart): checked
against Lambda's limits when it is packaged, and carried by its JSON file and the manifest."""

from __future__ import annotations

import datetime
import json
import logging
import os

import pytest

from pants.core.goals.package import BuiltPackage
from pants.engine.addresses import Address
from pants.engine.fs import DigestContents
from pants.testutil.rule_runner import RuleRunner

from pants_lambda.conftest import package, package_error, set_options, zip_listing
from pants_lambda.goals.manifest_rules import LambdaManifestFieldSet
from pants_lambda.checks.runtime_lifecycle import LIFECYCLE, lifecycle_notice, short_notice

HANDLER = "def handler(event, context):\n    return {}\n"
SETTINGS = (
    'memory_size=1024, timeout=30, ephemeral_storage=512, environment={"STAGE": "prod"}, '
    "snap_start=True"
)


def files(fields: str, runtime: str = "python3.12") -> dict[str, str]:
    return {
        "src/python/app/BUILD": 'python_sources(name="src")\n'
        f'lambda_function(name="fn", handler="handler.py:handler", runtime="{runtime}", '
        f"{fields})\n",
        "src/python/app/handler.py": HANDLER,
        "infra/BUILD": 'lambda_manifest(name="manifest", functions=["src/python/app:fn"])\n',
    }


def error(rule_runner: RuleRunner, fields: str, runtime: str = "python3.12") -> str:
    rule_runner.write_files(files(fields, runtime))
    message = package_error(rule_runner, Address("src/python/app", target_name="fn"))
    return message


def test_settings_reach_the_json_file_and_the_manifest(rule_runner: RuleRunner) -> None:
    rule_runner.write_files(files(SETTINGS))
    built = package(rule_runner, Address("src/python/app", target_name="fn"))
    _, _, described = zip_listing(rule_runner, built)
    expected = {
        "memory_size": 1024,
        "timeout": 30,
        "ephemeral_storage": 512,
        "environment": {"STAGE": "prod"},
        "snap_start": True,
    }
    assert {key: described[key] for key in expected} == expected
    target = rule_runner.get_target(Address("infra", target_name="manifest"))
    manifest = rule_runner.request(BuiltPackage, [LambdaManifestFieldSet.create(target)])
    contents = rule_runner.request(DigestContents, [manifest.digest])
    (text,) = [fc.content for fc in contents if fc.path == manifest.artifacts[0].relpath]
    entry = json.loads(text)["functions"]["fn"]
    assert {key: entry[key] for key in expected} == expected

    # Unset, Lambda's defaults apply: no key at all, and the same ZIP.
    rule_runner.write_files(files("", runtime="python3.12"))
    plain = package(rule_runner, Address("src/python/app", target_name="fn"))
    _, _, plain_described = zip_listing(rule_runner, plain)
    assert not set(expected) & set(plain_described)
    assert plain_described["sha256"] == described["sha256"]


@pytest.mark.parametrize(
    "fields, runtime, fragments",
    [
        (
            "snap_start=True",
            "python3.11",
            [
                "The `snap_start` field of src/python/app:fn is True, but the function runs on "
                "python3.11, and Lambda supports SnapStart for Python on python3.12, "
                "python3.13, python3.14 only."
            ],
        ),
        (
            "snap_start=True, ephemeral_storage=1024",
            "python3.12",
            [
                "src/python/app:fn sets `snap_start=True` and `ephemeral_storage=1024`, but "
                "SnapStart allows at most 512 MB of ephemeral storage"
            ],
        ),
        (
            "memory_size=64",
            "python3.12",
            ["The `memory_size` field of src/python/app:fn is 64, but Lambda allows 128 to 10,240"],
        ),
        (
            "timeout=901",
            "python3.12",
            ["The `timeout` field of src/python/app:fn is 901, but Lambda allows 1 to 900 seconds"],
        ),
        (
            "ephemeral_storage=20000",
            "python3.12",
            ["The `ephemeral_storage` field of src/python/app:fn is 20,000, but Lambda allows 512"],
        ),
        (
            'environment={"AWS_REGION": "eu-west-1", "STAGE": "prod"}',
            "python3.12",
            ["The `environment` field of src/python/app:fn sets AWS_REGION, which Lambda reserves"],
        ),
        (
            'environment={"1BAD": "x"}',
            "python3.12",
            ["The `environment` field of src/python/app:fn has '1BAD': Lambda takes names"],
        ),
        (
            'environment={"BIG": "x" * 4096}',
            "python3.12",
            ["holds 4,099 bytes of names and values, but Lambda allows 4,096 bytes in all"],
        ),
    ],
)
def test_settings_lambda_would_refuse_fail_the_build(
    rule_runner: RuleRunner, fields: str, runtime: str, fragments: list[str]
) -> None:
    message = error(rule_runner, fields, runtime)
    for fragment in fragments:
        assert fragment in message, message
    assert "Unrecognized field" not in message


def test_a_secret_in_the_environment_is_refused_without_printing_it(
    rule_runner: RuleRunner,
) -> None:
    # An access key id's format, made here (AWS's documented example key is allow-listed by
    # some scanners).
    key_id = "AKIA" + os.urandom(8).hex().upper()
    message = error(rule_runner, f'environment={{"STAGE": "prod", "UPLOAD_KEY": "{key_id}"}}')
    assert (
        "src/python/app:fn cannot be packaged: its `environment` field sets variables whose values "
        "hold secrets (checked with detect-secrets):\n  UPLOAD_KEY: AWS Access Key\n"
    ) in message, message
    assert key_id not in message


def test_a_retiring_runtime_warns_once_and_can_fail_the_build(
    rule_runner: RuleRunner, caplog: pytest.LogCaptureFixture
) -> None:
    rule_runner.write_files(files("", runtime="python3.10"))
    with caplog.at_level(logging.WARNING):
        built = package(rule_runner, Address("src/python/app", target_name="fn"))
    assert "The Lambda runtime python3.10 is being retired" in caplog.text
    assert "AWS blocks creating functions since 2026-11-30" in caplog.text
    assert "Move its targets to python3.14, the newest Python runtime" in caplog.text
    assert built.artifacts[0].extra_log_lines[1].startswith("    Runtime: python3.10 (x86_64); AWS")

    set_options(rule_runner, extra=["--lambda-retiring-runtimes=error"])
    message = error(rule_runner, "", runtime="python3.10")
    assert "src/python/app:fn runs on python3.10" in message
    assert "2026-11-30" in message and '`[lambda].retiring_runtimes = "error"`' in message


def test_the_lifecycle_dates() -> None:
    day = datetime.date
    # 90 days ahead: python3.11's deprecation (2027-06-30) is announced from 2027-04-01.
    assert lifecycle_notice("python3.11", day(2027, 3, 31)) is None
    assert "python3.11 is deprecated from 2027-06-30" in lifecycle_notice(
        "python3.11", day(2027, 4, 1)
    )
    # python3.10, between its create and update blocks.
    notice = lifecycle_notice("python3.10", day(2026, 12, 7))
    assert "python3.10 is deprecated since 2026-10-31" in notice
    assert "AWS blocks creating functions since 2026-11-30" in notice
    assert "AWS blocks updating functions from 2027-01-15" in notice
    assert short_notice("python3.10", day(2026, 12, 7)) == (
        "AWS blocks creating functions on it since 2026-11-30"
    )
    assert short_notice("python3.10", day(2027, 2, 1)) == (
        "AWS blocks updating functions on it since 2027-01-15"
    )
    assert short_notice("python3.12", day(2026, 12, 7)) is None
    assert set(LIFECYCLE) == {"python3.10", "python3.11", "python3.12", "python3.13", "python3.14"}
