"""drift_tool.py against a real botocore Lambda client whose calls a Stubber answers: no network.

Runs in the `drift-tool-tests` resolve (boto3 without Pants; see BUILD), not in `pants-plugins`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

import boto3
import botocore
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError
from botocore.stub import Stubber

from pants_lambda.sandbox import drift_tool
from pants_lambda.sandbox.drift_tool import Artifact, SpecError

REGION = "eu-west-1"
ACCOUNT = "123456789012"

ClientHook = Callable[[Any], None]


def layer_arn(name: str, version: int) -> str:
    return f"arn:aws:lambda:{REGION}:{ACCOUNT}:layer:{name}:{version}"


@pytest.fixture(autouse=True)
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Fake credentials and no config of this machine's: botocore never looks further."""
    for var in [v for v in os.environ if v.startswith("AWS_")]:
        monkeypatch.delenv(var)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture
def stubber() -> Iterator[Stubber]:
    client = boto3.session.Session(region_name=REGION).client("lambda")
    with Stubber(client) as stub:
        yield stub
        stub.assert_no_pending_responses()


# What the tool asks AWS, in its order: each layer's versions (then the newest one), then each
# function. The expected parameters make a call with other arguments fail the test.


def expect_layer(stub: Stubber, name: str, pages: list[list[int]], code_sha: str = "") -> None:
    """ListLayerVersions answering `pages` of version numbers, then GetLayerVersion of the max."""
    for i, versions in enumerate(pages):
        page: dict[str, Any] = {
            "LayerVersions": [
                {"LayerVersionArn": layer_arn(name, v), "Version": v} for v in versions
            ]
        }
        if i + 1 < len(pages):
            page["NextMarker"] = f"page-{i + 1}"
        params = {"LayerName": name, **({"Marker": f"page-{i}"} if i else {})}
        stub.add_response("list_layer_versions", page, params)
    if any(pages):
        newest = max(v for versions in pages for v in versions)
        stub.add_response(
            "get_layer_version",
            {
                "Content": {"CodeSha256": code_sha},
                "LayerVersionArn": layer_arn(name, newest),
                "Version": newest,
            },
            {"LayerName": name, "VersionNumber": newest},
        )


def expect_missing_layer(stub: Stubber, name: str) -> None:
    stub.add_client_error(
        "list_layer_versions",
        "ResourceNotFoundException",
        f"Layer not found: {name}",
        http_status_code=404,
        expected_params={"LayerName": name},
    )


def expect_function(
    stub: Stubber, name: str, code_sha: str, layers: Optional[list[str]] = None
) -> None:
    config: dict[str, Any] = {"FunctionName": name, "CodeSha256": code_sha}
    if layers is not None:
        config["Layers"] = [{"Arn": arn} for arn in layers]
    stub.add_response("get_function", {"Configuration": config}, {"FunctionName": name})


def expect_missing_function(stub: Stubber, name: str) -> None:
    stub.add_client_error(
        "get_function",
        "ResourceNotFoundException",
        f"Function not found: arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}",
        http_status_code=404,
        expected_params={"FunctionName": name},
    )


def manifest(
    functions: dict[str, tuple[str, list[str]]], layers: dict[str, str], module: str = "access"
) -> dict[str, Any]:
    """A loaded spec's manifest: key -> (local hash, layer keys) and layer key -> local hash."""
    return {
        "module": module,
        "functions": {
            key: {"name": f"{module}-{key}", "source_code_hash": sha, "layers": layer_keys}
            for key, (sha, layer_keys) in functions.items()
        },
        "layers": {
            key: {"name": f"{module}-{key}", "source_code_hash": sha} for key, sha in layers.items()
        },
    }


def statuses(artifacts: list[Artifact]) -> dict[str, list[str]]:
    return {f"{a.kind} {a.key}": a.status for a in artifacts}


def write_spec(tmp_path: Path, spec: Any) -> str:
    path = tmp_path / "spec.json"
    path.write_text(spec if isinstance(spec, str) else json.dumps(spec))
    return str(path)


# load_spec


def test_load_spec_fills_missing_sections_and_function_layers(tmp_path: Path) -> None:
    spec = {
        "manifests": [
            {"module": "access"},
            {"module": "billing", "functions": {"pay": {"name": "p", "source_code_hash": "h"}}},
        ]
    }
    loaded = drift_tool.load_spec(write_spec(tmp_path, spec))
    assert loaded["manifests"][0] == {"module": "access", "layers": {}, "functions": {}}
    assert loaded["manifests"][1]["layers"] == {}
    assert loaded["manifests"][1]["functions"]["pay"]["layers"] == []


