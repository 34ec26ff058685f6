"""Compare deployed AWS Lambda functions and layers with locally built ZIPs.

Usage: python drift_tool.py SPEC_JSON

SPEC_JSON:
    {"endpoint_url": null | "http://...",  # else $AWS_ENDPOINT_URL, else boto3's default
     "region": null | "eu-west-1",         # else $AWS_REGION, else boto3's resolution
     "profile": null | "name",
     "manifests": [{"module": "access",
                    "functions": {"<key>": {"name": "...", "source_code_hash": "<b64 sha256>",
                                            "layers": ["<layer key>", ...]}},
                    "layers": {"<key>": {"name": "...", "source_code_hash": "<b64 sha256>"}}}]}

A function's "layers" are keys of the same manifest's "layers", in attach order.

Prints one aligned line per artifact and a summary line on stdout: "in sync", "not deployed",
or "changed" and/or "layers differ", with the hashes and layer versions that differ.

Exit codes: 0 all in sync; 1 drift found; 2 error (AWS unreachable, credentials,
permissions, region, bad spec), reported as a single line on stderr.
"""

from __future__ import annotations

import json
import os
import sys
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Optional

# This file runs in the `[boto3]` tool's PEX (see drift_rules.py), never inside Pants.
import boto3  # pants: no-infer-dep
from botocore.config import Config  # pants: no-infer-dep
from botocore.exceptions import (  # pants: no-infer-dep
    BotoCoreError,  # pants: no-infer-dep
    ClientError,  # pants: no-infer-dep
    EndpointConnectionError,  # pants: no-infer-dep
)

# Fail fast on an unreachable endpoint instead of botocore's default retries and backoff.
BOTO_CONFIG = Config(
    retries={"max_attempts": 2, "mode": "standard"}, connect_timeout=5, read_timeout=30
)

STATUSES = ("in_sync", "changed", "not_deployed", "layers_differ")  # order used in the summary


class SpecError(Exception):
    pass


@dataclass
class Artifact:
    module: str
    kind: str  # "function" or "layer"
    key: str
    name: str
    local_hash: str
    status: list[str] = field(default_factory=list)
    deployed_hash: Optional[str] = None
    expected_layers: Optional[list[str]] = None  # None: layer attachment not checked
    deployed_layers: Optional[list[str]] = None


def load_spec(path: str) -> dict[str, Any]:
    """Read and validate the spec, filling defaults so later code can index it directly."""
    try:
        with open(path) as f:
            spec: dict[str, Any] = json.load(f)
        for manifest in spec["manifests"]:
            if not isinstance(manifest["module"], str):
                raise SpecError("'module' must be a string")
            manifest.setdefault("layers", {})
            manifest.setdefault("functions", {})
            for kind in ("layers", "functions"):
                for key, art in manifest[kind].items():
                    if not (
                        isinstance(art["name"], str) and isinstance(art["source_code_hash"], str)
                    ):
                        raise SpecError(
                            f"{manifest['module']} {kind} {key}: name and source_code_hash must be strings"
                        )
            for key, fn in manifest["functions"].items():
                unknown = [k for k in fn.setdefault("layers", []) if k not in manifest["layers"]]
                if unknown:
                    raise SpecError(
                        f"function {manifest['module']} {key} uses undeclared layers {unknown}"
                    )
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
        raise SpecError(f"{type(e).__name__}: {e}") from e
    return spec


def endpoint_url(spec: dict[str, Any]) -> Optional[str]:
    # Read AWS_ENDPOINT_URL ourselves: botocore before 1.31 ignores it.
    return spec.get("endpoint_url") or os.environ.get("AWS_ENDPOINT_URL")


def make_client(spec: dict[str, Any]) -> Any:
    # botocore reads AWS_DEFAULT_REGION but not AWS_REGION, which Terraform and the AWS CLI prefer.
    region = spec.get("region") or os.environ.get("AWS_REGION")
    session = boto3.session.Session(profile_name=spec.get("profile"), region_name=region)
    return session.client("lambda", endpoint_url=endpoint_url(spec), config=BOTO_CONFIG)


def newest_layer_version(client: Any, name: str) -> Optional[dict[str, Any]]:
    """GetLayerVersion of the layer's highest version, or None if it has none."""
    versions: list[dict[str, Any]] = []
    try:
        for page in client.get_paginator("list_layer_versions").paginate(LayerName=name):
            versions += page["LayerVersions"]
    except ClientError as e:
        if e.response["Error"]["Code"] != "ResourceNotFoundException":
            raise
    if not versions:
        return None
    newest = max(versions, key=lambda v: v["Version"])
    # The listing carries no CodeSha256; only GetLayerVersion does.
    layer_version: dict[str, Any] = client.get_layer_version(
        LayerName=name, VersionNumber=newest["Version"]
    )
    return layer_version


