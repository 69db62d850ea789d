"""Orders: upsert from events, changes from flows; every change is a version snapshot plus an audit entry."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from runtime.db import db, parse_time, utcnow
from runtime.models import ORDER_FIELDS, AuditEntry, Order, OrderVersion

MAX_CONFLICT_RETRIES = 5
T = TypeVar("T")


class OrderError(ValueError):
    """A change the order refuses (e.g. the address after packing)."""


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
        if key in ("id", "version", "flags", "hold", "locked", "status_since", "updated_at"):
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
    return changed


def upsert_from_event(data: Mapping[str, Any], actor: str) -> tuple[Order, dict]:
    """Create or merge an order from an event's ``order`` object. Returns the order and what changed."""

    def change() -> tuple[Order, dict]:
        order = db.session.get(Order, data["id"])
        created = order is None
        if created:
            order = Order(id=data["id"], tags=[], items=[], extra={}, flags=[])
            db.session.add(order)
        changed = _apply_fields(order, data)
        if created or changed:
            order.updated_at = utcnow()
            _snapshot(order, actor, "created" if created else "updated", changed, None, None)
        return order, changed

    return _with_optimistic_retry(change)


def update(order_id: str, changes: Mapping[str, Any], *, actor: str, reason: str,
           run_id: int | None = None) -> Order:
    """Apply a flow's change (status, tags, flags, hold) as a new version."""

    def change() -> Order:
        order = db.session.get(Order, order_id)
        if order is None:
            raise OrderError(f"order {order_id!r} does not exist")
        applied: dict = {}
        if "status" in changes and changes["status"] != order.status:
            applied["status"] = [order.status, changes["status"]]
            order.status, order.status_since = changes["status"], utcnow()
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
        return order

    return _with_optimistic_retry(change)


def versions(order_id: str) -> list[OrderVersion]:
    return OrderVersion.query.filter_by(order_id=order_id).order_by(OrderVersion.version).all()


def audit(order_id: str) -> list[AuditEntry]:
    return AuditEntry.query.filter_by(order_id=order_id).order_by(AuditEntry.id).all()
