"""Field references: one syntax everywhere (``order.amount``, ``order.address.city``, ``vars.x``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

MISSING = object()

# What the editor offers in field pickers; any other path is allowed too.
KNOWN_ORDER_FIELDS = (
    "order.id", "order.status", "order.amount", "order.currency", "order.channel", "order.tags",
    "order.region", "order.customer.id", "order.customer.name", "order.customer.phone",
    "order.address.province", "order.address.city", "order.address.district", "order.address.line1",
    "order.address.postcode", "order.items", "order.fees.commission", "order.fees.shipping_subsidy",
    "order.fees.influencer_share", "order.created_at", "order.status_since", "order.flags",
    "order.hold", "order.locked", "order.version", "event.type", "event.source",
)


def resolve(path: str, scope: dict, default: Any = None) -> Any:
    """Follow a dotted path through dicts (and list indexes); ``default`` when it leads nowhere."""
    current: Any = scope
    for part in path.split("."):
        if isinstance(current, dict):
            current = current.get(part, MISSING)
        elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            current = MISSING
        if current is MISSING:
            return default
    return current


def as_time(value: Any) -> datetime | None:
    """An ISO-8601 time (``2026-11-11T09:00:00+08:00``; no offset = UTC) as an aware datetime, or
    None. Only the extended form counts, so a number-like text such as 20261111 is not a time."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str) and len(value.strip()) >= 10 and value.strip()[4:5] == "-":
        try:
            moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            return None
    else:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
