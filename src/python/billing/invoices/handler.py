from shared import config, db
from shared.text import slug


def handler(event, context):
    invoice = db.get("invoices", event.get("id", "i1"))
    return {
        "invoice": invoice,
        "reference": slug(f"INV {invoice['id']}") if invoice else None,
        "settings": config.render({"currency": "EUR", "due_days": 30}),
    }
