"""Brings deployed Lambda functions and layers to what this checkout builds (`pants lambda-sync`).

Usage: python sync_tool.py SPEC_JSON

SPEC_JSON is the drift tool's (see drift_tool.py), plus:
    {"allowed_accounts": ["123456789012", ...],
     "direct_upload_limit": 52428800,  # bytes: a larger ZIP needs the Terraform path
     "manifests": [{"functions": {"<key>": {..., "zip": "<path>", "upload": "direct" | "s3"}},
                    "layers": {"<key>": {..., "zip": "<path>", "upload": "direct" | "s3",
                                         "compatible_runtimes": [...],
                                         "compatible_architectures": [...]}}}]}

where "zip" is the artifact's ZIP in the working directory. It runs next to the drift tool
(imported as a module) in the `[boto3]` tool's PEX, never inside Pants.

First `sts:GetCallerIdentity`: an account not in "allowed_accounts" is refused before any call
that changes anything. Then, per manifest:
- a layer whose newest version's `CodeSha256` differs from the local hash gets one
  `PublishLayerVersion` with the new ZIP;
- a function whose `CodeSha256` differs gets one `UpdateFunctionCode`, and waits until it is
  done; a function whose layers are not the newest versions of its manifest's layers (a layer
  just published, say) gets one `UpdateFunctionConfiguration` of its `Layers`;
- nothing else is called. Nothing is created or deleted: a function or layer missing in the
  account is reported. A ZIP over Lambda's 50 MB direct-upload limit, or with `upload="s3"`, is
  reported as needing the Terraform path.

Prints one line per artifact (updated, unchanged, missing, needs Terraform, failed) and a
summary. An update that fails leaves the others as they are; an endpoint that goes away stops the
run, and the summary says what was done before.

Exit codes: 0 every artifact updated or unchanged; 1 some artifact failed, is missing or needs
Terraform; 2 nothing was changed: a bad spec, no credentials, an unreachable endpoint, or an
account that is not allowed, reported as one line on stderr.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from typing import Any, Optional

# This file runs in the `[boto3]` tool's PEX (see drift_rules.py), never inside Pants.
import boto3  # pants: no-infer-dep
from botocore.config import Config  # pants: no-infer-dep
from botocore.exceptions import BotoCoreError, ClientError, WaiterError  # pants: no-infer-dep

import __lambda_drift_tool as drift  # pants: no-infer-dep

# Throttling and transient errors are retried with exponential backoff, at most 5 attempts.
BOTO_CONFIG = Config(
    retries={"max_attempts": 5, "mode": "standard"}, connect_timeout=5, read_timeout=60
)
STATUSES = ("updated", "unchanged", "missing", "needs_terraform", "failed", "not_attempted")


class AccountNotAllowed(Exception):
    pass


@dataclass
class Outcome:
    module: str
    kind: str
    key: str
    name: str
    status: str = "not_attempted"
    detail: str = ""


def check_account(session: Any, spec: dict[str, Any]) -> str:
    sts = session.client("sts", endpoint_url=drift.endpoint_url(spec), config=BOTO_CONFIG)
    account = sts.get_caller_identity()["Account"]
    allowed = spec.get("allowed_accounts") or []
    if account not in allowed:
        listed = ", ".join(allowed) or "none"
        raise AccountNotAllowed(
            f"the credentials are of account {account}, which `[lambda-sync].allowed_accounts` "
            f"does not list (it lists {listed}): lambda-sync only updates accounts named as dev "
            f'accounts there. Add it (`allowed_accounts = ["{account}"]` in pants.toml) if it is '
            "one, or use credentials of a dev account."
        )
    return account


def _needs_terraform(spec: dict[str, Any], path: str, limit: int) -> Optional[str]:
    if spec.get("upload") == "s3":
        return 'upload="s3": deploy it with Terraform'
    size = os.path.getsize(path)
    if size > limit:
        return f"{size:,} bytes, over Lambda's 50 MB direct upload: deploy it with Terraform"
    return None


def _wait(client: Any, name: str) -> None:
    client.get_waiter("function_updated_v2").wait(
        FunctionName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 300}
    )


def sync_manifest(
    client: Any, manifest: dict[str, Any], limit: int, outcomes: list[Outcome]
) -> None:
    module = manifest["module"]
    newest_arns: dict[str, str] = {}
    for key, layer in manifest["layers"].items():
        outcome = Outcome(module, "layer", key, layer["name"])
        outcomes.append(outcome)
        try:
            deployed = drift.newest_layer_version(client, outcome.name)
            if deployed is None:
                outcome.status, outcome.detail = "missing", "no version in the account"
                continue
            newest_arns[key] = deployed["LayerVersionArn"]
            if deployed["Content"]["CodeSha256"] == layer["source_code_hash"]:
                outcome.status = "unchanged"
                continue
            reason = _needs_terraform(layer, layer["zip"], limit)
            if reason:
                outcome.status, outcome.detail = "needs_terraform", reason
                continue
            with open(layer["zip"], "rb") as fp:
                published = client.publish_layer_version(
                    LayerName=outcome.name,
                    Content={"ZipFile": fp.read()},
                    CompatibleRuntimes=layer["compatible_runtimes"],
                    CompatibleArchitectures=layer["compatible_architectures"],
                )
            newest_arns[key] = published["LayerVersionArn"]
            outcome.status, outcome.detail = "updated", f"version {published['Version']}"
        except ClientError as e:
            outcome.status, outcome.detail = "failed", drift.error_message(e, None, True)

    for key, function in manifest["functions"].items():
        outcome = Outcome(module, "function", key, function["name"])
        outcomes.append(outcome)
        try:
            try:
                config = client.get_function_configuration(FunctionName=outcome.name)
            except ClientError as e:
                if e.response["Error"]["Code"] != "ResourceNotFoundException":
                    raise
                outcome.status, outcome.detail = "missing", "not in the account"
                continue
            done = []
            if config["CodeSha256"] != function["source_code_hash"]:
                reason = _needs_terraform(function, function["zip"], limit)
                if reason:
                    outcome.status, outcome.detail = "needs_terraform", reason
                    continue
                with open(function["zip"], "rb") as fp:
                    client.update_function_code(FunctionName=outcome.name, ZipFile=fp.read())
                _wait(client, outcome.name)
                done.append("code")
            deployed_layers = [layer["Arn"] for layer in config.get("Layers", [])]
            if all(k in newest_arns for k in function["layers"]):
                expected = [newest_arns[k] for k in function["layers"]]
                if expected != deployed_layers:
                    client.update_function_configuration(FunctionName=outcome.name, Layers=expected)
                    _wait(client, outcome.name)
                    done.append("layers " + ", ".join(a.split(":layer:")[-1] for a in expected))
            outcome.status = "updated" if done else "unchanged"
            outcome.detail = "; ".join(done)
        except (ClientError, WaiterError) as e:
            outcome.status, outcome.detail = "failed", drift.error_message(e, None, True)


def report(outcomes: list[Outcome]) -> None:
    rows = [
        (o.module, o.kind, o.key, o.name, o.status.replace("_", " "), o.detail) for o in outcomes
    ]
    widths = [max((len(row[i]) for row in rows), default=0) for i in range(4)]
    for *names, status, detail in rows:
        line = "  ".join(v.ljust(w) for v, w in zip(names, widths)) + "  " + status
        print(line + (f" ({detail})" if detail else ""))
    counts = {s: sum(o.status == s for o in outcomes) for s in STATUSES}
    details = ", ".join(f"{n} {s.replace('_', ' ')}" for s, n in counts.items() if n)
    print(f"{len(outcomes)} artifacts: {details or 'none'}")


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: sync_tool.py SPEC_JSON", file=sys.stderr)
        return 2
    spec: dict[str, Any] = {}
    outcomes: list[Outcome] = []
    try:
        spec = drift.load_spec(argv[1])
        region = spec.get("region") or os.environ.get("AWS_REGION")
        session = boto3.session.Session(profile_name=spec.get("profile"), region_name=region)
        account = check_account(session, spec)
        client = session.client(
            "lambda", endpoint_url=drift.endpoint_url(spec), config=BOTO_CONFIG
        )
        print(f"Syncing account {account}", file=sys.stderr)
        for manifest in spec["manifests"]:
            sync_manifest(client, manifest, spec["direct_upload_limit"], outcomes)
    except drift.SpecError as e:
        print(f"sync_tool: error: invalid spec {argv[1]}: {e}", file=sys.stderr)
        return 2
    except AccountNotAllowed as e:
        print(f"sync_tool: error: {e}; nothing was updated", file=sys.stderr)
        return 2
    except (BotoCoreError, ClientError) as e:
        message = drift.error_message(e, spec.get("region"), bool(drift.endpoint_url(spec)))
        changed = [o for o in outcomes if o.status == "updated"]
        if not changed:
            print(f"sync_tool: error: {message}; nothing was updated", file=sys.stderr)
            return 2
        # Stopped halfway: say what was done, and that the rest was not.
        print(f"sync_tool: error: {message}; stopped after these updates:", file=sys.stderr)
        report(outcomes)
        return 1
    report(outcomes)
    return 0 if all(o.status in ("updated", "unchanged") for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