@pytest.mark.parametrize(
    "content, message",
    [
        ("{not json", "JSONDecodeError: Expecting property name"),
        ({}, "KeyError: 'manifests'"),
        ([], "TypeError: list indices must be integers"),
        ({"manifests": [{"functions": {}}]}, "KeyError: 'module'"),
        ({"manifests": [{"module": 3}]}, "'module' must be a string"),
        ({"manifests": [{"module": "m", "functions": []}]}, "AttributeError: 'list' object"),
        (
            {"manifests": [{"module": "m", "layers": {"l": {"name": "m-l"}}}]},
            "KeyError: 'source_code_hash'",
        ),
        (
            {
                "manifests": [
                    {"module": "m", "functions": {"f": {"name": 1, "source_code_hash": "h"}}}
                ]
            },
            "m functions f: name and source_code_hash must be strings",
        ),
        (
            {
                "manifests": [
                    {
                        "module": "m",
                        "layers": {"deps": {"name": "m-deps", "source_code_hash": "h"}},
                        "functions": {
                            "f": {"name": "m-f", "source_code_hash": "h", "layers": ["deps", "x"]}
                        },
                    }
                ]
            },
            "function m f uses undeclared layers ['x']",
        ),
    ],
)
def test_load_spec_rejects(tmp_path: Path, content: Any, message: str) -> None:
    with pytest.raises(SpecError) as exc:
        drift_tool.load_spec(write_spec(tmp_path, content))
    assert message in str(exc.value)


def test_load_spec_layer_keys_are_per_manifest(tmp_path: Path) -> None:
    shared = {"name": "a-shared", "source_code_hash": "h"}
    fn = {"name": "b-f", "source_code_hash": "h", "layers": ["shared"]}
    spec = {
        "manifests": [
            {"module": "a", "layers": {"shared": shared}},
            {"module": "b", "functions": {"f": fn}},
        ]
    }
    with pytest.raises(SpecError, match=r"function b f uses undeclared layers \['shared'\]"):
        drift_tool.load_spec(write_spec(tmp_path, spec))


def test_load_spec_missing_file_is_a_spec_error(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="FileNotFoundError"):
        drift_tool.load_spec(str(tmp_path / "absent.json"))


# make_client


def test_make_client_region_and_endpoint_from_spec_before_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_REGION", "us-east-2")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://localhost:4566")
    spec = {"region": "eu-central-1", "endpoint_url": "http://localhost:5000"}
    client = drift_tool.make_client(spec)
    assert client.meta.region_name == "eu-central-1"
    assert client.meta.endpoint_url == "http://localhost:5000"

    client = drift_tool.make_client({"region": None, "endpoint_url": None})
    assert client.meta.region_name == "us-east-2"
    assert client.meta.endpoint_url == "http://localhost:4566"


def test_make_client_prefers_aws_region_to_aws_default_region(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_REGION", "ap-southeast-2")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-west-1")
    client = drift_tool.make_client({})
    assert client.meta.region_name == "ap-southeast-2"
    assert client.meta.endpoint_url == "https://lambda.ap-southeast-2.amazonaws.com"


def test_make_client_gives_up_quickly() -> None:
    client = drift_tool.make_client({"region": REGION})
    # botocore counts `max_attempts` as retries: three tries in all.
    assert client.meta.config.retries == {"mode": "standard", "total_max_attempts": 3}
    assert (client.meta.config.connect_timeout, client.meta.config.read_timeout) == (5, 30)


# newest_layer_version


def test_newest_layer_version_reads_every_page(stubber: Stubber) -> None:
    # Without paging, the highest version (on the second page) would go unseen.
    expect_layer(stubber, "access-deps", [[4, 2], [9, 1], []], code_sha="sha-v9")
    newest = drift_tool.newest_layer_version(stubber.client, "access-deps")
    assert newest is not None
    assert newest["Version"] == 9
    assert newest["Content"]["CodeSha256"] == "sha-v9"


