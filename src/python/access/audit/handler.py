import requests

from shared.text import slug


def handler(event, context):
    return {"audit": slug(event.get("action", "Login Failed")), "requests": requests.__version__}
