"""Deploys the example's manifests to an AWS API as the reference Terraform does (for tests).

Runs with boto3 in the virtualenv `moto.py` installs, never inside Pants or pytest:

    python deploy.py deploy ENDPOINT REPO NAME_PREFIX   # every dist/infrastructure.*/manifest.json
    python deploy.py update ENDPOINT FUNCTION ZIP       # new code for one function
    python deploy.py delete ENDPOINT FUNCTION
    python deploy.py describe ENDPOINT                  # JSON: every function and layer
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import boto3  # pants: no-infer-dep

TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}


def deploy(client, endpoint: str, repo: Path, prefix: str) -> None:
    iam = boto3.client("iam", endpoint_url=endpoint)
    for manifest_path in sorted(repo.glob("dist/infrastructure.*/manifest.json")):
        manifest = json.loads(manifest_path.read_text())
        module = manifest["module"]
        # `filename`s are relative to the module's folder, as Terraform's artifacts_root.
        root = repo / "infrastructure" / module
        role = iam.create_role(
            RoleName=f"{prefix}{module}-lambda", AssumeRolePolicyDocument=json.dumps(TRUST)
        )["Role"]["Arn"]
        arns = {}
        for key, layer in manifest["layers"].items():
            arns[key] = client.publish_layer_version(
                LayerName=f"{prefix}{module}-{key}",
                Content={"ZipFile": (root / layer["filename"]).read_bytes()},
                CompatibleRuntimes=layer["compatible_runtimes"],
                CompatibleArchitectures=layer["compatible_architectures"],
            )["LayerVersionArn"]
        for key, function in manifest["functions"].items():
            client.create_function(
                FunctionName=f"{prefix}{module}-{key}",
                Runtime=function["runtime"],
                Role=role,
                Handler=function["handler"],
                Code={"ZipFile": (root / function["filename"]).read_bytes()},
                Architectures=function["architectures"],
                Layers=[arns[layer] for layer in function["layers"]],
            )


def main(command: str, endpoint: str, *args: str) -> None:
    client = boto3.client("lambda", endpoint_url=endpoint)
    if command == "deploy":
        deploy(client, endpoint, Path(args[0]), args[1])
    elif command == "update":
        client.update_function_code(FunctionName=args[0], ZipFile=Path(args[1]).read_bytes())
    elif command == "delete":
        client.delete_function(FunctionName=args[0])
    elif command == "describe":
        functions = {
            fn["FunctionName"]: {
                "CodeSha256": fn["CodeSha256"],
                "LastModified": fn["LastModified"],
                "Layers": [layer["Arn"].split(":layer:")[1] for layer in fn.get("Layers", [])],
            }
            for page in client.get_paginator("list_functions").paginate()
            for fn in page["Functions"]
        }
        layers = {
            layer["LayerName"]: [
                v["Version"]
                for v in client.list_layer_versions(LayerName=layer["LayerName"])["LayerVersions"]
            ]
            for layer in client.list_layers()["Layers"]
        }
        print(json.dumps({"functions": functions, "layers": layers}, sort_keys=True))
    else:
        raise SystemExit(f"unknown command {command!r}")


if __name__ == "__main__":
    main(*sys.argv[1:])
