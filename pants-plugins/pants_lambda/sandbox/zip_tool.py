"""Writes a byte-reproducible Lambda ZIP and the list of its entries, and compiles its bytecode.

This file runs as a script inside a Pants sandbox (see `zip_rules.py`), so it uses the standard
library only. It reads one JSON spec, from the environment variable `LAMBDA_ZIP_SPEC`, or
from the file named by its last argument when one is given (a spec too large for the environment):

    {"output": "a/b.zip", "entries_output": "list.txt",
     "sources": [{"dir": "in/0", "label": "its first-party sources", "prefix": "python/",
                  "drop_dists": ["boto3"], "drop_top_dirs": ["bin"]}, ...]}

Entries are sorted, dated 1980-01-01, owned by nobody and 0644 or 0755 (for files with an
executable bit); bytecode caches of the inputs are never shipped, only a source marked
`"bytecode": true` (the output of `--compile`). Two sources that would write one path are an
error, because Lambda would silently keep only one of them.

A source marked `"scan": true` (the target's own files) is checked for secrets before anything is
written: files that are secrets by name, and, in files that are not Python code, what
detect-secrets' `spec["detectors"]` find (imported only then: that spec runs in the
`[detect-secrets]` tool's PEX). A finding not in `spec["allow_secrets"]` is an error naming the
path in the ZIP and what it is, never the secret itself.

`--compile [SPEC]` runs on a CPython of the Lambda runtime instead (with a fixed PYTHONHASHSEED):
for each `.py` file of the sources marked `"compile": "strict"` or `"lenient"` (but the paths in
their `"no_compile"`: resources), it writes the
bytecode that CPython's import system looks for, `<dir>/__pycache__/<name>.<cache tag>.pyc`
under `spec["bytecode_output"]`, hash-based and never checked against the source (PEP 552
`unchecked-hash`), with `spec["mount"]` + the file's path in the ZIP as the code's file name. A
file that does not compile is an error in a strict source (first-party code), and left without
bytecode in a lenient one (third-party distributions ship files for other Python versions).

`--scan-environment [SPEC]` checks a function's environment variables, `spec["environment"]`,
with the same detectors (`spec["detectors"]`): an error names each variable that holds a secret
and what it is, never the value.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import stat
import sys
import tempfile
import zipfile

FIXED_DATE = (1980, 1, 1, 0, 0, 0)
COMPRESSION_LEVEL = 9


# The exit code for inputs that cannot make a valid ZIP (the target's fault, not the tool's).
SPEC_ERROR_EXIT_CODE = 2
SPEC_ENV = "LAMBDA_ZIP_SPEC"


class ZipSpecError(Exception):
    pass


def _canonical_project(name: str) -> str:
    """PEP 503's normalized name, as `packaging.utils.canonicalize_name` writes it."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _dist_files(root: str, drop_dists: set[str]) -> set[str]:
    """Paths (relative to `root`) installed by the named distributions, read from their RECORD."""
    dropped: set[str] = set()
    for entry in sorted(os.listdir(root)):
        if not entry.endswith(".dist-info"):
            continue
        project = _canonical_project(entry[: -len(".dist-info")].rsplit("-", 1)[0])
        if project not in drop_dists:
            continue
        record = os.path.join(root, entry, "RECORD")
        with open(record, newline="") as fp:
            for row in csv.reader(fp):
                if row:
                    dropped.add(os.path.normpath(row[0]))
        for dirpath, _, filenames in os.walk(os.path.join(root, entry)):
            dropped.update(os.path.relpath(os.path.join(dirpath, name), root) for name in filenames)
    return dropped


def _is_bytecode(relpath: str) -> bool:
    return relpath.endswith((".pyc", ".pyo")) or "__pycache__" in relpath.split("/")


