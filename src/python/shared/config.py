"""Settings documents, read and written as YAML."""

import yaml


def render(settings: dict) -> str:
    return yaml.safe_dump(settings, sort_keys=True)
