"""A tiny in-memory table standing in for a database client."""

_TABLES = {
    "profiles": {"u1": {"id": "u1", "name": "Ada", "plan": "pro"}},
    "invoices": {"i1": {"id": "i1", "customer": "u1", "cents": 1250}},
}


def get(table: str, key: str) -> dict | None:
    row = _TABLES.get(table, {}).get(key)
    return dict(row) if row else None