@pytest.mark.parametrize("missing", ["no versions", "no layer"])
def test_newest_layer_version_none_when_nothing_deployed(stubber: Stubber, missing: str) -> None:
    if missing == "no versions":
        expect_layer(stubber, "access-deps", [[]])
    else:
        expect_missing_layer(stubber, "access-deps")
    assert drift_tool.newest_layer_version(stubber.client, "access-deps") is None


def test_newest_layer_version_raises_other_client_errors(stubber: Stubber) -> None:
    stubber.add_client_error(
        "list_layer_versions", "AccessDeniedException", "not allowed", http_status_code=403
    )
    with pytest.raises(ClientError) as exc:
        drift_tool.newest_layer_version(stubber.client, "access-deps")
    assert exc.value.response["Error"]["Code"] == "AccessDeniedException"


# check_manifest


def test_check_manifest_in_sync(stubber: Stubber) -> None:
    expect_layer(stubber, "access-deps", [[3, 2, 1]], code_sha="sha-deps")
    expect_function(stubber, "access-profiles", "sha-profiles", [layer_arn("access-deps", 3)])
    expect_function(stubber, "access-tokens", "sha-tokens")
    artifacts = drift_tool.check_manifest(
        stubber.client,
        manifest(
            {"profiles": ("sha-profiles", ["deps"]), "tokens": ("sha-tokens", [])},
            {"deps": "sha-deps"},
        ),
    )
    assert statuses(artifacts) == {
        "layer deps": ["in_sync"],
        "function profiles": ["in_sync"],
        "function tokens": ["in_sync"],
    }
    profiles = artifacts[1]
    assert (profiles.module, profiles.name, profiles.deployed_hash) == (
        "access",
        "access-profiles",
        "sha-profiles",
    )
    assert profiles.expected_layers == profiles.deployed_layers == [layer_arn("access-deps", 3)]


def test_check_manifest_changed_hashes(stubber: Stubber) -> None:
    expect_layer(stubber, "access-deps", [[1]], code_sha="sha-deps-old")
    expect_function(stubber, "access-profiles", "sha-profiles-old", [layer_arn("access-deps", 1)])
    artifacts = drift_tool.check_manifest(
        stubber.client,
        manifest({"profiles": ("sha-profiles", ["deps"])}, {"deps": "sha-deps"}),
    )
    assert statuses(artifacts) == {"layer deps": ["changed"], "function profiles": ["changed"]}
    assert [a.deployed_hash for a in artifacts] == ["sha-deps-old", "sha-profiles-old"]


def test_check_manifest_not_deployed(stubber: Stubber) -> None:
    expect_missing_layer(stubber, "access-deps")
    expect_layer(stubber, "access-shared", [[]])
    expect_missing_function(stubber, "access-profiles")
    artifacts = drift_tool.check_manifest(
        stubber.client,
        manifest({"profiles": ("sha", ["deps"])}, {"deps": "sha", "shared": "sha"}),
    )
    assert statuses(artifacts) == {
        "layer deps": ["not_deployed"],
        "layer shared": ["not_deployed"],
        "function profiles": ["not_deployed"],
    }
    assert all(a.deployed_hash is None for a in artifacts)


def test_check_manifest_skips_layer_comparison_when_a_layer_is_not_deployed(
    stubber: Stubber,
) -> None:
    # The function runs without its layer, but the layer's own line already reports it.
    expect_layer(stubber, "access-deps", [[]])
    expect_function(stubber, "access-profiles", "sha-profiles")
    artifacts = drift_tool.check_manifest(
        stubber.client, manifest({"profiles": ("sha-profiles", ["deps"])}, {"deps": "sha"})
    )
    assert statuses(artifacts) == {"layer deps": ["not_deployed"], "function profiles": ["in_sync"]}
    assert artifacts[1].expected_layers is None


