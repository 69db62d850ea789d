"""``dedupe``: the same customer ordering the same items again within N minutes is a double submit.

The lookup over recent orders belongs to the runtime (``RecentOrders`` in nodes/base.py); what
"the same" means is defined here, once, by ``key_values`` / ``fingerprint``, so the runtime's
index and this node agree.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any

from nodes.base import RECENT_ORDERS, Context, NodeError, NodeType, Result
from nodes.fields import resolve

DEFAULT_KEYS = ("customer.id", "items")
DEFAULT_WINDOW = 10
MAX_MATCHES_SHOWN = 20
KEY_PATTERN = r"^(order\.)?[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*$"


def normalize_keys(keys: Iterable[str] | None) -> list[str]:
    """Keys are paths inside the order; ``order.customer.id`` and ``customer.id`` are the same key."""
    return [k.removeprefix("order.") for k in (keys or DEFAULT_KEYS)]


def _items(value: Any) -> Any:
    """Items compare as quantities per SKU: order of lines, prices and names do not matter."""
    if not isinstance(value, list) or not all(isinstance(i, Mapping) for i in value):
        return value
    totals: dict[str, float] = {}
    for item in value:
        sku = str(item.get("sku") or item.get("name") or "")
        qty = item.get("qty", 1)
        totals[sku] = totals.get(sku, 0) + (qty if isinstance(qty, (int, float)) and not isinstance(qty, bool) else 1)
    return sorted([sku, int(q) if float(q).is_integer() else q] for sku, q in totals.items())


def key_values(order: Mapping[str, Any], keys: Iterable[str] | None = None) -> dict[str, Any]:
    """The order's value at each key, normalized for comparison; None where the order has none."""
    values: dict[str, Any] = {}
    for key in normalize_keys(keys):
        value = resolve(key, dict(order))
        if value in ("", [], {}):
            value = None
        elif key == "items" or key.endswith(".items"):
            value = _items(value)
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            value = str(value)  # an id sent as 42 by one channel and "42" by another is one customer
        values[key] = value
    return values


def fingerprint(order: Mapping[str, Any], keys: Iterable[str] | None = None) -> str | None:
    """A stable hash of the key values; None when a key is missing (such an order is never a duplicate)."""
    values = key_values(order, keys)
    if any(v is None for v in values.values()):
        return None
    text = json.dumps(values, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def run(ctx: Context, config: dict) -> Result:
    if not ctx.order:
        raise NodeError("dedupe needs an order; this run has none")
    keys = normalize_keys(config.get("keys"))
    window = config.get("window_minutes", DEFAULT_WINDOW)
    missing = [k for k, v in key_values(ctx.order, keys).items() if v is None]
    base = {"window_minutes": window, "keys": keys}
    if ctx.dry_run:
        base["dry_run"] = True  # the lookup only reads, so a rehearsal shows the real answer
    if missing:
        return Result("unique", {**base, "duplicate": False, "checked": False,
                                 "reason": f"the order has no {', '.join(missing)}"})
    found = ctx.service(RECENT_ORDERS).similar(ctx.order, window, keys)
    own_id = str(ctx.order.get("id"))
    matches = [str(m) for m in found if str(m) != own_id]
    return Result("duplicate" if matches else "unique",
                  {**base, "duplicate": bool(matches), "checked": True, "matches": matches[:MAX_MATCHES_SHOWN],
                   "match_count": len(matches)})


DEDUPE = NodeType(
    type="dedupe", title="Duplicate guard", category="logic", icon="copy",
    description="Sends repeat submissions (same customer, same items, within N minutes) to 'duplicate'",
    help="Most 'suspected fraud' is a double submit from a browser cache. This compares the order "
         "with the orders placed in the minutes before it: same customer and same items (SKUs and "
         "quantities, in any order) is a duplicate. Change the keys to compare other fields, e.g. "
         "customer.phone or address.line1. An order missing a key leaves by 'unique', with the reason.",
    config_schema={
        "type": "object", "additionalProperties": False,
        "properties": {
            "window_minutes": {"type": "number", "title": "Window (minutes)", "exclusiveMinimum": 0,
                               "maximum": 60 * 24 * 30, "default": DEFAULT_WINDOW,
                               "description": "How far back to look for the same order"},
            "keys": {"type": "array", "title": "Compare", "minItems": 1, "uniqueItems": True,
                     "items": {"type": "string", "format": "field-ref", "pattern": KEY_PATTERN},
                     "default": list(DEFAULT_KEYS),
                     "description": "Order fields that must all be equal, e.g. customer.id and items"},
        },
    },
    ports=("unique", "duplicate"),
    run=run,
)

NODE_TYPES = [DEDUPE]
