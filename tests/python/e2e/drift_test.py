"""After deploy: `./pants lambda-drift` and `./pants lambda-sync` against a real AWS API (moto's
server, on 127.0.0.1), and a rollback (check out, package, apply) proven with Terraform and the
drift check. The sync must make exactly the calls that bring the account to the new build: new
code for the functions whose ZIP changed, one new version of each changed layer, and the
functions using it repointed, nothing else; and it refuses an account it may not touch.

The example's manifests are deployed as the reference Terraform deploys them (an IAM role, layer
versions, functions wired to them), then the deployment and the checkout drift apart.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator

import pytest

from e2e import moto
from e2e.moto import (
    FAKE_CREDENTIALS,
    PREFIX,
    SHIP_TEXT,
    aws_goal,
    boto3_script,
    drift,
    drifted,
)
from e2e.clones import (
    Clone,
    commit_all,
    git,
    lambda_outputs,
    make_clone,
    served_by_pantsd,
    stop_process_group,
)
from e2e.terraform_tools import MODULES, Workspace

@pytest.fixture(scope="module")
def python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The python of a virtualenv with moto's server and boto3."""
    return moto.install(tmp_path_factory.mktemp("moto") / "venv")


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Clone]:
    """One copy of the repository, committed as `main`, served by a pantsd of its own for both
    tests: each leaves its work tree as it found it, on `main`."""
    copy = make_clone(tmp_path_factory.mktemp("drift") / "clone", shared_caches=True)
    commit_all(copy, "A")
    with served_by_pantsd(copy) as served:
        yield served


def test_drift_after_deploy_edit_update_delete_and_outage(
    python: Path, tmp_path: Path, clone: Clone
) -> None:
    clone.pants("package", "infrastructure::")
    with moto.moto_server(python, tmp_path / "moto.log") as (endpoint, server):
        boto3_script(python, "deploy", endpoint, str(clone.root), PREFIX)

        # 1. Just deployed: everything in sync.
        code, statuses, stderr = drift(clone, endpoint)
        assert code == 0 and len(statuses) == 13 and not drifted(statuses), (statuses, stderr)

        # 2. A shared file edited: exactly the artifacts shipping it (the `shared` layer of both
        # modules, and the functions without that layer) are `changed`.
        text = clone.root / "src/python/shared/text.py"
        original = text.read_text()
        text.write_text(original + "\n# edited by drift_test\n")
        code, statuses, _ = drift(clone, endpoint)
        assert code == 1
        assert drifted(statuses) == SHIP_TEXT
        text.write_text(original)

        # 3. One function updated by hand in AWS.
        other_zip = clone.root / "dist/src.python.billing.refunds/refunds.zip"
        boto3_script(python, "update", endpoint, f"{PREFIX}access-profiles", str(other_zip))
        code, statuses, _ = drift(clone, endpoint)
        assert code == 1 and drifted(statuses) == {"access/function/profiles": "changed"}

        # 4. One function deleted.
        boto3_script(python, "delete", endpoint, f"{PREFIX}billing-payments")
        code, statuses, _ = drift(clone, endpoint)
        assert code == 1
        assert drifted(statuses) == {
            "access/function/profiles": "changed",
            "billing/function/payments": "not deployed",
        }

        # No credentials anywhere (environment, ~/.aws, instance metadata): one clear line.
        (tmp_path / "empty-home").mkdir()
        no_credentials = {
            "HOME": str(tmp_path / "empty-home"),
            "AWS_REGION": "us-east-1",
            "AWS_EC2_METADATA_DISABLED": "true",
        }
        code, statuses, stderr = drift(clone, endpoint, no_credentials)
        assert code == 2 and not statuses
        assert "Unable to locate credentials" in stderr and "Traceback" not in stderr, stderr

        # 5. The API is gone: one clear line, non-zero, no traceback.
        stop_process_group(server)
        code, statuses, stderr = drift(clone, endpoint)
        assert code == 2 and not statuses
        assert f'Could not connect to the endpoint URL: "{endpoint}/' in stderr, stderr
        assert "Traceback" not in stderr


