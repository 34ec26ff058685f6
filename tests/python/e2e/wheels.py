"""Pure-Python wheels made by the tests themselves, for indexes and find-links folders that
serve exactly what a test needs, whatever PyPI serves."""

from __future__ import annotations

import base64
import hashlib
import zipfile
from pathlib import Path


def write_wheel(
    folder: Path, project: str, version: str, files: dict[str, str], build: str | None = None
) -> Path:
    """A `py2.py3-none-any` wheel of `project` holding `files` (path -> text), with its
    metadata and RECORD; with a build tag if `build` is given."""
    name = project.replace("-", "_")
    dist_info = f"{name}-{version}.dist-info"
    contents = {
        **files,
        f"{dist_info}/METADATA": f"Metadata-Version: 2.1\nName: {project}\nVersion: {version}\n",
        f"{dist_info}/WHEEL": "Wheel-Version: 1.0\nGenerator: pants-lambda tests\n"
        "Root-Is-Purelib: true\n"
        + (f"Build: {build}\n" if build else "")
        + "Tag: py2-none-any\nTag: py3-none-any\n",
    }
    record = [
        f"{path},sha256="
        + base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).decode().rstrip("=")
        + f",{len(text.encode())}"
        for path, text in contents.items()
    ]
    contents[f"{dist_info}/RECORD"] = "\n".join([*record, f"{dist_info}/RECORD,,"]) + "\n"
    folder.mkdir(parents=True, exist_ok=True)
    wheel = folder / f"{name}-{version}{f'-{build}' if build else ''}-py2.py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        for path, text in contents.items():
            zf.writestr(path, text)
    return wheel