def check_manifest(client: Any, manifest: dict[str, Any]) -> list[Artifact]:
    module = manifest["module"]
    results: list[Artifact] = []
    newest_arns: dict[str, str] = {}  # deployed layer key -> its newest version ARN
    for key, spec in manifest["layers"].items():
        art = Artifact(module, "layer", key, spec["name"], spec["source_code_hash"])
        deployed = newest_layer_version(client, art.name)
        if deployed:
            art.deployed_hash = deployed["Content"]["CodeSha256"]
            newest_arns[key] = deployed["LayerVersionArn"]
        results.append(art)

    for key, spec in manifest["functions"].items():
        art = Artifact(module, "function", key, spec["name"], spec["source_code_hash"])
        try:
            config = client.get_function(FunctionName=art.name)["Configuration"]
        except ClientError as e:
            if e.response["Error"]["Code"] != "ResourceNotFoundException":
                raise
            config = None
        if config:
            art.deployed_hash = config["CodeSha256"]
            # An undeployed layer already has its own "not deployed" line; skip the comparison.
            if all(k in newest_arns for k in spec["layers"]):
                art.expected_layers = [newest_arns[k] for k in spec["layers"]]
                art.deployed_layers = [layer["Arn"] for layer in config.get("Layers", [])]
        results.append(art)

    for art in results:
        if art.deployed_hash is None:
            art.status.append("not_deployed")
            continue
        if art.deployed_hash != art.local_hash:
            art.status.append("changed")
        if art.expected_layers is not None and art.expected_layers != art.deployed_layers:
            art.status.append("layers_differ")
        art.status = art.status or ["in_sync"]
    return results


def describe(art: Artifact) -> str:
    text = ", ".join(s.replace("_", " ") for s in art.status)
    if "changed" in art.status:
        text += f" (local {art.local_hash}, deployed {art.deployed_hash})"
    if "layers_differ" in art.status:
        # "arn:aws:lambda:REGION:ACCOUNT:layer:NAME:VERSION" -> "NAME:VERSION".
        expected, deployed = (
            ", ".join(arn.split(":layer:")[-1] for arn in arns or []) or "none"
            for arns in (art.expected_layers, art.deployed_layers)
        )
        text += f" (expected {expected}; deployed {deployed})"
    return text


def error_message(exc: Exception, region: Optional[str], custom_endpoint: bool) -> str:
    if isinstance(exc, ClientError):
        err = exc.response.get("Error", {})
        text = f"AWS rejected {exc.operation_name}: {err.get('Code')}: {err.get('Message')}"
        if exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") in (401, 403):
            text += " (check AWS credentials and IAM permissions)"
    else:
        text = f"{type(exc).__name__}: {exc}"
        # A well-formed but nonexistent region only surfaces as an unresolvable host name.
        if isinstance(exc, EndpointConnectionError) and region and not custom_endpoint:
            session = boto3.session.Session()
            known = {
                r
                for p in session.get_available_partitions()
                for r in session.get_available_regions("lambda", p)
            }
            if region not in known:
                text += f" (region {region!r} is unknown to this botocore; misspelled?)"
    # Error bodies can span lines (moto answers some errors in XML); the caller wants one line.
    return " ".join(text.split())[:500]


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: drift_tool.py SPEC_JSON", file=sys.stderr)
        return 2
    spec: dict[str, Any] = {}
    client: Any = None
    artifacts: list[Artifact] = []
    error = None
    try:
        spec = load_spec(argv[1])
        client = make_client(spec)
        for manifest in spec["manifests"]:
            artifacts += check_manifest(client, manifest)
    except SpecError as e:
        error = f"invalid spec {argv[1]}: {e}"
    except (BotoCoreError, ClientError) as e:
        region = client.meta.region_name if client else None
        error = error_message(e, region, bool(endpoint_url(spec)))
        artifacts = []

    drifted = [a for a in artifacts if a.status != ["in_sync"]]
    if error:
        print(f"drift_tool: error: {error}", file=sys.stderr)
    else:
        rows = [(a.module, a.kind, a.key, a.name, describe(a)) for a in artifacts]
        widths = [max((len(row[i]) for row in rows), default=0) for i in range(4)]
        for row in rows:
            print("  ".join(v.ljust(w) for v, w in zip(row[:4], widths)) + "  " + row[4])
        counts = Counter(s for a in artifacts for s in a.status)
        details = ", ".join(f"{counts[s]} {s.replace('_', ' ')}" for s in STATUSES if counts[s])
        print(f"{len(artifacts)} artifacts checked, {len(drifted)} drifted ({details or 'none'})")

    return 2 if error else 1 if drifted else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