@pytest.mark.parametrize(
    "local_layers, deployed_layers",
    [
        # An older version of the layer: the function was not redeployed after the layer.
        (["deps"], [layer_arn("access-deps", 6)]),
        # Attach order matters: a later layer overwrites an earlier one's files.
        (["deps", "shared"], [layer_arn("access-shared", 2), layer_arn("access-deps", 7)]),
        # Deployed without its layer.
        (["deps"], None),
        # A layer attached that the manifest does not list.
        ([], [layer_arn("access-deps", 7)]),
    ],
)
def test_check_manifest_layers_differ(
    stubber: Stubber, local_layers: list[str], deployed_layers: Optional[list[str]]
) -> None:
    expect_layer(stubber, "access-deps", [[7, 6]], code_sha="sha-deps")
    expect_layer(stubber, "access-shared", [[2]], code_sha="sha-shared")
    expect_function(stubber, "access-profiles", "sha-profiles", deployed_layers)
    artifacts = drift_tool.check_manifest(
        stubber.client,
        manifest(
            {"profiles": ("sha-profiles", local_layers)},
            {"deps": "sha-deps", "shared": "sha-shared"},
        ),
    )
    profiles = artifacts[-1]
    assert profiles.status == ["layers_differ"]
    assert profiles.expected_layers == [
        layer_arn(f"access-{k}", {"deps": 7, "shared": 2}[k]) for k in local_layers
    ]
    assert profiles.deployed_layers == (deployed_layers or [])


def test_check_manifest_changed_and_layers_differ(stubber: Stubber) -> None:
    expect_layer(stubber, "access-deps", [[2, 1]], code_sha="sha-deps")
    expect_function(stubber, "access-profiles", "sha-old", [layer_arn("access-deps", 1)])
    artifacts = drift_tool.check_manifest(
        stubber.client, manifest({"profiles": ("sha-new", ["deps"])}, {"deps": "sha-deps"})
    )
    assert statuses(artifacts) == {
        "layer deps": ["in_sync"],
        "function profiles": ["changed", "layers_differ"],
    }


def test_check_manifest_raises_client_errors_other_than_not_found(stubber: Stubber) -> None:
    stubber.add_client_error(
        "get_function", "AccessDeniedException", "no lambda:GetFunction", http_status_code=403
    )
    with pytest.raises(ClientError, match="AccessDeniedException"):
        drift_tool.check_manifest(stubber.client, manifest({"profiles": ("sha", [])}, {}))


# describe


def test_describe_names_the_differing_hashes_and_layer_versions() -> None:
    art = Artifact("access", "function", "profiles", "access-profiles", "sha-local")
    art.status = ["changed", "layers_differ"]
    art.deployed_hash = "sha-aws"
    art.expected_layers = [layer_arn("access-deps", 7), layer_arn("access-shared", 2)]
    art.deployed_layers = []
    assert drift_tool.describe(art) == (
        "changed, layers differ (local sha-local, deployed sha-aws) "
        "(expected access-deps:7, access-shared:2; deployed none)"
    )
    art.status = ["in_sync"]
    assert drift_tool.describe(art) == "in sync"


# error_message


def client_error(status: int, message: str = "User is not authorized") -> ClientError:
    response = {
        "Error": {"Code": "AccessDeniedException", "Message": message},
        "ResponseMetadata": {"HTTPStatusCode": status},
    }
    return ClientError(response, "GetFunction")


@pytest.mark.parametrize("status", [401, 403])
def test_error_message_points_at_credentials_on_401_and_403(status: int) -> None:
    assert drift_tool.error_message(client_error(status), REGION, False) == (
        "AWS rejected GetFunction: AccessDeniedException: User is not authorized "
        "(check AWS credentials and IAM permissions)"
    )


def test_error_message_no_credentials_hint_on_other_statuses() -> None:
    text = drift_tool.error_message(client_error(400), REGION, False)
    assert text == "AWS rejected GetFunction: AccessDeniedException: User is not authorized"


def test_error_message_is_one_line_of_at_most_500_characters() -> None:
    xml = "<ErrorResponse>\n  <Error>\n    <Message>denied</Message>\n  </Error>\n</ErrorResponse>"
    text = drift_tool.error_message(client_error(400, xml), REGION, False)
    assert text.endswith(
        ": <ErrorResponse> <Error> <Message>denied</Message> </Error> </ErrorResponse>"
    )
    assert len(drift_tool.error_message(client_error(400, "x" * 1000), REGION, False)) == 500


def endpoint_error(region: str) -> EndpointConnectionError:
    return EndpointConnectionError(endpoint_url=f"https://lambda.{region}.amazonaws.com/")