def collect_entries(sources: list[dict]) -> dict[str, str]:
    """Maps each path in the ZIP to the sandbox file it comes from."""
    entries: dict[str, str] = {}
    labels: dict[str, str] = {}
    for source in sources:
        root = source["dir"]
        label = source.get("label", root)
        prefix = source.get("prefix", "")
        drop_top_dirs = set(source.get("drop_top_dirs", ()))
        dropped = (
            _dist_files(root, set(source.get("drop_dists", ()))) if os.path.isdir(root) else set()
        )
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames.sort()
            for name in sorted(filenames):
                relpath = os.path.relpath(os.path.join(dirpath, name), root).replace(os.sep, "/")
                if (
                    relpath in dropped
                    or relpath.split("/", 1)[0] in drop_top_dirs
                    or (_is_bytecode(relpath) and not source.get("bytecode"))
                ):
                    continue
                arcname = prefix + relpath
                if arcname.startswith("/") or ".." in arcname.split("/"):
                    raise ZipSpecError(f"refusing to write {arcname!r}: it escapes the ZIP root")
                if arcname in entries:
                    raise ZipSpecError(
                        f"two inputs ship {arcname!r}: {labels[arcname]} and {label}. Lambda "
                        "would keep only one of them; rename or remove one."
                    )
                entries[arcname] = os.path.join(dirpath, name)
                labels[arcname] = label
    return entries


# Files that are secrets by name, whatever they hold (lowercase names).
_SECRET_NAMES = {
    ".git-credentials": "Git's stored credentials",
    ".htpasswd": "a password file (`.htpasswd`)",
    ".netrc": "a `.netrc`, which holds passwords",
    "_netrc": "a `_netrc`, which holds passwords",
    **{
        key: "an SSH private key"
        for key in ("id_rsa", "id_dsa", "id_ecdsa", "id_ed25519", "id_ecdsa_sk", "id_ed25519_sk")
    },
}
_SECRET_SUFFIXES = {
    ".p12": "a PKCS #12 key store, which holds private keys",
    ".pfx": "a PKCS #12 key store, which holds private keys",
    ".jks": "a Java key store",
}
# `.env.example` and the like are the shared templates of `.env` files, without values.
_ENV_TEMPLATES = ("example", "sample", "template", "dist", "defaults")
# A credential in a `.pypirc` or `.npmrc`, but a `${VARIABLE}` that npm fills in when it runs.
_CREDENTIAL_LINE = re.compile(
    r"^\s*(?:password|_password|_auth|_authtoken|\S*:_authtoken)\s*[=:]\s*(?!\$\{)\S",
    re.I | re.M,
)
# An AWS secret access key assigned to its usual name, quoted or not (detect-secrets finds the
# key IDs, and secret keys only in quotes).
_AWS_SECRET_KEY = re.compile(
    r"aws_?secret_?access_?key\W{0,3}\s*[=:]\s*[\"']?[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])", re.I
)


def secret_by_name(arcname: str, path: str) -> str | None:
    """What the file at `arcname` in the ZIP is, if its name says it holds secrets."""
    parts = arcname.lower().split("/")
    name = parts[-1]
    if name == ".env" or (name.startswith(".env.") and name.split(".")[-1] not in _ENV_TEMPLATES):
        return "an environment file (`.env`), where credentials are kept"
    if name.endswith(".env") and len(name) > len(".env"):
        return "an environment file (`*.env`), where credentials are kept"
    if parts[-2:] == [".aws", "credentials"]:
        return "an AWS credentials file"
    if name in _SECRET_NAMES:
        return _SECRET_NAMES[name]
    for suffix, what in _SECRET_SUFFIXES.items():
        if name.endswith(suffix):
            return what
    if name in (".pypirc", ".npmrc"):
        with open(path, encoding="utf-8", errors="replace") as fp:
            if _CREDENTIAL_LINE.search(fp.read()):
                return f"a `{name}` with a password or token"
    return None


def _is_text(path: str) -> bool:
    """No NUL byte in the first 8 KiB, as git tells text from binary."""
    with open(path, "rb") as fp:
        return b"\0" not in fp.read(8192)


