from shared.http import json_response


def handler(event, context):
    return json_response(202, {"payment": event.get("amount", 0)})
