"""Request and response models, validated with pydantic."""

from pydantic import BaseModel


class Profile(BaseModel):
    id: str
    name: str
    plan: str = "free"