def test_rollback_is_checkout_package_apply(python: Path, tmp_path: Path, clone: Clone) -> None:
    clone.pants("package", "::")
    built_a = lambda_outputs(clone.root)
    spaces = {m: Workspace(clone, m, tmp_path / f"tf-{m}") for m in MODULES}
    for space in spaces.values():
        space.apply()

    # Commit B: a shared file and a handler changed; packaged, applied and deployed.
    for relpath in ("src/python/shared/text.py", "src/python/billing/payments/handler.py"):
        path = clone.root / relpath
        path.write_text(path.read_text() + "\n# commit B\n")
    git(clone, "commit", "-q", "-am", "B")
    clone.pants("package", "::")
    built_b = lambda_outputs(clone.root)
    forward = {m: space.planned_changes() for m, space in spaces.items()}
    for space in spaces.values():
        space.apply()

    # Rollback: check out A, package, and Terraform plans exactly what B changed, back.
    git(clone, "checkout", "-q", "HEAD~1")
    clone.pants("package", "::")
    assert (
        lambda_outputs(clone.root) == built_a
    ), "the rebuilt commit A differs from its first build"
    assert {m: space.planned_changes() for m, space in spaces.items()} == forward
    changed_zips = {
        path for path in built_a if path.endswith(".zip") and built_a[path] != built_b[path]
    }
    assert changed_zips == {
        "layers.shared/shared.zip",
        "src.python.access.audit/audit.zip",
        "src.python.access.sessions/sessions.zip",
        "src.python.billing.reports/reports.zip",
        "src.python.billing.payments/payments.zip",
    }

    # Against the deployment of B, the drift check names exactly the artifacts B changed.
    git(clone, "checkout", "-q", "main")
    clone.pants("package", "infrastructure::")
    with moto.moto_server(python, tmp_path / "moto.log") as (endpoint, _):
        boto3_script(python, "deploy", endpoint, str(clone.root), PREFIX)
        git(clone, "checkout", "-q", "HEAD~1")
        code, statuses, _ = drift(clone, endpoint)
    git(clone, "checkout", "-q", "main")
    assert code == 1
    assert drifted(statuses) == {**SHIP_TEXT, "billing/function/payments": "changed"}


# moto's account id for any credentials.
ACCOUNT = "123456789012"


def sync(
    clone: Clone, endpoint: str, *options: str, aws_env: dict[str, str] = FAKE_CREDENTIALS
) -> tuple[int, dict[str, str], str]:
    return aws_goal(clone, "lambda-sync", endpoint, *options, aws_env=aws_env)


def deployed(python: Path, endpoint: str) -> dict:
    return json.loads(boto3_script(python, "describe", endpoint))


