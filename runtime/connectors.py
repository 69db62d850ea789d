"""Connectors (payment channels, carriers): health counts, expected payment callbacks, failover.

An order that names its ``payment_channel`` is expected to get a payment callback
(payment.succeeded / payment.failed) within the connector's timeout. A callback that never
comes, or a failure, adds to the connector's run of consecutive failures; a success resets it.
Reaching a threshold starts the flows with a ``trigger.connector_health`` for it.
"""

from __future__ import annotations

from datetime import timedelta

from nodes.base import NodeError
from runtime.db import db, utcnow
from runtime.models import AuditEntry, Connector, PaymentCallback

DEFAULT_GROUP = "payment"


def get_or_create(name: str, group: str = DEFAULT_GROUP) -> Connector:
    connector = Connector.query.filter_by(name=name).one_or_none()
    if connector is None:
        with db.session.begin_nested():
            connector = Connector(name=name, group=group, role="primary", active=True)
            db.session.add(connector)
    return connector


def upsert(name: str, *, group: str, role: str, active: bool | None = None,
           callback_timeout_s: int | None = None) -> Connector:
    connector = get_or_create(name, group)
    connector.group, connector.role = group, role
    if active is not None:
        connector.active = active
    if callback_timeout_s is not None:
        connector.callback_timeout_s = callback_timeout_s
    return connector


def expect_callback(order_id: str, connector_name: str) -> None:
    """Register the callback a new order's payment should produce (once per order)."""
    if PaymentCallback.query.filter_by(order_id=order_id).first() is not None:
        return
    connector = get_or_create(connector_name)
    db.session.add(PaymentCallback(order_id=order_id, connector=connector.name,
                                   due_at=utcnow() + timedelta(seconds=connector.callback_timeout_s)))


def record(connector_name: str, ok: bool, detail: str = "") -> Connector:
    """Count a success (resets the streak) or a failure (extends it)."""
    connector = get_or_create(connector_name)
    now = utcnow()
    if ok:
        connector.consecutive_failures, connector.streak_started_at, connector.last_success_at = 0, None, now
    else:
        if connector.consecutive_failures == 0:
            connector.streak_started_at = now
        connector.consecutive_failures += 1
        connector.last_failure_at, connector.last_failure = now, detail[:500]
    return connector


def callback_received(order_id: str, ok: bool) -> Connector | None:
    """A payment callback arrived for an order; None when none was expected."""
    expected = PaymentCallback.query.filter_by(order_id=order_id).one_or_none()
    if expected is None or expected.state != "pending":
        return None
    expected.state = "received"
    return record(expected.connector, ok, "" if ok else f"payment failed for order {order_id}")


def missed_callbacks(limit: int = 500) -> list[tuple[str, str, int]]:
    """Mark overdue expected callbacks as missed; returns (connector, group, failures in a row) per miss."""
    overdue = PaymentCallback.query.filter(PaymentCallback.state == "pending",
                                           PaymentCallback.due_at < utcnow()) \
        .order_by(PaymentCallback.due_at).limit(limit).all()
    touched = []
    for expected in overdue:
        expected.state = "missed"
        connector = record(expected.connector, False, f"no payment callback for order {expected.order_id}")
        touched.append((connector.name, connector.group, connector.consecutive_failures))
    return touched


class ConnectorService:
    """``ctx.service("connectors")`` for the switch_connector node."""

    def __init__(self, run_id: int | None):
        self.run_id = run_id

    def switch(self, group: str, to: str, reason: str) -> dict:
        members = Connector.query.filter_by(group=group).order_by(Connector.id).all()
        if not members:
            raise NodeError(f"no connectors in group {group!r}")
        if to == "backup":
            target = next((c for c in members if c.role == "backup"), None)
            if target is None:
                raise NodeError(f"group {group!r} has no backup connector")
        else:
            target = next((c for c in members if c.name == to), None)
            if target is None:
                raise NodeError(f"no connector {to!r} in group {group!r}")
        previous = next((c.name for c in members if c.active), None)
        for member in members:
            member.active = member is target
        db.session.add(AuditEntry(subject="connector", action="switched", actor=f"run:{self.run_id}",
                                  changes={"group": group, "active": [previous, target.name]}, reason=reason,
                                  run_id=self.run_id))
        return {"group": group, "active": target.name, "previous": previous}


def board() -> list[dict]:
    return [c.to_dict() for c in Connector.query.order_by(Connector.group, Connector.name)]
