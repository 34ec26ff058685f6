"""The secrets check of the zip step, run for real: detect-secrets from the plugin's lockfile."""

from __future__ import annotations

import base64
import os
from textwrap import dedent

import pytest

from pants.engine.addresses import Address
from pants.engine.internals.scheduler import ExecutionError
from pants.engine.target import InvalidFieldException
from pants.testutil.rule_runner import RuleRunner

from pants_lambda.conftest import package, package_error, set_options, zip_listing
from pants_lambda.sandbox.zip_tool import secret_by_name

FUNCTION = Address("src/python/app", target_name="fn")
LAYER = Address("src/python/shared", target_name="layer")


def random_base64(size: int) -> str:
    """Key material made up for each run: nothing a scanner of this repository could flag."""
    return base64.b64encode(os.urandom(size)).decode()


def private_key(kind: str) -> str:
    body = random_base64(96)
    return f"-----BEGIN {kind}-----\n{body[:64]}\n{body[64:]}\n-----END {kind}-----\n"


def public_certificate() -> str:
    return private_key("CERTIFICATE")


def token(prefix: str, size: int) -> str:
    """A token of a known format: a fixed prefix and base62 characters."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    return prefix + "".join(alphabet[b % 62] for b in os.urandom(size))


def app(data: dict[str, str], allow: list[str] | None = None) -> dict[str, str]:
    """A function whose folder is globbed whole into a `resources` target, as people write."""
    allow_field = f", allow_secrets={allow!r}" if allow is not None else ""
    return {
        "src/python/app/BUILD": dedent(
            f"""\
            python_sources(name="src", dependencies=[":data"])
            resources(name="data", sources=["**/*", "!**/*.py", "!BUILD"])
            lambda_function(name="fn", handler="handler.py:handler"{allow_field})
            """
        ),
        "src/python/app/handler.py": "def handler(event, context):\n    return 'ok'\n",
        **{f"src/python/app/{path}": content for path, content in data.items()},
    }


SECRETS = {
    # By name, whatever they hold.
    ".env": "DATABASE_URL=postgres://localhost/app\n",
    "deploy/id_rsa": "anything\n",
    "aws.ini": "[default]\naws_access_key_id = AKIA%s\naws_secret_access_key = %s\n"
    % (token("", 16).upper(), token("", 40)),
    ".netrc": "machine example.com\n",
    "bundle.p12": "binary\n",
    # By content.
    "keys/service.pem": private_key("RSA PRIVATE KEY"),
    "ssh/deploy_key": private_key("OPENSSH PRIVATE KEY"),
    "settings.json": '{"github_token": "%s"}\n' % token("ghp_", 36),
    "notes.txt": "access key: AKIA%s\n" % token("", 16).upper(),
    "home/.npmrc": "//registry.npmjs.org/:_authToken=%s\n" % token("npm_", 36),
    ".pypirc": "[pypi]\nusername = someone\npassword = not-a-token\n",
}


def test_each_kind_of_secret_is_refused_by_path_and_kind_never_by_value(
    rule_runner: RuleRunner,
) -> None:
    rule_runner.write_files(
        app({**SECRETS, "config.json": '{"table": "orders"}\n', "cert.pem": public_certificate()})
    )
    error = package_error(rule_runner, FUNCTION)
    assert "src/python/app:fn cannot be packaged: its ZIP would ship secrets" in error
    for path, what in {
        ".env": "an environment file (`.env`)",
        "deploy/id_rsa": "an SSH private key",
        "aws.ini": "AWS Access Key (line 2); AWS Secret Access Key (line 3)",
        ".netrc": "a `.netrc`",
        "bundle.p12": "a PKCS #12 key store",
        "keys/service.pem": "Private Key (line 1)",
        "ssh/deploy_key": "Private Key (line 1)",
        "settings.json": "GitHub Token (line 1)",
        "notes.txt": "AWS Access Key (line 1)",
        "home/.npmrc": "a `.npmrc` with a password or token; NPM tokens (line 1)",
        ".pypirc": "a `.pypirc` with a password or token",
    }.items():
        [line] = [line for line in error.splitlines() if line.startswith(f"  app/{path}: ")]
        for found in what.split("; "):
            assert found in line, (found, line)
    # One name a line: the secret access key is not also called an access key.
    assert "AWS Access Key (line 3)" not in error
    # Neither the data nor the public certificate is a finding, and no value is ever printed.
    assert "config.json" not in error and "cert.pem" not in error
    for content in SECRETS.values():
        for line in content.splitlines():
            if len(line) > 20:
                assert line.split("=")[-1].split(": ")[-1] not in error
    assert "allow_secrets" in error and '"!.env"' in error


def test_allowed_paths_ship_and_templates_public_certificates_and_code_are_no_finding(
    rule_runner: RuleRunner,
) -> None:
    key = private_key("PRIVATE KEY")
    rule_runner.write_files(
        app(
            {
                "fixtures/test-key.pem": key,
                ".env.example": "API_KEY=\n",
                "cert.pem": public_certificate(),
                "config.json": '{"table": "orders"}\n',
                # A secret in Python code is the author's to keep out: only data is scanned.
                "constants.py": f"KEY = {key!r}\n",
            },
            allow=["app/fixtures/test-key.pem"],
        )
    )
    files, _, _ = zip_listing(rule_runner, package(rule_runner, FUNCTION))
    assert files["app/fixtures/test-key.pem"] == key.encode()
    assert {"app/.env.example", "app/cert.pem", "app/config.json"} <= set(files)


def test_a_layers_own_files_are_checked_too(rule_runner: RuleRunner) -> None:
    rule_runner.write_files(
        {
            "src/python/shared/BUILD": dedent(
                """\
                python_sources(name="src")
                resources(name="data", sources=["*.env"])
                lambda_layer(name="layer", dependencies=[":src", ":data"])
                """
            ),
            "src/python/shared/util.py": "X = 1\n",
            "src/python/shared/prod.env": "TOKEN=x\n",
        }
    )
    message = package_error(rule_runner, LAYER)
    assert (
        "src/python/shared:layer cannot be packaged: its ZIP would ship secrets "
        "(checked by name and with detect-secrets):\n  python/shared/prod.env: an environment "
        "file (`*.env`)"
    ) in message


def test_an_allowed_path_the_zip_does_not_hold_is_an_error(rule_runner: RuleRunner) -> None:
    rule_runner.write_files(app({"cert.pem": public_certificate()}, allow=["app/cert.pem.old"]))
    message = package_error(rule_runner, FUNCTION)
    assert "`allow_secrets` lists app/cert.pem.old, which the ZIP does not hold" in message


@pytest.mark.parametrize("bad", ["/app/.env", "app/*.pem", ""])
def test_allow_secrets_takes_exact_paths_only(rule_runner: RuleRunner, bad: str) -> None:
    rule_runner.write_files(app({}, allow=[bad]))
    with pytest.raises(ExecutionError) as raised:
        rule_runner.get_target(FUNCTION)
    assert InvalidFieldException.__name__ in str(raised.value)
    assert "The `allow_secrets` field of src/python/app:fn lists" in str(raised.value)


@pytest.mark.parametrize(
    "path, finding",
    [
        ("app/.env", True),
        ("app/.env.production", True),
        ("app/config/prod.env", True),
        ("app/.env.example", False),
        ("app/.env.template", False),
        ("app/id_ed25519", True),
        ("app/id_ed25519.pub", False),
        ("app/.aws/credentials", True),
        ("app/aws/credentials", False),
        ("app/store.pfx", True),
        ("app/environment.py", False),
        ("app/credentials.json", False),
    ],
)
def test_secret_files_by_name(tmp_path, path: str, finding: bool) -> None:
    file = tmp_path / "f"
    file.write_text("x\n")
    assert (secret_by_name(path, str(file)) is not None) == finding


@pytest.mark.parametrize(
    "content, finding",
    [
        ("[pypi]\nusername = __token__\npassword = pypi-x\n", True),
        ("//registry.npmjs.org/:_authToken=npm_abc\n", True),
        # The usual way to keep the token out of the file: npm reads it from the environment.
        ("//registry.npmjs.org/:_authToken=${NPM_TOKEN}\n", False),
        ("registry=https://registry.npmjs.org/\n", False),
        ("[distutils]\nindex-servers = pypi\n", False),
    ],
)
def test_package_manager_configs_are_secrets_when_they_hold_credentials(
    tmp_path, content: str, finding: bool
) -> None:
    for name in (".npmrc", ".pypirc"):
        file = tmp_path / name
        file.write_text(content)
        assert (secret_by_name(f"app/{name}", str(file)) is not None) == finding


def test_the_tool_installs_from_a_lockfile_only(rule_runner: RuleRunner) -> None:
    rule_runner.write_files(app({"config.json": "{}\n"}))
    set_options(rule_runner, extra=["--detect-secrets-lockfile=<none>"])
    message = package_error(rule_runner, FUNCTION)
    assert "`[detect-secrets].lockfile` is `<none>`. Leave it at its default" in message