def test_sync_updates_exactly_what_changed(python: Path, tmp_path: Path, clone: Clone) -> None:
    clone.pants("package", "infrastructure::")
    allowed = f"--lambda-sync-allowed-accounts=['{ACCOUNT}']"
    with moto.moto_server(python, tmp_path / "moto.log") as (endpoint, server):
        boto3_script(python, "deploy", endpoint, str(clone.root), PREFIX)
        before = deployed(python, endpoint)

        # Just deployed: every artifact unchanged, no call that changes anything.
        code, statuses, stderr = sync(clone, endpoint, allowed)
        assert code == 0 and len(statuses) == 13, (statuses, stderr)
        assert set(statuses.values()) == {"unchanged"}, statuses
        assert deployed(python, endpoint) == before

        text = clone.root / "src/python/shared/text.py"
        original = text.read_text()
        text.write_text(original + "\n# edited by the sync test\n")
        try:
            # An account nobody named as a dev account: refused before any update.
            code, statuses, stderr = sync(clone, endpoint)
            assert code == 2 and not statuses, stderr
            assert (
                f"the credentials are of account {ACCOUNT}, which "
                "`[lambda-sync].allowed_accounts` does not list (it lists none)"
            ) in stderr, stderr
            assert "nothing was updated" in stderr and "Traceback" not in stderr
            assert deployed(python, endpoint) == before

            # Allowed: the shared layer of each module gets one new version, the functions
            # that ship text.py get their code, those using the layer are repointed.
            code, statuses, stderr = sync(clone, endpoint, allowed)
            assert code == 0, (statuses, stderr)
            changed = {k: v for k, v in statuses.items() if v != "unchanged"}
            assert changed == {
                "access/layer/shared": "updated (version 2)",
                "billing/layer/shared": "updated (version 2)",
                "access/function/audit": "updated (code)",
                "access/function/sessions": "updated (code)",
                "billing/function/reports": "updated (code)",
                "access/function/profiles": f"updated (layers {PREFIX}access-deps:1, "
                f"{PREFIX}access-shared:2)",
                "billing/function/invoices": f"updated (layers {PREFIX}billing-deps:1, "
                f"{PREFIX}billing-shared:2)",
                "billing/function/refunds": f"updated (layers {PREFIX}billing-shared:2)",
            }, changed
            after = deployed(python, endpoint)
            assert sorted(after["layers"][f"{PREFIX}access-shared"]) == [1, 2]
            untouched = [
                name
                for name in before["functions"]
                if name.split(f"{PREFIX}", 1)[1].split("-", 1)[1]
                not in {"audit", "sessions", "reports", "profiles", "invoices", "refunds"}
            ]
            assert sorted(untouched) == [f"{PREFIX}access-tokens", f"{PREFIX}billing-payments"]
            for name in untouched:
                assert after["functions"][name] == before["functions"][name], name

            # The account is what this checkout builds.
            code, statuses, stderr = drift(clone, endpoint)
            assert code == 0 and not drifted(statuses), (statuses, stderr)

            # What a sync leaves to Terraform: a function gone from the account is not created, a
            # ZIP that goes through S3 is not uploaded; the rest goes on, and the exit code says so.
            boto3_script(python, "delete", endpoint, f"{PREFIX}access-tokens")
            build = clone.root / "src/python/billing/payments/BUILD"
            handler = clone.root / "src/python/billing/payments/handler.py"
            build_text, handler_text = build.read_text(), handler.read_text()
            layers = 'layers=["layers/deps"],'
            build.write_text(build_text.replace(layers, layers + '\n    upload="s3",'))
            handler.write_text(handler_text + "\n# edited by the sync test\n")
            try:
                code, statuses, stderr = sync(clone, endpoint, allowed)
            finally:
                build.write_text(build_text)
                handler.write_text(handler_text)
            assert code == 1, (statuses, stderr)
            assert {k: v for k, v in statuses.items() if v != "unchanged"} == {
                "access/function/tokens": "missing (not in the account)",
                "billing/function/payments": "needs terraform "
                '(upload="s3": deploy it with Terraform)',
            }, statuses
            assert f"{PREFIX}access-tokens" not in deployed(python, endpoint)["functions"]

            # No credentials anywhere: one clear line, nothing updated.
            (tmp_path / "empty-home").mkdir()
            no_credentials = {
                "HOME": str(tmp_path / "empty-home"),
                "AWS_REGION": "us-east-1",
                "AWS_EC2_METADATA_DISABLED": "true",
            }
            code, statuses, stderr = sync(clone, endpoint, allowed, aws_env=no_credentials)
            assert code == 2 and not statuses
            assert "Unable to locate credentials" in stderr and "nothing was updated" in stderr
            assert "Traceback" not in stderr
        finally:
            text.write_text(original)

        # The API is gone: one clear line, non-zero, no traceback.
        stop_process_group(server)
        code, statuses, stderr = sync(clone, endpoint, allowed)
        assert code == 2 and not statuses
        assert f'Could not connect to the endpoint URL: "{endpoint}/' in stderr, stderr
        assert "Traceback" not in stderr
