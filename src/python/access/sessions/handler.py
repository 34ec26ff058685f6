from shared.text import slug


def handler(event, context):
    return {"session": slug(event.get("user", "Ada Lovelace"))}
