"""Orders: upsert from events, changes from flows; every change is a version snapshot plus an audit entry."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any, TypeVar

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from nodes.dedupe import fingerprint
from runtime import triggers
from runtime.db import db, parse_time, utcnow
from runtime.models import ORDER_FIELDS, AuditEntry, Order, OrderVersion, Task

MAX_CONFLICT_RETRIES = 5
T = TypeVar("T")


class OrderError(ValueError):
    """A change the order refuses (e.g. the address after packing)."""


class AddressLocked(OrderError):
    """The refusal is already in the audit log: callers keep that entry when they fail."""


def get(order_id: str) -> Order | None:
    return db.session.get(Order, order_id)


def _snapshot(order: Order, actor: str, action: str, changes: dict, reason: str | None, run_id: int | None) -> None:
    db.session.flush()  # assigns the new version number
    db.session.add(OrderVersion(order_id=order.id, version=order.version, snapshot=order.to_dict()))
    db.session.add(AuditEntry(order_id=order.id, action=action, actor=actor, changes=changes, reason=reason,
                              order_version=order.version, run_id=run_id))


def _with_optimistic_retry(change: Callable[[], T]) -> T:
    """Run ``change`` in a savepoint; on a concurrent write (stale version) reload and try again."""
    for attempt in range(MAX_CONFLICT_RETRIES):
        try:
            with db.session.begin_nested():
                return change()
        except (StaleDataError, IntegrityError):  # another worker changed or created it meanwhile
            db.session.expire_all()
            if attempt == MAX_CONFLICT_RETRIES - 1:
                raise
    raise AssertionError("unreachable")


def _apply_fields(order: Order, data: Mapping[str, Any]) -> dict:
    """Merge event fields into the order; returns {field: [old, new]} for what changed."""
    changed: dict = {}
    for key, value in data.items():
        if key in ("id", "version", "flags", "hold", "locked", "status_since", "updated_at", "customer_id"):
            continue
        if key == "created_at":
            value = parse_time(value)
        if key in ORDER_FIELDS:
            old = getattr(order, key)
            if old != value:
                changed[key] = [old.isoformat() if hasattr(old, "isoformat") else old,
                                data[key]]
                setattr(order, key, value)
        else:
            extra = dict(order.extra or {})
            if extra.get(key) != value:
                changed[key] = [extra.get(key), value]
                extra[key] = value
                order.extra = extra
    if "status" in changed:
        order.status_since = utcnow()
    if "customer" in changed:
        order.customer_id = str((order.customer or {}).get("id")) if (order.customer or {}).get("id") is not None else None
    return changed


def address_window() -> timedelta:
    return timedelta(minutes=float(os.environ.get("ORDERFLOW_ADDRESS_WINDOW_MIN", "120")))


def upsert_from_event(data: Mapping[str, Any], actor: str, event_type: str | None = None,
                      known_new: bool = False) -> tuple[Order, dict]:
    """Create or merge an order from an event's ``order`` object. Returns the order and what changed.

    The address follows the address rules: a locked (packed) order refuses a new address; an
    ``order.address_change_requested`` applies it inside the edit window and asks the ``cs`` queue
    for an approval outside it. ``known_new`` (the caller just looked and found no such order)
    saves the lookup; a concurrent insert still ends up merging, through the retry.
    """
    attempts = 0

    def change() -> tuple[Order, dict]:
        nonlocal attempts
        attempts += 1
        order = None if known_new and attempts == 1 else db.session.get(Order, data["id"])
        created = order is None
        if created:
            order = Order(id=data["id"], tags=[], items=[], extra={}, flags=[])
            db.session.add(order)
        fields = dict(data)
        requested = fields.pop("address", None) if not created else None
        changed = _apply_fields(order, fields)
        if requested is not None and requested != order.address:
            changed.update(_address_rules(order, requested, actor, event_type))
        if event_type == "order.packed" and not order.locked:
            order.locked = True
            changed["locked"] = [False, True]
        if created or changed:
            order.updated_at = utcnow()
            _snapshot(order, actor, "created" if created else "updated", changed, None, None)
        if "address" in changed and not created:
            triggers.address_changed(order, *changed["address"], actor)
        if created or "status" in changed:
            triggers.on_status_entered(order)
        return order, changed

    return _with_optimistic_retry(change)


def _address_rules(order: Order, requested: Any, actor: str, event_type: str | None) -> dict:
    """Apply a new address, or refuse it / ask for approval (with an audit entry saying why)."""
    if order.locked:
        db.session.add(AuditEntry(order_id=order.id, action="address_change_refused", actor=actor,
                                  changes={"address": [order.address, requested]},
                                  reason="the order is packed: its address is locked", order_version=order.version))
        return {}
    if event_type == "order.address_change_requested" and utcnow() > order.created_at + address_window():
        task = Task(kind="approval", queue="cs", title=f"Address change for order {order.id} (outside the edit window)",
                    order_id=order.id, priority="high",
                    details={"action": "address_change", "address": requested, "requested_by": actor})
        db.session.add(task)
        db.session.flush()
        db.session.add(AuditEntry(order_id=order.id, action="address_change_pending", actor=actor,
                                  changes={"address": [order.address, requested]}, order_version=order.version,
                                  reason=f"outside the {address_window()} edit window: approval task {task.id} in cs"))
        return {}
    old, order.address = order.address, requested
    return {"address": [old, requested]}


def apply_approved_address(order_id: str, address: Any, user: str) -> Order:
    """An approved address change: applied unless the order was packed meanwhile."""

    def change() -> Order:
        order = db.session.get(Order, order_id)
        if order.locked:
            db.session.add(AuditEntry(order_id=order.id, action="address_change_refused", actor=f"user:{user}",
                                      changes={"address": [order.address, address]}, order_version=order.version,
                                      reason="approved, but the order was packed meanwhile: its address is locked"))
            return order
        old, order.address, order.updated_at = order.address, address, utcnow()
        _snapshot(order, f"user:{user}", "updated", {"address": [old, address]}, "address change approved", None)
        triggers.address_changed(order, old, address, f"user:{user}")
        return order

    return _with_optimistic_retry(change)


def update(order_id: str, changes: Mapping[str, Any], *, actor: str, reason: str,
           run_id: int | None = None, announce_address: bool = True) -> Order:
    """Apply a flow's change (status, tags, flags, hold, address) as a new version.

    A new address for a packed order is refused as a whole, with an audit entry saying why. A new
    address is announced as ``order.address_changed`` unless ``announce_address`` is off (a run
    started by that announcement must not start another: no loops).
    """
    current = db.session.get(Order, order_id)
    if current is not None and current.locked and "address" in changes and changes["address"] != current.address:
        db.session.add(AuditEntry(order_id=order_id, action="address_change_refused", actor=actor, run_id=run_id,
                                  changes={"address": [current.address, changes["address"]]},
                                  reason="the order is packed: its address is locked", order_version=current.version))
        raise AddressLocked(f"order {order_id} is packed: its address is locked")

    def change() -> Order:
        order = db.session.get(Order, order_id)
        if order is None:
            raise OrderError(f"order {order_id!r} does not exist")
        applied: dict = {}
        if "status" in changes and changes["status"] != order.status:
            applied["status"] = [order.status, changes["status"]]
            order.status, order.status_since = changes["status"], utcnow()
        if "address" in changes and changes["address"] != order.address:
            applied["address"] = [order.address, changes["address"]]
            order.address = changes["address"]
        tags = list(order.tags or [])
        for tag in changes.get("add_tags") or []:
            if tag not in tags:
                tags.append(tag)
        tags = [t for t in tags if t not in (changes.get("remove_tags") or [])]
        if tags != list(order.tags or []):
            applied["tags"] = [order.tags, tags]
            order.tags = tags
        flags = list(order.flags or [])
        if changes.get("flag") and changes["flag"] not in flags:
            flags.append(changes["flag"])
        if changes.get("unflag") in flags:
            flags.remove(changes["unflag"])
        if flags != list(order.flags or []):
            applied["flags"] = [order.flags, flags]
            order.flags = flags
        if "hold" in changes and bool(changes["hold"]) != order.hold:
            applied["hold"] = [order.hold, bool(changes["hold"])]
            order.hold = bool(changes["hold"])
        if applied:
            order.updated_at = utcnow()
            _snapshot(order, actor, "updated", applied, reason, run_id)
        if "address" in applied and announce_address:
            triggers.address_changed(order, *applied["address"], actor)
        if "status" in applied:
            triggers.on_status_entered(order)
        return order

    return _with_optimistic_retry(change)


def versions(order_id: str) -> list[OrderVersion]:
    return OrderVersion.query.filter_by(order_id=order_id).order_by(OrderVersion.version).all()


def audit(order_id: str) -> list[AuditEntry]:
    return AuditEntry.query.filter_by(order_id=order_id).order_by(AuditEntry.id).all()


class RecentOrders:
    """``ctx.service("recent_orders")`` for the dedupe node: other orders with the same key values,
    placed in the window before this one. Narrowed by customer in SQL, compared by fingerprint."""

    def similar(self, order: Mapping[str, Any], window_minutes: float, keys: list[str]) -> list[str]:
        placed = parse_time(order.get("created_at")) or utcnow()
        query = Order.query.filter(Order.created_at >= placed - timedelta(minutes=window_minutes),
                                   Order.created_at <= placed, Order.id != str(order.get("id")))
        customer = (order.get("customer") or {}).get("id")
        if "customer.id" in keys and customer is not None:
            query = query.filter(Order.customer_id == str(customer))
        wanted = fingerprint(order, keys)
        return [o.id for o in query.order_by(Order.created_at).limit(1000)
                if (o.created_at, o.id) < (placed, str(order.get("id"))) and fingerprint(o.to_dict(), keys) == wanted]
