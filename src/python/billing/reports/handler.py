import yaml

from shared.text import slug


def handler(event, context):
    report = {"title": slug(event.get("title", "Monthly Report")), "rows": event.get("rows", 0)}
    return {"yaml": yaml.safe_dump(report, sort_keys=True), "libyaml": yaml.__with_libyaml__}