@pytest.mark.parametrize(
    "region, custom_endpoint, hint",
    [
        ("eu-wset-1", False, True),
        # A region botocore knows: the network is to blame, not the name.
        ("eu-west-1", False, False),
        # Any region name is fine for LocalStack or moto.
        ("eu-wset-1", True, False),
    ],
)
def test_error_message_flags_regions_unknown_to_botocore(
    region: str, custom_endpoint: bool, hint: bool
) -> None:
    text = drift_tool.error_message(endpoint_error(region), region, custom_endpoint)
    assert text.startswith(
        "EndpointConnectionError: Could not connect to the endpoint URL: "
        f'"https://lambda.{region}.amazonaws.com/"'
    )
    assert text.endswith(f" (region {region!r} is unknown to this botocore; misspelled?)") == hint


def test_error_message_other_botocore_errors_name_their_type() -> None:
    text = drift_tool.error_message(NoCredentialsError(), None, False)
    assert text == "NoCredentialsError: Unable to locate credentials"


# main


@pytest.fixture
def main_client(monkeypatch: pytest.MonkeyPatch) -> Callable[[ClientHook], None]:
    """Lets a test change the client main() makes from its spec with the real make_client."""

    def prepare(hook: ClientHook) -> None:
        real_make_client = drift_tool.make_client

        def make_client(spec: dict[str, Any]) -> Any:
            client = real_make_client(spec)
            hook(client)
            return client

        monkeypatch.setattr(drift_tool, "make_client", make_client)

    return prepare


@pytest.fixture
def main_stubber(monkeypatch: pytest.MonkeyPatch) -> Iterator[Stubber]:
    """Answers main()'s calls: queue responses on it, then run main()."""
    client = drift_tool.make_client({"region": REGION})
    monkeypatch.setattr(drift_tool, "make_client", lambda spec: client)
    with Stubber(client) as stub:
        yield stub
        stub.assert_no_pending_responses()


SPEC: dict[str, Any] = {
    "endpoint_url": None,
    "region": REGION,
    "profile": None,
    "manifests": [
        {
            "module": "access",
            "functions": {
                "profiles": {
                    "name": "prod-access-profiles",
                    "source_code_hash": "sha-profiles",
                    "layers": ["deps"],
                },
                "tokens": {"name": "prod-access-tokens", "source_code_hash": "sha-tokens"},
            },
            "layers": {"deps": {"name": "prod-access-deps", "source_code_hash": "sha-deps"}},
        },
        {
            "module": "billing",
            "functions": {"pay": {"name": "prod-billing-pay", "source_code_hash": "sha-pay"}},
        },
    ],
}


def run_main(tmp_path: Path, capsys: pytest.CaptureFixture[str], spec: Any) -> tuple[int, str, str]:
    code = drift_tool.main(["drift_tool.py", write_spec(tmp_path, spec)])
    out, err = capsys.readouterr()
    return code, out, err


def test_main_all_in_sync_exits_0(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], main_stubber: Stubber
) -> None:
    expect_layer(main_stubber, "prod-access-deps", [[5]], code_sha="sha-deps")
    expect_function(
        main_stubber, "prod-access-profiles", "sha-profiles", [layer_arn("prod-access-deps", 5)]
    )
    expect_function(main_stubber, "prod-access-tokens", "sha-tokens")
    expect_function(main_stubber, "prod-billing-pay", "sha-pay")
    code, out, err = run_main(tmp_path, capsys, SPEC)
    assert (code, err) == (0, "")
    assert out.splitlines() == [
        "access   layer     deps      prod-access-deps      in sync",
        "access   function  profiles  prod-access-profiles  in sync",
        "access   function  tokens    prod-access-tokens    in sync",
        "billing  function  pay       prod-billing-pay      in sync",
        "4 artifacts checked, 0 drifted (4 in sync)",
    ]


def test_main_drift_exits_1_and_counts_each_status(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], main_stubber: Stubber
) -> None:
    expect_layer(main_stubber, "prod-access-deps", [[5, 4]], code_sha="sha-deps")
    expect_function(
        main_stubber, "prod-access-profiles", "sha-old", [layer_arn("prod-access-deps", 4)]
    )
    expect_function(main_stubber, "prod-access-tokens", "sha-tokens")
    expect_missing_function(main_stubber, "prod-billing-pay")
    code, out, err = run_main(tmp_path, capsys, SPEC)
    assert (code, err) == (1, "")
    assert out.splitlines() == [
        "access   layer     deps      prod-access-deps      in sync",
        "access   function  profiles  prod-access-profiles  changed, layers differ "
        "(local sha-profiles, deployed sha-old) "
        "(expected prod-access-deps:5; deployed prod-access-deps:4)",
        "access   function  tokens    prod-access-tokens    in sync",
        "billing  function  pay       prod-billing-pay      not deployed",
        "4 artifacts checked, 2 drifted (2 in sync, 1 changed, 1 not deployed, 1 layers differ)",
    ]


