from shared import db


def handler(event, context):
    invoice = db.get("invoices", event.get("invoice", "i1"))
    return {"refund_cents": invoice["cents"] if invoice else 0}
