import os

import boto3

from shared import config, db
from shared.text import slug

# Created once per execution environment, at import (Lambda's init phase): no network yet.
S3 = boto3.client("s3", region_name=os.environ["AWS_REGION"])
BUCKET = os.environ.get("INVOICES_BUCKET", "invoices")


def handler(event, context):
    invoice = db.get("invoices", event.get("id", "i1"))
    return {
        "invoice": invoice,
        "reference": slug(f"INV {invoice['id']}") if invoice else None,
        "settings": config.render({"currency": "EUR", "due_days": 30}),
        # Where the PDF would be archived; writing it is left to a real deployment.
        "archive": f"s3://{BUCKET}/{S3.meta.region_name}/{event.get('id', 'i1')}.pdf",
    }
