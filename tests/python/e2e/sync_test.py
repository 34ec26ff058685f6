"""`./pants lambda-sync` against a real AWS API (moto's server, on 127.0.0.1).

The example's manifests are deployed as the reference Terraform deploys them; then a shared file
is edited, and the sync must make exactly the calls that bring the account to the new build:
new code for the functions whose ZIP changed, one new version of each changed layer, and the
functions using it repointed, nothing else. It refuses an account it is not allowed to touch.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator

import pytest

from e2e import moto
from e2e.clones import Clone, make_clone, served_by_pantsd, stop_process_group
from e2e.moto import FAKE_CREDENTIALS, LINE, PREFIX, boto3_script, drift, drifted

# moto's account id for any credentials.
ACCOUNT = "123456789012"


def sync(clone: Clone, endpoint: str, *options: str) -> tuple[int, dict[str, str], str]:
    """The exit code, `module/kind/key -> status` and stderr of `./pants lambda-sync`."""
    result = clone.pants(
        "lambda-sync",
        f"--name-prefix={PREFIX}",
        f"--endpoint-url={endpoint}",
        *options,
        "infrastructure::",
        check=False,
        extra_env=FAKE_CREDENTIALS,
    )
    statuses = {
        f"{module}/{kind}/{key}": status
        for module, kind, key, _, status in LINE.findall(result.stdout)
    }
    return result.returncode, statuses, result.stderr


def deployed(python: Path, endpoint: str) -> dict:
    return json.loads(boto3_script(python, "describe", endpoint))


@pytest.fixture(scope="module")
def python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return moto.install(tmp_path_factory.mktemp("moto") / "venv")


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Clone]:
    copy = make_clone(tmp_path_factory.mktemp("sync") / "clone", shared_caches=True)
    with served_by_pantsd(copy) as served:
        yield served


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
        text.write_text(original + "\n# edited by sync_test\n")
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
        finally:
            text.write_text(original)

        # The API is gone: one clear line, non-zero, no traceback.
        stop_process_group(server)
        code, statuses, stderr = sync(clone, endpoint, allowed)
        assert code == 2 and not statuses
        assert f'Could not connect to the endpoint URL: "{endpoint}/' in stderr, stderr
        assert "Traceback" not in stderr
