import os

import boto3
from boto3.dynamodb.types import TypeSerializer

from shared import db
from shared.models import Profile

# Created once per execution environment, at import (Lambda's init phase): no network yet.
TABLE = boto3.resource("dynamodb", region_name=os.environ["AWS_REGION"]).Table(
    os.environ.get("PROFILES_TABLE", "profiles")
)
_SERIALIZER = TypeSerializer()


def handler(event, context):
    row = db.get("profiles", event.get("id", "u1"))
    if not row:
        return {"error": "not found"}
    profile = Profile(**row).model_dump()
    # The item a write to the table would send, in DynamoDB's attribute-value format.
    item = {key: _SERIALIZER.serialize(value) for key, value in profile.items()}
    return {**profile, "table": TABLE.name, "item": item}