def test_main_no_manifests_exits_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_main(tmp_path, capsys, {"region": REGION, "manifests": []})
    assert (code, out, err) == (0, "0 artifacts checked, 0 drifted (none)\n", "")


def test_main_usage_error_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert drift_tool.main(["drift_tool.py"]) == 2
    assert capsys.readouterr() == ("", "usage: drift_tool.py SPEC_JSON\n")


def test_main_invalid_spec_exits_2_with_one_stderr_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_main(tmp_path, capsys, {"region": REGION})
    path = tmp_path / "spec.json"
    assert (code, out, err) == (
        2,
        "",
        f"drift_tool: error: invalid spec {path}: KeyError: 'manifests'\n",
    )


def test_main_aws_rejection_exits_2_and_prints_no_partial_results(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], main_stubber: Stubber
) -> None:
    # The access manifest was checked before billing's GetFunction failed: no partial report.
    expect_layer(main_stubber, "prod-access-deps", [[5]], code_sha="sha-deps")
    expect_function(main_stubber, "prod-access-profiles", "sha-old")
    expect_function(main_stubber, "prod-access-tokens", "sha-tokens")
    main_stubber.add_client_error(
        "get_function",
        "AccessDeniedException",
        "User: arn:aws:iam::123456789012:user/ci is not authorized to perform: "
        "lambda:GetFunction",
        http_status_code=403,
    )
    code, out, err = run_main(tmp_path, capsys, SPEC)
    assert (code, out) == (2, "")
    assert err == (
        "drift_tool: error: AWS rejected GetFunction: AccessDeniedException: User: "
        "arn:aws:iam::123456789012:user/ci is not authorized to perform: lambda:GetFunction "
        "(check AWS credentials and IAM permissions)\n"
    )


def test_main_without_region_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_main(tmp_path, capsys, {**SPEC, "region": None})
    assert (code, out) == (2, "")
    assert err.startswith("drift_tool: error: NoRegionError: You must specify a region")


def test_main_unknown_profile_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_main(tmp_path, capsys, {**SPEC, "profile": "nope"})
    assert (code, out) == (2, "")
    assert (
        err == "drift_tool: error: ProfileNotFound: The config profile (nope) could not be found\n"
    )


def raise_endpoint_error(client: Any) -> None:
    """Fails every call as an unresolvable host would, before any request (so no retries)."""

    def fail(**kwargs: Any) -> None:
        raise EndpointConnectionError(endpoint_url=client.meta.endpoint_url)

    client.meta.events.register("before-call.lambda", fail)


@pytest.mark.parametrize("endpoint_url", [None, "http://localhost:4566"])
def test_main_unreachable_endpoint_in_misspelled_region_exits_2(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    main_client: Callable[[ClientHook], None],
    endpoint_url: Optional[str],
) -> None:
    main_client(raise_endpoint_error)
    spec = {**SPEC, "region": "eu-wset-1", "endpoint_url": endpoint_url}
    code, out, err = run_main(tmp_path, capsys, spec)
    assert (code, out) == (2, "")
    url = endpoint_url or "https://lambda.eu-wset-1.amazonaws.com"
    assert err.startswith(
        "drift_tool: error: EndpointConnectionError: "
        f'Could not connect to the endpoint URL: "{url}"'
    )
    hint = "(region 'eu-wset-1' is unknown to this botocore; misspelled?)"
    # With a custom endpoint (LocalStack, moto), any region name is valid.
    assert (hint in err) == (endpoint_url is None)


# The test resolve


def test_runs_against_the_boto3_the_tool_ships() -> None:
    # drift-tool-tests pins boto3 and botocore by hand: bump them with boto3.lock.
    text = (Path(__file__).parent.parent / "boto3.lock").read_text()
    lock = json.loads("\n".join(line for line in text.splitlines() if not line.startswith("//")))
    pinned = {
        req["project_name"]: req["version"]
        for req in lock["locked_resolves"][0]["locked_requirements"]
    }
    assert (pinned["boto3"], pinned["botocore"]) == (boto3.__version__, botocore.__version__)
