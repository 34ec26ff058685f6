"""Text helpers used by some functions."""


def slug(value: str) -> str:
    return "-".join(value.lower().split())