def secrets_in_contents(files: dict[str, str], detectors: list[str]) -> dict[str, list[str]]:
    """What detect-secrets finds in each file: its kinds and lines, never the values."""
    if not files:
        return {}
    from detect_secrets.core.scan import scan_file  # pants: no-infer-dep
    from detect_secrets.settings import transient_settings  # pants: no-infer-dep

    found: dict[str, set[tuple[int, str]]] = {}
    for arcname, path in sorted(files.items()):
        with open(path, encoding="utf-8", errors="replace") as fp:
            for number, line in enumerate(fp, 1):
                if _AWS_SECRET_KEY.search(line):
                    found.setdefault(arcname, set()).add((number, "AWS Secret Access Key"))
    with transient_settings({"plugins_used": [{"name": name} for name in detectors]}):
        for arcname, path in sorted(files.items()):
            for secret in scan_file(path):
                found.setdefault(arcname, set()).add((secret.line_number, secret.type))
    for hits in found.values():
        # detect-secrets calls a secret access key it finds an "AWS Access Key": one name a line.
        hits -= {(n, "AWS Access Key") for n, kind in set(hits) if kind == "AWS Secret Access Key"}
    return {a: [f"{kind} (line {n})" for n, kind in sorted(hits)] for a, hits in found.items()}


def check_secrets(spec: dict, entries: dict[str, str]) -> None:
    """Raises ZipSpecError if the scanned sources ship secrets that are not allowed."""
    allowed = set(spec.get("allow_secrets", ()))
    missing = sorted(allowed - set(entries))
    if missing:
        raise ZipSpecError(
            f"`allow_secrets` lists {', '.join(missing)}, which the ZIP does not hold. List "
            "paths inside this target's ZIP exactly as the secrets check names them (a file "
            "of a layer is allowed on that `lambda_layer`)."
        )
    scanned = {
        arcname: path
        for source in spec["sources"]
        if source.get("scan")
        for arcname, path in collect_entries([source]).items()
        if arcname not in allowed
    }
    if not scanned:
        return
    findings = {
        arcname: [what]
        for arcname, path in scanned.items()
        if (what := secret_by_name(arcname, path))
    }
    contents = {a: p for a, p in scanned.items() if not a.endswith((".py", ".pyi")) and _is_text(p)}
    for arcname, found in secrets_in_contents(contents, spec["detectors"]).items():
        findings.setdefault(arcname, []).extend(found)
    if findings:
        lines = "".join(
            f"\n  {arcname}: {'; '.join(findings[arcname])}" for arcname in sorted(findings)
        )
        raise ZipSpecError(
            f"its ZIP would ship secrets (checked by name and with detect-secrets):{lines}\n"
            "Leave each file out of the `sources` of the target that globs it (e.g. "
            '`sources=["*", "!.env"]`), or, if one truly belongs in the artifact (a public '
            "certificate, a test key), list its path in the `allow_secrets` field of the "
            "`lambda_function` or `lambda_layer` that failed."
        )


def check_environment(spec: dict) -> None:
    """Raises ZipSpecError if a value of `spec["environment"]` holds a secret: the same detectors
    as for the ZIP's files, each variable read as the line `NAME=value` of a file of its own."""
    files = {}
    folder = tempfile.mkdtemp()
    for name, value in sorted(spec["environment"].items()):
        path = os.path.join(folder, name)
        with open(path, "w", encoding="utf-8") as fp:
            fp.write(f"{name}={value}\n")
        files[name] = path
    findings = secrets_in_contents(files, spec["detectors"])
    if findings:
        lines = "".join(
            f"\n  {name}: {'; '.join(kind.replace(' (line 1)', '') for kind in found)}"
            for name, found in sorted(findings.items())
        )
        raise ZipSpecError(
            f"its `environment` field sets variables whose values hold secrets (checked with "
            f"detect-secrets):{lines}\n"
            "Environment values are stored in Terraform's state and shown in the Lambda console. "
            "Keep the secret in Secrets Manager or SSM Parameter Store, put its name or ARN in the "
            "variable, and read it at run time."
        )


