import platform

from pydantic import BaseModel


class Token(BaseModel):
    subject: str
    scope: str = "read"


def handler(event, context):
    token = Token(subject=event.get("subject", "u1"))
    return {"token": token.model_dump(), "machine": platform.machine()}
