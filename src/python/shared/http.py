"""HTTP helpers built on requests."""

import requests


def json_response(status: int, body: dict) -> dict:
    return {"statusCode": status, "body": body, "client": f"requests/{requests.__version__}"}
