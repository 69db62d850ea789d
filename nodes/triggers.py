"""Trigger node types: they declare which events start a run; the runtime does the matching."""

from __future__ import annotations

from datetime import UTC, datetime

from nodes.base import NodeType
from nodes.rules import evaluate_group, group_schema

ORDER_EVENT_TYPES = ("order.created", "order.updated", "order.status_changed",
                     "order.address_change_requested", "order.packed",
                     "payment.succeeded", "payment.failed")


def _order_event_matches(config: dict, event: dict) -> bool:
    if event.get("type") not in config.get("events", ()):
        return False
    if config.get("source") and event.get("source") != config["source"]:
        return False
    condition = config.get("condition")
    if condition and condition.get("rules"):
        scope = {"order": event.get("order") or {}, "event": event, "vars": {}}
        return evaluate_group(condition, scope, datetime.now(UTC))
    return True


ORDER_EVENT = NodeType(
    type="trigger.order_event", title="Order event", category="trigger", icon="bolt",
    description="Starts when an order event arrives (created, paid, address change, packed...)",
    help="Pick the event types that start this flow. Optionally limit it to one source "
         "(e.g. taobao) and to orders matching a condition.",
    has_input=False,
    config_schema={
        "type": "object", "required": ["events"], "additionalProperties": False,
        "properties": {
            "events": {"type": "array", "title": "Events", "minItems": 1, "uniqueItems": True,
                       "items": {"type": "string", "enum": list(ORDER_EVENT_TYPES)},
                       "default": ["order.created"]},
            "source": {"type": "string", "title": "Source",
                       "description": "Only events from this source (e.g. taobao); empty = any"},
            "condition": {**group_schema(), "title": "Only when",
                          "description": "Optional: start only for orders matching these rules"},
        },
    },
    matches=_order_event_matches,
)


WEBHOOK = NodeType(
    type="trigger.webhook", title="Webhook", category="trigger", icon="link",
    description="Starts when an external system posts to /hooks/<key>",
    help="External systems POST JSON to /hooks/<key>. With a secret, each request must carry "
         "X-OrderFlow-Timestamp and an HMAC-SHA256 X-OrderFlow-Signature. A payload schema, when "
         "given, rejects payloads that do not match (422).",
    has_input=False,
    config_schema={
        "type": "object", "required": ["key"], "additionalProperties": False,
        "properties": {
            "key": {"type": "string", "title": "Key", "pattern": "^[A-Za-z0-9_-]{3,64}$",
                    "description": "The URL is /hooks/<key>; letters, digits, - and _"},
            "secret": {"type": "string", "title": "Signing secret", "format": "password",
                       "description": "When set, requests must be signed with HMAC-SHA256"},
            "payload_schema": {"type": "object", "title": "Payload JSON Schema",
                               "format": "json",
                               "description": "Payloads that do not match are refused with 422"},
        },
    },
    matches=lambda config, event: event.get("hook_key") == config.get("key"),
)

NODE_TYPES = [ORDER_EVENT, WEBHOOK]
