"""``update_order``: change status, tags, flags or the shipment hold; each change is a new order version."""

from __future__ import annotations

from nodes.base import Context, NodeError, NodeType, Result

CHANGE_KEYS = ("status", "add_tags", "remove_tags", "flag", "unflag", "hold")


def run(ctx: Context, config: dict) -> Result:
    if not ctx.order:
        raise NodeError("this run has no order to update")
    changes = {k: config[k] for k in CHANGE_KEYS if k in config and config[k] not in (None, "", [])}
    if not changes:
        return Result("out", {"changed": False})
    reason = config.get("reason") or f"flow run {ctx.run_id}, node {ctx.node_id}"
    if ctx.dry_run:
        return Result("out", {"would_change": changes, "order_id": ctx.order["id"]})
    order = ctx.orders.update(ctx.order["id"], changes, reason=reason)
    return Result("out", {"changed": True, "changes": changes, "order_version": order["version"]})


TAGS = {"type": "array", "items": {"type": "string", "minLength": 1}, "uniqueItems": True}

UPDATE_ORDER = NodeType(
    type="update_order", title="Update order", category="action", icon="pencil",
    description="Sets status, tags, a flag or holds the shipment",
    help="Every change creates a new order version and an audit entry naming this run.",
    config_schema={
        "type": "object", "additionalProperties": False,
        "properties": {
            "status": {"type": "string", "title": "New status",
                       "description": "e.g. pending, paid, on_hold, shipped; empty = unchanged"},
            "add_tags": {**TAGS, "title": "Add tags"},
            "remove_tags": {**TAGS, "title": "Remove tags"},
            "flag": {"type": "string", "title": "Flag", "enum": ["red", "orange", "yellow", "green", "blue"],
                     "description": "Mark the order, e.g. red for attention"},
            "unflag": {"type": "string", "title": "Remove flag", "enum": ["red", "orange", "yellow", "green", "blue"]},
            "hold": {"type": "boolean", "title": "Hold shipment",
                     "description": "On: hold the shipment; off: release it"},
            "reason": {"type": "string", "title": "Reason", "description": "Written to the audit log"},
        },
    },
    run=run,
)

NODE_TYPES = [UPDATE_ORDER]
