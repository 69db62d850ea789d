"""Trigger node types: they declare which events start a run, and match them with pure functions.

The runtime produces the internal events (a stale-order timer firing, a connector failing, a run
failing); the shape each trigger expects is documented on its ``*_EVENT`` constant.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from nodes.base import ConfigProblem, NodeType
from nodes.fields import as_time
from nodes.rules import evaluate_group, group_schema

# What external systems send (the events API accepts these) ...
ORDER_EVENT_TYPES = ("order.created", "order.updated", "order.status_changed",
                     "order.address_change_requested", "order.packed",
                     "payment.succeeded", "payment.failed")
# ... and what OrderFlow itself says about an order: its address really changed (inside the edit
# window, after an approval, or by a flow), e.g. to update the carrier's label.
ADDRESS_CHANGED = "order.address_changed"
TRIGGER_EVENT_TYPES = (*ORDER_EVENT_TYPES, ADDRESS_CHANGED)


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
         "(e.g. taobao) and to orders matching a condition. order.address_changed comes from "
         "OrderFlow itself whenever an order's address is actually changed (event.payload.old / .new).",
    has_input=False,
    config_schema={
        "type": "object", "required": ["events"], "additionalProperties": False,
        "properties": {
            "events": {"type": "array", "title": "Events", "minItems": 1, "uniqueItems": True,
                       "items": {"type": "string", "enum": list(TRIGGER_EVENT_TYPES)},
                       "default": ["order.created"]},
            "source": {"type": "string", "title": "Source",
                       "description": "Only events from this source (e.g. taobao); empty = any"},
            "condition": {**group_schema(), "title": "Only when",
                          "description": "Optional: start only for orders matching these rules"},
        },
    },
    matches=_order_event_matches,
)


def _webhook_check(config: dict) -> list[ConfigProblem]:
    """The payload schema must itself be a JSON Schema, or every post would fail to be checked."""
    schema = config.get("payload_schema")
    if not isinstance(schema, dict):
        return []
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        where = ("payload_schema", *exc.path)
        return [ConfigProblem(where, f"not a valid JSON Schema: {exc.message}")]
    return []


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
    check=_webhook_check,
)


# {"type": "order.stale", "occurred_at": <when the timer fired>, "order": {...the order now...},
#  "payload": {"status": S, "since": <the order's status_since when the timer was set>, "minutes": N}}
STALE_EVENT = "order.stale"
# status_since travels through JSON and databases; equal within this is "the same moment"
SAME_MOMENT = timedelta(seconds=1)


def stale_due_at(config: Mapping[str, Any], status_since: datetime) -> datetime:
    """When to check an order that entered the status at ``status_since``: schedule one timer for it."""
    return status_since + timedelta(minutes=config["minutes"])


def still_stale(config: Mapping[str, Any], order: Mapping[str, Any], since: Any, now: datetime) -> bool:
    """True only if the order is still in the status, since that same moment, for long enough.

    An order that moved on (or left and came back: a new status_since) does not fire.
    """
    since_t, current = as_time(since), as_time(order.get("status_since"))
    if order.get("status") != config.get("status") or since_t is None or current is None:
        return False
    return abs(current - since_t) <= SAME_MOMENT and now >= stale_due_at(config, since_t)


def _stale_matches(config: dict, event: dict) -> bool:
    payload = event.get("payload") or {}
    now = as_time(event.get("occurred_at"))
    return (event.get("type") == STALE_EVENT and now is not None
            and payload.get("status") == config.get("status") and payload.get("minutes") == config.get("minutes")
            and still_stale(config, event.get("order") or {}, payload.get("since"), now))


ORDER_STALE = NodeType(
    type="trigger.order_stale", title="Order stuck in a status", category="trigger", icon="hourglass",
    description="Starts when an order has stayed in one status for N minutes (e.g. pending > 15 min)",
    help="A timer is set once when an order enters the status. When it fires, the flow starts only "
         "if the order is still in that status since that same moment; an order that moved on (even "
         "if it came back later) does not start it. A periodic sweep catches timers missed during an outage.",
    has_input=False,
    config_schema={
        "type": "object", "required": ["status", "minutes"], "additionalProperties": False,
        "properties": {
            "status": {"type": "string", "title": "Status", "minLength": 1, "default": "pending",
                       "examples": ["pending", "paid", "packed"]},
            "minutes": {"type": "integer", "title": "Minutes in that status", "minimum": 1, "maximum": 43200,
                        "default": 15},
        },
    },
    matches=_stale_matches,
)


# {"type": "connector.failure", "payload": {"connector": "alipay", "group": "payment",
#  "consecutive_failures": 3, "kind": "missing_callback" | "error"}}
CONNECTOR_EVENT = "connector.failure"


def health_matches(config: Mapping[str, Any], connector: str, consecutive_failures: int) -> bool:
    """Fires once per streak: when the count reaches the threshold, not on every failure after it."""
    wanted = config.get("connector")
    return (wanted in ("*", connector)) and consecutive_failures == config.get("consecutive_failures", 3)


CONNECTOR_HEALTH = NodeType(
    type="trigger.connector_health", title="Connector failing", category="trigger", icon="heart-pulse",
    description="Starts when a payment channel or carrier records N failures or missing callbacks in a row",
    help="The runtime counts, per connector, consecutive failed calls and payments whose callback never "
         "came; a success resets the count. The flow starts once when the count reaches the number "
         "here, e.g. 3 for 'three payments on alipay got no callback'. Use * for any connector.",
    has_input=False,
    config_schema={
        "type": "object", "required": ["connector"], "additionalProperties": False,
        "properties": {
            "connector": {"type": "string", "title": "Connector", "pattern": r"^(\*|[A-Za-z0-9_.-]{1,64})$",
                          "examples": ["alipay", "wechat_pay", "sf_express"]},
            "consecutive_failures": {"type": "integer", "title": "Failures in a row", "minimum": 1,
                                     "maximum": 1000, "default": 3},
        },
    },
    matches=lambda config, event: event.get("type") == CONNECTOR_EVENT and health_matches(
        config, str((event.get("payload") or {}).get("connector")),
        (event.get("payload") or {}).get("consecutive_failures", -1)),
)


# {"type": "run.failed", "payload": {"run_id", "flow_id", "flow_version", "node_id", "error",
#  "trigger_type": <the failed run's trigger type>}}
RUN_FAILED_EVENT = "run.failed"


def _run_failed_matches(config: dict, event: dict) -> bool:
    payload = event.get("payload") or {}
    if event.get("type") != RUN_FAILED_EVENT or payload.get("trigger_type") == "trigger.run_failed":
        return False  # a failing failure handler must not feed itself
    flows = config.get("flows")
    return not flows or str(payload.get("flow_id")) in {str(f) for f in flows}


RUN_FAILED = NodeType(
    type="trigger.run_failed", title="Run failed", category="trigger", icon="alert-triangle",
    description="Starts when a run of another flow fails: the failure handler",
    help="Receives the failed run's id, flow, node and error as event.payload.run_id, .flow_id, "
         ".node_id and .error. Limit it to some flows, or leave the list empty for all. Failures of "
         "failure-handler flows are never delivered to a failure handler, so handlers cannot loop.",
    has_input=False,
    config_schema={
        "type": "object", "additionalProperties": False,
        "properties": {
            "flows": {"type": "array", "title": "Only these flows", "uniqueItems": True,
                      "items": {"type": "integer", "minimum": 1}, "default": [],
                      "description": "Flow ids; empty = every flow"},
        },
    },
    matches=_run_failed_matches,
)

NODE_TYPES = [ORDER_EVENT, ORDER_STALE, WEBHOOK, CONNECTOR_HEALTH, RUN_FAILED]
