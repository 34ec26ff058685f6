"""What the example monorepo's functions do, for the tests that call them."""

from __future__ import annotations

# What each example function returns for an event, whatever runtime it is built for.
EXPECTED = {
    "access.profiles.handler.handler": (
        {"id": "u1"},
        {
            "id": "u1",
            "name": "Ada",
            "plan": "pro",
            "table": "profiles",
            "item": {"id": {"S": "u1"}, "name": {"S": "Ada"}, "plan": {"S": "pro"}},
        },
    ),
    "access.sessions.handler.handler": ({"user": "Ada Lovelace"}, {"session": "ada-lovelace"}),
    "access.audit.handler.handler": (
        {"action": "Login Failed"},
        {"audit": "login-failed", "requests": "2.32.3"},
    ),
    "access.tokens.handler.handler": (
        {"subject": "u1"},
        {"token": {"subject": "u1", "scope": "read"}, "machine": "aarch64"},
    ),
    "billing.invoices.handler.handler": (
        {"id": "i1"},
        {
            "invoice": {"id": "i1", "customer": "u1", "cents": 1250},
            "reference": "inv-i1",
            "settings": "currency: EUR\ndue_days: 30\n",
            "archive": "s3://invoices/us-east-1/i1.pdf",
        },
    ),
    "billing.payments.handler.handler": (
        {"amount": 5},
        {"statusCode": 202, "body": {"payment": 5}, "client": "requests/2.32.3"},
    ),
    "billing.refunds.handler.handler": ({"invoice": "i1"}, {"refund_cents": 1250}),
    "billing.reports.handler.handler": (
        {"title": "Monthly Report", "rows": 3},
        {"yaml": "rows: 3\ntitle: monthly-report\n", "libyaml": True},
    ),
}
