"""``update_order``: change status, tags, flags, the shipment hold or the address; each change is a new order version."""

from __future__ import annotations

from nodes.base import FIELD_REF, ConfigProblem, Context, NodeError, NodeType, Result, scope_of
from nodes.fields import MISSING, resolve
from nodes.templating import check_template, render

CHANGE_KEYS = ("status", "add_tags", "remove_tags", "flag", "unflag", "hold")
ADDRESS_FIELDS = ("name", "phone", "province", "city", "district", "line1", "postcode")


def _address(ctx: Context, config: dict) -> dict | None:
    """The address fields to change: copied from a field, then overridden by the ones written here."""
    scope = scope_of(ctx)
    address: dict = {}
    if config.get("address_from"):
        source = resolve(config["address_from"], scope, MISSING)
        if not isinstance(source, dict):
            shown = "missing" if source is MISSING else f"not an address ({type(source).__name__})"
            raise NodeError(f"{config['address_from']} is {shown}")
        address = {k: str(source[k]) for k in ADDRESS_FIELDS if source.get(k) not in (None, "")}
    for key, template in (config.get("address") or {}).items():
        value = render(template, scope)
        if value != "":
            address[key] = value
    return address or None


def run(ctx: Context, config: dict) -> Result:
    if not ctx.order:
        raise NodeError("this run has no order to update")
    changes = {k: config[k] for k in CHANGE_KEYS if k in config and config[k] not in (None, "", [])}
    address = _address(ctx, config)
    if address:
        # the complete new address: fields not given keep the order's current values
        changes["address"] = {**(ctx.order.get("address") or {}), **address}
    if not changes:
        return Result("out", {"changed": False})
    reason = config.get("reason") or f"flow run {ctx.run_id}, node {ctx.node_id}"
    if ctx.dry_run:
        output = {"dry_run": True, "would_change": changes, "order_id": ctx.order["id"]}
        if address and ctx.order.get("locked"):
            output["would_be_refused"] = "the order is locked (packed): its address can no longer change"
        return Result("out", output)
    order = ctx.orders.update(ctx.order["id"], changes, reason=reason)
    return Result("out", {"changed": True, "changes": changes, "order_version": order["version"]})


def check(config: dict) -> list[ConfigProblem]:
    address = config.get("address")
    if not isinstance(address, dict):
        return []
    problems = []
    for key, value in address.items():
        error = check_template(value) if isinstance(value, str) else None
        if error:
            problems.append(ConfigProblem(("address", key), f"template error: {error}"))
    return problems


TAGS = {"type": "array", "items": {"type": "string", "minLength": 1}, "uniqueItems": True}
FLAGS = ["red", "orange", "yellow", "green", "blue"]
ADDRESS = {
    "type": "object", "title": "New address", "additionalProperties": False, "minProperties": 1,
    "description": "Fields given replace the order's; the rest stay. Values may use templates.",
    "properties": {k: {"type": "string", "title": k.replace("line1", "street").capitalize(), "format": "template"}
                   for k in ADDRESS_FIELDS},
}

UPDATE_ORDER = NodeType(
    type="update_order", title="Update order", category="action", icon="pencil",
    description="Sets status, tags, a flag, holds or releases the shipment, or changes the address",
    help="Every change creates a new order version and an audit entry naming this run. An address "
         "change is refused once the order is locked (packed); the refusal is the step's error and "
         "is written to the audit log. 'Copy address from' takes a whole address from a field such "
         "as event.payload.address.",
    config_schema={
        "type": "object", "additionalProperties": False,
        "properties": {
            "status": {"type": "string", "title": "New status",
                       "description": "e.g. pending, paid, on_hold, shipped; empty = unchanged"},
            "add_tags": {**TAGS, "title": "Add tags"},
            "remove_tags": {**TAGS, "title": "Remove tags"},
            "flag": {"type": "string", "title": "Flag", "enum": FLAGS,
                     "description": "Mark the order, e.g. red for attention"},
            "unflag": {"type": "string", "title": "Remove flag", "enum": FLAGS},
            "hold": {"type": "boolean", "title": "Hold shipment",
                     "description": "On: hold the shipment; off: release it"},
            "address": ADDRESS,
            "address_from": {**FIELD_REF, "title": "Copy address from",
                             "description": "A field holding an address, e.g. event.payload.address"},
            "reason": {"type": "string", "title": "Reason", "description": "Written to the audit log"},
        },
    },
    run=run,
    check=check,
)

NODE_TYPES = [UPDATE_ORDER]
