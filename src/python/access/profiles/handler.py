from shared import db
from shared.models import Profile


def handler(event, context):
    row = db.get("profiles", event.get("id", "u1"))
    return Profile(**row).model_dump() if row else {"error": "not found"}
