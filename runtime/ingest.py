"""Durable ingestion: check an incoming event, store it with its runs, then ring the doorbell.

The event row and the queued runs it starts are committed in one transaction before the caller
answers 202; a duplicate (same idempotency key) is answered as such and starts nothing.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from flask import current_app
from jsonschema import Draft202012Validator, FormatChecker
from sqlalchemy.exc import IntegrityError

from nodes.triggers import ORDER_EVENT_TYPES
from runtime import flows, queues
from runtime.db import after_commit, db, parse_time, utcnow
from runtime.definition import Problem, json_path
from runtime.models import Event, FlowVersion, Run

EVENT_SCHEMA = {
    "type": "object",
    "required": ["type", "source", "event_id", "order"],
    "properties": {
        "type": {"type": "string", "enum": list(ORDER_EVENT_TYPES)},
        "source": {"type": "string", "minLength": 1, "maxLength": 100},
        "event_id": {"type": "string", "minLength": 1, "maxLength": 200},
        "occurred_at": {"type": "string", "format": "date-time"},
        "order": {"type": "object", "required": ["id"], "properties": {
            "id": {"type": "string", "minLength": 1, "maxLength": 100},
            "status": {"type": "string", "maxLength": 40},
            "amount": {"type": "number"},
            "currency": {"type": "string", "maxLength": 8},
            "channel": {"type": "string", "maxLength": 100},
            "region": {"type": "string", "maxLength": 100},
            "tags": {"type": "array", "items": {"type": "string"}},
            "customer": {"type": "object"},
            "address": {"type": "object"},
            "items": {"type": "array", "items": {"type": "object"}},
            "fees": {"type": "object"},
            "created_at": {"type": "string", "format": "date-time"},
        }},
    },
}
# jsonschema checks "date-time" only when an extra package is installed; check it ourselves, with
# the same parser that later reads the value.
_formats = FormatChecker(formats=())


@_formats.checks("date-time", raises=(ValueError, TypeError))
def _is_time(value) -> bool:
    return not isinstance(value, str) or parse_time(value) is not None


_event_validator = Draft202012Validator(EVENT_SCHEMA, format_checker=_formats)


class BadEvent(ValueError):
    def __init__(self, message: str, details: list[dict]):
        super().__init__(message)
        self.details = details


@dataclass
class Accepted:
    event: Event
    duplicate: bool
    run_ids: list[int]

    def to_dict(self) -> dict:
        return {"event_id": self.event.event_id, "duplicate": self.duplicate, "runs": self.run_ids,
                "id": self.event.id}


def check_event(body) -> None:
    """Raise BadEvent naming every bad field of an events-API body."""
    errors = sorted(_event_validator.iter_errors(body), key=lambda e: list(map(str, e.absolute_path)))
    if not errors:
        return
    details = []
    for e in errors:
        path = json_path(e.absolute_path)
        if e.validator == "required":
            missing = e.message.split("'")[1]
            path, message = f"{path}.{missing}", f"{missing} is required"
        elif e.validator == "enum" and list(e.absolute_path) == ["type"]:
            message = f"unknown event type {e.instance!r}; expected one of {', '.join(ORDER_EVENT_TYPES)}"
        else:
            message = e.message
        details.append(Problem(path, message).to_dict())
    raise BadEvent(details[0]["message"], details)


def active_flow_versions(trigger_type: str | None = None) -> list[FlowVersion]:
    """Active published versions (of one trigger type), cached per process until a publish bumps
    the generation counter."""
    cache = current_app.extensions.setdefault("orderflow.flow_cache", {"gen": None, "versions": None})
    generation = queues.flows_generation()
    if generation is None or cache["gen"] != generation or cache["versions"] is None:
        loaded = flows.active_versions()
        for v in loaded:  # detach plain data so the cache outlives the session
            db.session.expunge(v)
        cache.update(gen=generation, versions=loaded)
    return [v for v in cache["versions"] if trigger_type is None or v.trigger_type == trigger_type]


def event_view(*, type: str, source: str, event_id: str, payload, id: int | None = None,
               occurred_at: str | None = None) -> dict:
    """An event as triggers, conditions and templates see it (``event.payload.x``)."""
    order = payload.get("order") if isinstance(payload, dict) else None
    return {"id": id, "type": type, "source": source, "event_id": event_id, "payload": payload, "order": order,
            "occurred_at": occurred_at}


def matching_versions(event: dict, trigger_type: str = "trigger.order_event") -> list[FlowVersion]:
    """The active flows of one trigger type whose trigger starts a run for this event."""
    return [v for v in active_flow_versions(trigger_type) if flows.published(v).matches(event)]


def _store(event: Event, versions: list[FlowVersion], commit: bool = True) -> Accepted:
    """Insert the event and its queued runs; a known idempotency key answers the first event."""
    try:
        with db.session.begin_nested():
            db.session.add(event)
            db.session.flush()
            runs = [Run(flow_id=v.flow_id, flow_version=v.version, event_id=event.id, order_id=event.order_id,
                        status="queued", frontier=[], vars={}) for v in versions]
            db.session.add_all(runs)
            db.session.flush()
    except IntegrityError:
        existing = Event.query.filter_by(idempotency_key=event.idempotency_key).one()
        run_ids = [r for (r,) in db.session.query(Run.id).filter_by(event_id=existing.id).order_by(Run.id)]
        if commit:
            db.session.commit()
        return Accepted(existing, True, run_ids)
    after_commit(queues.ring_doorbell)
    if commit:
        db.session.commit()
    return Accepted(event, False, [r.id for r in runs])


def store_internal(*, type: str, source: str, key: str, payload: dict, order_id: str | None,
                   versions: list[FlowVersion], commit: bool = True) -> Accepted:
    """An event the runtime makes itself (a timer, a schedule tick, a failed run)."""
    event = Event(source=source, event_id=key, idempotency_key=f"internal:{key}", type=type, order_id=order_id,
                  raw_body=json.dumps(payload, default=str), payload=payload, occurred_at=utcnow())
    return _store(event, versions, commit)


def accept_order_event(body: dict, raw_body: bytes) -> Accepted:
    """The events API: ``body`` already parsed from ``raw_body``."""
    check_event(body)
    event = Event(source=body["source"], event_id=body["event_id"],
                  idempotency_key=f"api:{body['source']}:{body['event_id']}", type=body["type"],
                  order_id=body["order"]["id"], raw_body=raw_body.decode("utf-8", "replace"), payload=body,
                  occurred_at=parse_time(body.get("occurred_at")))
    view = event_view(type=event.type, source=event.source, event_id=event.event_id, payload=body)
    return _store(event, matching_versions(view))


def accept_webhook(version: FlowVersion, body, raw_body: bytes, idempotency_key: str | None) -> Accepted:
    key = idempotency_key or hashlib.sha256(raw_body).hexdigest()
    order = body.get("order") if isinstance(body, dict) and isinstance(body.get("order"), dict) else None
    event = Event(source=f"hook:{version.trigger_key}", event_id=key,
                  idempotency_key=f"hook:{version.flow_id}:{key}", type="webhook", flow_id=version.flow_id,
                  order_id=str(order["id"]) if order and order.get("id") is not None else None,
                  raw_body=raw_body.decode("utf-8", "replace"), payload=body)
    return _store(event, [version])


def webhook_payload_problems(version: FlowVersion, body) -> list[dict]:
    schema = flows.published(version).trigger_config.get("payload_schema")
    if not schema:
        return []
    validator = Draft202012Validator(schema)
    return [Problem(json_path(e.absolute_path), e.message).to_dict() for e in validator.iter_errors(body)]
