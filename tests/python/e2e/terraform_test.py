"""The manifests through a real `terraform plan`: only what changed is planned.

The AWS provider cannot be downloaded here, so Terraform 1.0.3 plans
tests/terraform/null_manifest, which reads each module's manifest exactly as
infrastructure/modules/lambda_manifest does, with the null provider.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Iterator

import pytest

from e2e.clones import Clone, make_clone, served_by_pantsd
from e2e.terraform_tools import MODULES, Workspace, terraform

@pytest.fixture(scope="module")
def workspaces(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Workspace]]:
    clone = make_clone(tmp_path_factory.mktemp("terraform"), shared_caches=True)
    with served_by_pantsd(clone) as clone:
        clone.pants("package", "::")
        spaces = {m: Workspace(clone, m, clone.root.parent / f"tf-{m}") for m in MODULES}
        for space in spaces.values():
            space.apply()
        yield spaces


def edit_and_package(clone: Clone, relpath: str) -> None:
    path = clone.root / relpath
    path.write_text(path.read_text() + "\n# edited by terraform_test\n")
    clone.pants("package", "::")


def plans(workspaces: dict[str, Workspace]) -> dict[str, set[str]]:
    return {module: space.planned_changes() for module, space in workspaces.items()}


def test_reference_terraform_is_formatted() -> None:
    root = Path(os.environ["PANTS_LAMBDA_REPO"])
    for folder in ("infrastructure", "tests/terraform"):
        result = subprocess.run(
            [
                str(terraform()),
                "fmt",
                "-no-color",
                "-check",
                "-recursive",
                "-diff",
                str(root / folder),
            ],
            capture_output=True,
            text=True,
            env={"PATH": "/usr/bin:/bin", "CHECKPOINT_DISABLE": "1"},
        )
        assert result.returncode == 0, result.stdout + result.stderr


def test_manifest_filenames_hash_like_terraform(workspaces: dict[str, Workspace]) -> None:
    for space in workspaces.values():
        outputs = json.loads(space.run("output", "-json").stdout)["filebase64sha256"]["value"]
        manifest = space.manifest
        expected = {
            f"function/{k}": v["source_code_hash"] for k, v in manifest["functions"].items()
        }
        expected.update(
            {f"layer/{k}": v["source_code_hash"] for k, v in manifest["layers"].items()}
        )
        assert outputs == expected
        for artifact in [*manifest["functions"].values(), *manifest["layers"].values()]:
            filename = artifact["filename"]
            assert not filename.startswith("/") and filename.startswith("../../dist/"), filename
            # Relative to the module's folder, it stays inside the repository.
            resolved = space.clone.root / "infrastructure" / manifest["module"] / filename
            assert resolved.resolve().is_relative_to(space.clone.root.resolve()), filename


def test_only_what_changed_is_planned(workspaces: dict[str, Workspace]) -> None:
    clone = next(iter(workspaces.values())).clone
    # Right after apply, with no source change: nothing to do, even after packaging again.
    assert plans(workspaces) == {"access": set(), "billing": set()}
    clone.pants("package", "::")
    assert plans(workspaces) == {"access": set(), "billing": set()}

    # A shared file: the layer holding it, the functions using that layer (new layer version),
    # and the functions without that layer that ship their own copy.
    edit_and_package(clone, "src/python/shared/text.py")
    assert plans(workspaces) == {
        "access": {"layer/shared", "function/profiles", "function/audit", "function/sessions"},
        "billing": {
            "layer/shared",
            "function/invoices",
            "function/refunds",
            "function/reports",
        },
    }
    for space in workspaces.values():
        space.apply()

    # A shared file a layer holds: the layer, and the functions using it (new layer version).
    edit_and_package(clone, "src/python/shared/db.py")
    assert plans(workspaces) == {
        "access": {"layer/shared", "function/profiles"},
        "billing": {"layer/shared", "function/invoices", "function/refunds"},
    }
    for space in workspaces.values():
        space.apply()

    # Only one handler: only that function.
    edit_and_package(clone, "src/python/access/profiles/handler.py")
    assert plans(workspaces) == {"access": {"function/profiles"}, "billing": set()}


SETTINGS_ROOT = """
variable "manifest_path" {{
  type = string
}}

module "settings" {{
  source      = "{module}"
  functions   = jsondecode(file(var.manifest_path)).functions
  memory_size = 256
  timeout     = 15
  environment = {{ LOG_LEVEL = "info" }}
}}

output "settings" {{
  value = module.settings.functions
}}
"""


def test_function_settings_reach_the_resource_arguments(
    workspaces: dict[str, Workspace], tmp_path: Path
) -> None:
    """The reference module takes each function's `memory_size`, `timeout`, `environment`,
    `ephemeral_storage` and `publish`/`snap_start` from its `settings` submodule, which Terraform
    evaluates here without any provider (the AWS provider cannot be downloaded here)."""
    space = workspaces["access"]
    module = space.clone.root / "infrastructure/modules/lambda_manifest/settings"
    (tmp_path / "main.tf").write_text(SETTINGS_ROOT.format(module=module))
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "CHECKPOINT_DISABLE": "1"}
    manifest = space.clone.root / "dist/infrastructure.access/manifest.json"
    for args in (
        ("init", "-input=false"),
        ("apply", "-input=false", "-auto-approve", "-var", f"manifest_path={manifest}"),
    ):
        result = subprocess.run(
            [str(terraform()), *args, "-no-color"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, result.stdout + result.stderr
    output = subprocess.run(
        [str(terraform()), "output", "-json", "settings"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    settings = json.loads(output.stdout)
    # src/python/access/sessions sets all five; the other functions set none.
    assert settings["sessions"] == {
        "memory_size": 1024,
        "timeout": 30,
        "environment": {"LOG_LEVEL": "info", "STAGE": "prod"},
        "ephemeral_storage": 512,
        "snap_start": True,
        "publish": True,
    }
    assert settings["profiles"] == {
        "memory_size": 256,
        "timeout": 15,
        "environment": {"LOG_LEVEL": "info"},
        "ephemeral_storage": None,
        "snap_start": False,
        "publish": False,
    }
    entry = space.manifest["functions"]["sessions"]
    assert {k: entry[k] for k in ("memory_size", "timeout", "snap_start")} == {
        "memory_size": 1024,
        "timeout": 30,
        "snap_start": True,
    }
    assert "memory_size" not in space.manifest["functions"]["profiles"]
    # The module passes them on: each argument reads its function's settings.
    main = (space.clone.root / "infrastructure/modules/lambda_manifest/main.tf").read_text()
    for argument in ("memory_size", "timeout", "publish"):
        assert f"= local.settings[each.key].{argument}\n" in main, argument
    for block in ("environment", "ephemeral_storage", "snap_start"):
        assert f'dynamic "{block}"' in main, block
