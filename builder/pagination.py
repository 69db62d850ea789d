"""List endpoints: ``limit`` (default 100, at most 1000) and ``page`` (from 1)."""

from __future__ import annotations

from flask import request

from builder.errors import bad_field

DEFAULT_LIMIT, MAX_LIMIT = 100, 1000


def int_arg(name: str, default: int, low: int, high: int | None = None) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise bad_field(name, f"{name} must be an integer") from None
    if value < low or (high is not None and value > high):
        raise bad_field(name, f"{name} must be between {low} and {high}" if high else f"{name} must be >= {low}")
    return value


def paginate(query, to_dict=lambda row: row.to_dict()) -> dict:
    limit = int_arg("limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    page = int_arg("page", 1, 1)
    total = query.order_by(None).count()
    rows = query.limit(limit).offset((page - 1) * limit).all()
    return {"items": [to_dict(r) for r in rows], "page": page, "limit": limit, "total": total}
