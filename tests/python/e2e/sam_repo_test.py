"""A repository laid out like an AWS SAM application, with code this project's example lacks.

Services live in hyphenated folders, each its own source root; a shared-code layer has pinned
requirements; handlers use python3.12/3.13 syntax Pants' own CPython 3.9 cannot parse, read a
data file at import (Lambda's working directory is /var/task), rely on the runtime's boto3 and
setuptools, and guard an optional import; one imports through a fallback chain whose last resort
nothing provides, one registers SnapStart hooks and one is a durable function, both with the
library the runtime brings. The plugin comes from its wheel, with the README's
`pants.toml`: every handler packages and runs with `pants run`, and the mistakes a new user makes
(a source root too high up, syntax the runtime lacks, an import nothing provides) fail the build
with the target, the file and the fix.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import zipfile
from pathlib import Path
from typing import Iterator

import pytest

from e2e import new_repo
from e2e.clones import Clone, served_by_pantsd, shared_caches_dir

SOURCE_ROOTS = '\n[source]\nroot_patterns = ["/services/*", "/layers/*/python"]\n'

FILES = {
    "requirements.txt": "attrs==24.2.0\nboto3>=1.40.4\n",
    "BUILD": 'python_requirements(name="reqs")\n',
    # The shared-code layer, SAM style: its code under python/.
    "layers/shared-code/BUILD": "lambda_layer(\n"
    '    name="shared-code",\n'
    '    compatible_runtimes=["python3.11", "python3.12", "python3.13"],\n'
    '    dependencies=["layers/shared-code/python/shared"],\n'
    ")\n",
    "layers/shared-code/python/shared/BUILD": "python_sources()\n",
    "layers/shared-code/python/shared/__init__.py": "",
    "layers/shared-code/python/shared/responses.py": "import json\n\nimport attrs\n\n\n"
    "@attrs.frozen\nclass Response:\n    status: int\n    body: object\n\n"
    "    def render(self):\n"
    "        return {'statusCode': self.status, 'body': json.dumps(self.body, sort_keys=True)}\n\n\n"
    "def ok(body):\n    return Response(200, body).render()\n",
    # python3.12: a `type` alias and `match`; the product list read at import, from the cwd.
    "services/product-catalog/BUILD": 'python_sources(name="src", sources=["catalog/*.py"])\n'
    'resource(name="products", source="product_list.json")\n'
    "lambda_function(\n"
    '    name="list-products",\n'
    '    handler="catalog/list_products.py:lambda_handler",\n'
    '    runtime="python3.12",\n'
    '    layers=["layers/shared-code"],\n'
    '    dependencies=[":products"],\n'
    ")\n",
    "services/product-catalog/product_list.json": json.dumps(
        [
            {"name": "kettle", "category": "kitchen"},
            {"name": "lamp", "category": "living"},
            {"name": "pan", "category": "kitchen"},
        ]
    ),
    "services/product-catalog/catalog/__init__.py": "",
    "services/product-catalog/catalog/list_products.py": "import json\n\n"
    "from shared.responses import ok\n\n"
    "type Product = dict[str, str]\n\n"
    "with open('product_list.json') as fp:\n"
    "    PRODUCTS: list[Product] = json.load(fp)\n\n\n"
    "def lambda_handler(event, context):\n"
    "    match event:\n"
    "        case {'category': str(category)}:\n"
    "            found = [p['name'] for p in PRODUCTS if p['category'] == category]\n"
    "        case _:\n"
    "            found = [p['name'] for p in PRODUCTS]\n"
    "    return ok({'products': found})\n",
    # python3.13: PEP 695 generics, `except*`, PEP 701 f-strings; boto3 from the runtime (the
    # requirement is there, the ZIP leaves it to the runtime).
    "services/shopping-cart/BUILD": 'python_sources(name="src", sources=["cart/*.py"])\n'
    "lambda_function(\n"
    '    name="add-to-cart",\n'
    '    handler="cart/add_to_cart.py:lambda_handler",\n'
    '    runtime="python3.13",\n'
    '    layers=["layers/shared-code"],\n'
    "    include_runtime_provided=False,\n"
    ")\n",
    "services/shopping-cart/cart/__init__.py": "",
    "services/shopping-cart/cart/utils.py": "def parse(event):\n"
    "    errors = [ValueError(f'bad item {item!r}') for item in event['items'] if not item]\n"
    "    if errors:\n"
    "        raise ExceptionGroup('invalid cart', errors)\n"
    "    return list(event['items'])\n",
    "services/shopping-cart/cart/add_to_cart.py": "import boto3\n\n"
    "from cart.utils import parse\n"
    "from shared.responses import ok\n\n\n"
    "class Cart[T]:\n"
    "    def __init__(self) -> None:\n"
    "        self.items: list[T] = []\n\n\n"
    "def lambda_handler(event, context):\n"
    "    errors = []\n"
    "    try:\n"
    "        items = parse(event)\n"
    "    except* ValueError as group:\n"
    "        errors = [str(e) for e in group.exceptions]\n"
    "    if errors:\n"
    "        return {'statusCode': 400, 'errors': errors}\n"
    "    cart = Cart[str]()\n"
    "    cart.items.extend(items)\n"
    "    session = boto3.session.Session(region_name='eu-west-1')\n"
    "    return ok({'items': cart.items, 'sdk': f\"{'-'.join([\"boto3\", boto3.__version__])}\",\n"
    "               'region': session.region_name})\n",
    # python3.11: pkg_resources from the runtime's setuptools, a guarded optional import, and type
    # stubs imported under `if TYPE_CHECKING:`.
    "services/order-history/BUILD": 'python_sources(name="src", sources=["orders/*.py"])\n'
    "lambda_function(\n"
    '    name="order-report",\n'
    '    handler="orders/report.py:lambda_handler",\n'
    '    runtime="python3.11",\n'
    ")\n",
    "services/order-history/orders/__init__.py": "",
    "services/order-history/orders/report.py": "import os\nfrom typing import TYPE_CHECKING\n\n"
    "import pkg_resources\n\n"
    # Type stubs only a type checker reads: never imported on Lambda, so nothing provides them.
    "if TYPE_CHECKING:\n    from mypy_boto3_dynamodb import DynamoDBClient\n\n"
    "try:\n    import ujson as json_impl\nexcept ImportError:\n    import json as json_impl\n\n\n"
    "def lambda_handler(event, context):\n"
    "    return {\n"
    "        'encoder': json_impl.__name__,\n"
    "        'boto3': pkg_resources.get_distribution('boto3').version,\n"
    "        'trace': os.environ.get('_X_AMZN_TRACE_ID', ''),\n"
    "        'cwd': os.path.samefile(os.getcwd(), os.environ['LAMBDA_TASK_ROOT']),\n"
    "    }\n",
    # python3.13: a fallback chain as real apps write it; Lambda takes the first alternative.
    "services/inventory-export/BUILD": 'python_sources(name="src", sources=["provider/*.py"])\n'
    "lambda_function(\n"
    '    name="export",\n'
    '    handler="provider/handler.py:lambda_handler",\n'
    '    runtime="python3.13",\n'
    ")\n",
    "services/inventory-export/provider/__init__.py": "",
    "services/inventory-export/provider/manifest_handler.py": "def invoke_export(event):\n"
    "    return {'exported': sorted(event)}\n",
    "services/inventory-export/provider/handler.py": "import os\nimport sys\n\n"
    "try:\n    from provider.manifest_handler import invoke_export\n"
    "except ImportError:\n    try:\n        from .manifest_handler import invoke_export\n"
    "    except ImportError:\n"
    "        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))\n"
    "        from manifest_handler import invoke_export\n\n\n"
    "def lambda_handler(event, context):\n    return invoke_export(event)\n",
    # python3.12: SnapStart's hooks, from the library the runtime brings.
    "services/warm-start/BUILD": 'python_sources(name="src", sources=["warm/*.py"])\n'
    "lambda_function(\n"
    '    name="warm",\n'
    '    handler="warm/app.py:lambda_handler",\n'
    '    runtime="python3.12",\n'
    "    snap_start=True,\n"
    "    memory_size=1024,\n"
    "    timeout=30,\n"
    '    environment={"STAGE": "prod"},\n'
    ")\n",
    "services/warm-start/warm/__init__.py": "",
    "services/warm-start/warm/app.py": "import snapshot_restore_py\n"
    "from snapshot_restore_py import register_after_restore, register_before_snapshot\n\n\n"
    "import os\n\nCALLS = []\n\n\n"
    "@register_before_snapshot\ndef close_connections():\n    CALLS.append('close')\n\n\n"
    "@register_before_snapshot\ndef flush_cache():\n    CALLS.append('flush')\n\n\n"
    "@register_after_restore\ndef reconnect():\n    CALLS.append('reconnect')\n\n\n"
    "register_after_restore(CALLS.append, 'reseed')\n\n\n"
    "def lambda_handler(event, context):\n"
    "    return {'library': snapshot_restore_py.__version__, 'calls': CALLS,\n"
    "            'init': os.environ['AWS_LAMBDA_INITIALIZATION_TYPE'],\n"
    "            'stage': os.environ['STAGE'], 'memory': context.memory_limit_in_mb}\n",
    # python3.13: a durable function, its SDK left to the runtime (a warning says to bundle it).
    "services/order-workflow/BUILD": 'python_sources(name="src", sources=["workflow/*.py"])\n'
    "lambda_function(\n"
    '    name="workflow",\n'
    '    handler="workflow/app.py:lambda_handler",\n'
    '    runtime="python3.13",\n'
    ")\n",
    "services/order-workflow/workflow/__init__.py": "",
    "services/order-workflow/workflow/app.py": "from aws_durable_execution_sdk_python import "
    "DurableContext, durable_execution\n\n\n"
    "@durable_execution\ndef lambda_handler(event, context: DurableContext):\n"
    "    return {'order': event.get('id')}\n",
}


@pytest.fixture(scope="module")
def caches() -> Path:
    return shared_caches_dir()


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory, caches: Path) -> Iterator[Clone]:
    repo = new_repo.new_repository(tmp_path_factory.mktemp("sam") / "shop", caches, FILES)
    with open(repo.root / "pants.toml", "a") as fp:
        fp.write(SOURCE_ROOTS)
    with served_by_pantsd(repo) as served:
        yield served


def names(path: Path) -> list[str]:
    return sorted(zipfile.ZipFile(path).namelist())


def run_handler(app: Clone, target: str, event: object) -> object:
    result = app.pants("run", target, "--", "--event=-", stdin=json.dumps(event))
    return json.loads(result.stdout)


def test_every_handler_packages_and_runs_as_on_lambda(app: Clone) -> None:
    packaged = app.pants("package", "::")
    # The README's recipe sets every option Pants 2.17 would warn about.
    assert "DEPRECATED" not in packaged.stderr, packaged.stderr
    dist = app.root / "dist"
    assert "Handler: catalog.list_products.lambda_handler" in packaged.stderr
    assert names(dist / "services.product-catalog/list-products.zip") == [
        "catalog/__init__.py",
        "catalog/__pycache__/__init__.cpython-312.pyc",
        "catalog/__pycache__/list_products.cpython-312.pyc",
        "catalog/list_products.py",
        "product_list.json",
    ]
    # boto3 is required, and left to the runtime: the ZIP holds only the function's own code.
    assert [
        n
        for n in names(dist / "services.shopping-cart/add-to-cart.zip")
        if "/__pycache__/" not in n
    ] == [
        "cart/__init__.py",
        "cart/add_to_cart.py",
        "cart/utils.py",
    ]
    assert [
        n for n in names(dist / "services.order-history/order-report.zip") if n.endswith(".py")
    ] == [
        "orders/__init__.py",
        "orders/report.py",
    ]
    # The fallback chain's first alternative ships; the runtime's own libraries do not.
    assert [
        n for n in names(dist / "services.inventory-export/export.zip") if n.endswith(".py")
    ] == ["provider/__init__.py", "provider/handler.py", "provider/manifest_handler.py"]
    for zip_path in ("services.warm-start/warm.zip", "services.order-workflow/workflow.zip"):
        assert not any(
            n.startswith(("snapshot_restore_py", "aws_durable")) for n in names(dist / zip_path)
        )
    assert (
        "The `lambda_function` services/order-workflow:workflow leaves the durable execution SDK "
        "(`aws-durable-execution-sdk-python`), imported at "
        "services/order-workflow/workflow/app.py:1, to the python3.13 runtime. AWS: "
    ) in packaged.stderr
    layer = names(dist / "layers.shared-code/shared-code.zip")
    assert "python/shared/responses.py" in layer
    assert any(n.startswith("python/attrs/") for n in layer)

    assert run_handler(app, "services/product-catalog:list-products", {"category": "kitchen"}) == {
        "statusCode": 200,
        "body": '{"products": ["kettle", "pan"]}',
    }
    assert run_handler(app, "services/shopping-cart:add-to-cart", {"items": ["tea"]}) == {
        "statusCode": 200,
        "body": '{"items": ["tea"], "region": "eu-west-1", "sdk": "boto3-1.43.114"}',
    }
    assert run_handler(app, "services/shopping-cart:add-to-cart", {"items": ["", 0]}) == {
        "statusCode": 400,
        "errors": ["bad item ''", "bad item 0"],
    }
    # `pants run` brings the runtime's SnapStart library, hash-checked, and plays the snapshot:
    # init, the before-snapshot hooks last registered first, the after-restore hooks in order,
    # then the invocation, with the target's environment and memory.
    warm = app.pants("run", "services/warm-start:warm")
    assert json.loads(warm.stdout) == {
        "library": "1.0.0",
        "calls": ["flush", "close", "reconnect", "reseed"],
        "init": "snap-start",
        "stage": "prod",
        "memory": 1024,
    }
    assert (
        "pants run warm: SnapStart: before-snapshot hook warm.app.flush_cache\n"
        "pants run warm: SnapStart: before-snapshot hook warm.app.close_connections\n"
        "pants run warm: SnapStart: after-restore hook warm.app.reconnect\n"
        "pants run warm: SnapStart: after-restore hook list.append\n"
    ) in warm.stderr, warm.stderr
    assert run_handler(app, "services/inventory-export:export", {"b": 1, "a": 2}) == {
        "exported": ["a", "b"]
    }
    report = run_handler(app, "services/order-history:order-report", {})
    assert report["encoder"] == "json" and report["boto3"] == "1.40.4" and report["cwd"]
    assert re.fullmatch(
        r"Root=1-[0-9a-f]{8}-[0-9a-f]{24};Parent=[0-9a-f]{16};Sampled=0", report["trace"]
    )


def test_a_source_root_too_high_up_fails_and_names_the_fix(app: Clone, tmp_path: Path) -> None:
    # Pants' default source root, `/`: the handler's module path has a hyphen.
    repo = new_repo.new_repository(tmp_path / "shop", app.caches, FILES)
    result = repo.pants("package", "services/shopping-cart:add-to-cart", check=False)
    assert result.returncode != 0
    assert (
        "The `handler` field of services/shopping-cart:add-to-cart is "
        "'cart/add_to_cart.py:lambda_handler', which Lambda would import as "
        "`services.shopping-cart.cart.add_to_cart.lambda_handler`: 'shopping-cart' is not a valid "
        "Python identifier"
    ) in result.stderr, result.stderr
    assert "here `/`" in result.stderr
    assert (
        '`[source].root_patterns = ["/services/shopping-cart"]` (or `"/services/*"`'
        in result.stderr
    )
    assert not (repo.root / "dist").exists()


@contextlib.contextmanager
def edited(app: Clone, files: dict[str, str]) -> Iterator[Clone]:
    """The app with `files` written over it; afterwards, the files as they were (the app's
    pantsd sees both)."""
    before = {
        relpath: (app.root / relpath).read_text()
        for relpath in files
        if (app.root / relpath).exists()
    }
    try:
        for relpath, content in files.items():
            (app.root / relpath).write_text(content)
        yield app
    finally:
        for relpath in files:
            if relpath in before:
                (app.root / relpath).write_text(before[relpath])
            else:
                (app.root / relpath).unlink()


def built_zips(app: Clone) -> dict[Path, bytes]:
    return {path: path.read_bytes() for path in sorted((app.root / "dist").rglob("*.zip"))}


def test_syntax_the_runtime_lacks_and_imports_nothing_provides(app: Clone) -> None:
    before = built_zips(app)
    with edited(
        app,
        {
            # PEP 695 is python3.12 syntax; this function runs on python3.11.
            "services/order-history/orders/report.py": "import os\n\ntype Row = dict[str, int]\n\n\n"
            "def lambda_handler(event, context):\n    return {}\n",
            # `utils` is `cart.utils` under this source root: nothing provides a top-level `utils`.
            "services/shopping-cart/cart/add_to_cart.py": "import utils\n\n\n"
            "def lambda_handler(event, context):\n    return utils.parse(event)\n",
        },
    ):
        syntax = app.pants("package", "services/order-history:order-report", check=False)
        unprovided = app.pants("package", "services/shopping-cart:add-to-cart", check=False)
    assert syntax.returncode != 0
    assert (
        "The handler of services/order-history:order-report is in orders/report.py (under its "
        "source root), which is not valid python3.11 code: invalid syntax (line 3"
    ) in syntax.stderr, syntax.stderr
    assert "type Row = dict[str, int]" in syntax.stderr

    assert unprovided.returncode != 0
    assert (
        "The `lambda_function` services/shopping-cart:add-to-cart imports modules that nothing "
        "provides on Lambda python3.13:\n"
        "  services/shopping-cart/cart/add_to_cart.py:1: import utils\n"
    ) in unprovided.stderr, unprovided.stderr
    assert "`[source].root_patterns`" in unprovided.stderr
    assert built_zips(app) == before, "a failed package wrote a ZIP"


def test_a_folder_globbed_whole_with_secrets_fails_until_they_are_left_out(app: Clone) -> None:
    # What people write: every data file of the function's folder, next to a `.env` and a key.
    build = (
        'python_sources(name="src", sources=["orders/*.py"])\n'
        'resources(name="data", sources=["*", "!*.py", "!BUILD"{more}])\n'
        'lambda_function(name="order-report", handler="orders/report.py:lambda_handler",\n'
        '                runtime="python3.11", dependencies=[":data"])\n'
    )
    key_body = base64.b64encode(os.urandom(48)).decode()
    key = f"-----BEGIN OPENSSH PRIVATE KEY-----\n{key_body}\n-----END OPENSSH PRIVATE KEY-----\n"
    secret_key = base64.b64encode(os.urandom(30)).decode()  # 40 characters, as AWS makes them
    report = app.root / "dist/services.order-history/order-report.zip"
    before = report.read_bytes()
    folder = "services/order-history"
    with edited(
        app,
        {
            f"{folder}/BUILD": build.format(more=""),
            f"{folder}/config.json": '{"table": "orders"}\n',
            f"{folder}/.env": f"AWS_SECRET_ACCESS_KEY={secret_key}\n",
            f"{folder}/id_rsa": key,
        },
    ):
        refused = app.pants("package", f"{folder}:order-report", check=False)
        assert report.read_bytes() == before, "the refused ZIP was written"
        (app.root / folder / "BUILD").write_text(build.format(more=', "!.env", "!id_rsa"'))
        app.pants("package", f"{folder}:order-report")
        shipped = names(report)
    assert refused.returncode != 0
    assert (
        "services/order-history:order-report cannot be packaged: its ZIP would ship secrets "
        "(checked by name and with detect-secrets):\n"
        "  .env: an environment file (`.env`), where credentials are kept; AWS Secret Access Key "
        "(line 1)\n"
        "  id_rsa: an SSH private key; Private Key (line 1)\n"
    ) in refused.stderr, refused.stderr
    assert secret_key not in refused.stderr and key_body not in refused.stderr
    assert "config.json" in shipped and not {".env", "id_rsa"} & set(shipped), shipped


def test_a_snapstart_hook_that_raises_fails_the_run(app: Clone) -> None:
    # A connection the snapshot captured and the restore cannot renew: the deploy of a SnapStart
    # version would fail; `pants run` fails with the hook's name and traceback.
    failing = (
        "from snapshot_restore_py import register_after_restore\n\n\n"
        "@register_after_restore\ndef reconnect():\n"
        "    raise ConnectionError('the database went away')\n\n\n"
        "def lambda_handler(event, context):\n    return {}\n"
    )
    with edited(app, {"services/warm-start/warm/app.py": failing}):
        result = app.pants("run", "services/warm-start:warm", check=False)
    assert result.returncode != 0
    assert "ConnectionError: the database went away" in result.stderr, result.stderr
    assert (
        "pants run warm: the SnapStart after-restore hook warm.app.reconnect raised: Lambda would "
        "fail to restore the snapshot"
    ) in result.stderr