def compile_bytecode(spec: dict) -> None:
    import importlib.util
    import py_compile

    for source in spec["sources"]:
        mode = source.get("compile")
        if not mode:
            continue
        skip = {source.get("prefix", "") + relpath for relpath in source.get("no_compile", ())}
        for arcname, path in sorted(collect_entries([source]).items()):
            if not arcname.endswith(".py") or arcname in skip:
                continue
            cfile = os.path.join(spec["bytecode_output"], importlib.util.cache_from_source(arcname))
            try:
                py_compile.compile(
                    path,
                    cfile=cfile,
                    dfile=spec["mount"] + arcname,
                    doraise=True,
                    invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
                )
            except py_compile.PyCompileError as e:
                if mode == "strict":
                    error = e.exc_value
                    where = ""
                    if isinstance(error, SyntaxError) and error.lineno:
                        with open(path, encoding="utf-8", errors="replace") as fp:
                            lines = fp.read().splitlines()
                        text = lines[error.lineno - 1].strip() if error.lineno <= len(lines) else ""
                        where = f" (line {error.lineno}): {text}"
                    raise ZipSpecError(
                        f"{source['label']} include {arcname}, which CPython "
                        f"{sys.version.split()[0]} cannot compile: {e.exc_type_name}: "
                        f"{getattr(error, 'msg', error)}{where}"
                    ) from e


def write_zip(output: str, entries: dict[str, str]) -> dict[str, tuple[str, int]]:
    """Writes the ZIP; returns each entry's SHA-256 and size, uncompressed."""
    listing: dict[str, tuple[str, int]] = {}
    os.makedirs(os.path.dirname(output) or ".", exist_ok=True)
    with zipfile.ZipFile(output, "w") as zf:
        for arcname in sorted(entries):
            path = entries[arcname]
            executable = os.stat(path).st_mode & (stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
            info = zipfile.ZipInfo(arcname, date_time=FIXED_DATE)
            info.create_system = 3  # Unix, so that the permission bits below are honoured.
            info.external_attr = (stat.S_IFREG | (0o755 if executable else 0o644)) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            with open(path, "rb") as fp:
                data = fp.read()
            listing[arcname] = (hashlib.sha256(data).hexdigest(), len(data))
            zf.writestr(info, data, compresslevel=COMPRESSION_LEVEL)
    return listing


def main(spec_path: str | None, mode: str | None = None) -> int:
    if spec_path is None:
        spec = json.loads(os.environ[SPEC_ENV])
    else:
        with open(spec_path) as fp:
            spec = json.load(fp)
    checks_only = {"--compile": compile_bytecode, "--scan-environment": check_environment}
    if mode in checks_only:
        try:
            checks_only[mode](spec)
        except ZipSpecError as e:
            print(e, file=sys.stderr)
            return SPEC_ERROR_EXIT_CODE
        return 0
    try:
        entries = collect_entries(spec["sources"])
        check_secrets(spec, entries)
    except ZipSpecError as e:
        print(e, file=sys.stderr)
        return SPEC_ERROR_EXIT_CODE
    listing = write_zip(spec["output"], entries)
    # One line per entry: sha256, size and path, for the checks that compare ZIPs.
    with open(spec["entries_output"], "w") as fp:
        fp.writelines(f"{sha256} {size} {arcname}\n" for arcname, (sha256, size) in listing.items())
    return 0


if __name__ == "__main__":
    mode = sys.argv[1] if sys.argv[1:2] and sys.argv[1].startswith("--") else None
    arguments = sys.argv[2:] if mode else sys.argv[1:]
    sys.exit(main(arguments[0] if arguments else None, mode=mode))
