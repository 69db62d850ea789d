"""The runtime side of the triggers that are not an incoming request: a status held too long,
a cron schedule, a failing connector, a failed run. Each becomes an internal event stored like
any other (with an idempotency key, so a timer and the sweep firing together start one run).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from sqlalchemy import tuple_

from nodes.schedule import SCHEDULE_EVENT, next_fire
from nodes.triggers import ADDRESS_CHANGED, CONNECTOR_EVENT, RUN_FAILED_EVENT, STALE_EVENT, stale_due_at
from runtime import flows, queues
from runtime.db import after_commit, db, iso, job, parse_time, utcnow
from runtime.ingest import Accepted, active_flow_versions, matching_versions, store_internal
from runtime.models import FlowVersion, Order, Run, Setting

log = logging.getLogger(__name__)
STALE_SWEEP_BATCH = 2000


def _config(version: FlowVersion) -> dict:
    return flows.published(version).trigger_config


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _setting(key: str) -> Setting:
    row = db.session.get(Setting, key)
    if row is None:
        row = Setting(key=key, value=None)
        db.session.add(row)
    return row


# ---------------------------------------------------------------- order stays in a status


def on_status_entered(order: Order) -> None:
    """Set one timer per stale flow watching this status; O(flows watching it), never a scan."""
    since = iso(order.status_since)
    for version in active_flow_versions("trigger.order_stale"):
        config = _config(version)
        if config.get("status") == order.status:
            due = stale_due_at(config, _aware(order.status_since))
            after_commit(lambda v=version, due=due: queues.enqueue(
                "runtime.triggers.check_stale", order.id, v.flow_id, v.version, since, at=due))


def _fire_stale(version: FlowVersion, order: Order, since: str, now: datetime) -> Accepted | None:
    config = _config(version)
    view = {"type": STALE_EVENT, "source": "timer", "occurred_at": iso(now), "order": order.to_dict(),
            "payload": {"status": config.get("status"), "since": since, "minutes": config.get("minutes")}}
    if not flows.published(version).matches(view):
        return None
    return store_internal(type=STALE_EVENT, source="timer", key=f"stale:{version.flow_id}:{order.id}:{since}",
                          payload=view["payload"], order_id=order.id, versions=[version])


@job
def check_stale(order_id: str, flow_id: int, version: int, since: str) -> bool:
    """The timer set when the order entered the status: fire if it is still there since then."""
    row = next((v for v in active_flow_versions("trigger.order_stale")
                if v.flow_id == flow_id and v.version == version), None)
    order = db.session.get(Order, order_id)
    if row is None or order is None:
        return False
    fired = _fire_stale(row, order, since, _aware(utcnow()))
    return bool(fired and not fired.duplicate)


def sweep_stale(now: datetime) -> int:
    """Catch what lost timers missed, walking the (status, status_since) index with a cursor.

    Each published version keeps a cursor (status_since, id): orders up to it were looked at.
    The first pass starts before every order already stuck (so a new flow also flags yesterday's
    stuck orders), at most STALE_SWEEP_BATCH per pass; later passes only see orders that became
    due since, because an order entering the status gets a status_since after the cursor.
    """
    fired = 0
    for version in active_flow_versions("trigger.order_stale"):
        config = _config(version)
        state = _setting(f"stale-sweep:{version.flow_id}:{version.version}")
        query = Order.query.filter(Order.status == config["status"],
                                   Order.status_since <= now - timedelta(minutes=config["minutes"]))
        if state.value:
            cursor = (parse_time(state.value["since"]), state.value["id"])
            query = query.filter(tuple_(Order.status_since, Order.id) > tuple_(*cursor))
        rows = query.order_by(Order.status_since, Order.id).limit(STALE_SWEEP_BATCH).all()
        for order in rows:
            accepted = _fire_stale(version, order, iso(order.status_since), _aware(now))
            fired += bool(accepted and not accepted.duplicate)
        if rows:
            state.value = {"since": iso(rows[-1].status_since), "id": rows[-1].id}
        db.session.commit()
    return fired


# ---------------------------------------------------------------- cron schedules


def sweep_schedules(now: datetime) -> int:
    """Fire each schedule whose next time has come (once, however many ticks an outage skipped)."""
    fired = 0
    for version in active_flow_versions("trigger.schedule"):
        config = _config(version)
        state = _setting(f"cron:{version.flow_id}:{version.version}")
        if not state.value:
            state.value = iso(now)  # published just now: the first tick is the next one
            continue
        due = next_fire(config, _aware(parse_time(state.value)))
        if due > _aware(now):
            continue
        while (following := next_fire(config, due)) <= _aware(now):
            due = following
        accepted = store_internal(type=SCHEDULE_EVENT, source="schedule", key=f"cron:{version.flow_id}:{iso(due)}",
                                  payload={"scheduled_for": iso(due), "cron": config.get("cron")},
                                  order_id=None, versions=[version])
        fired += bool(accepted and not accepted.duplicate)
        state.value = iso(due)
    db.session.commit()
    return fired


# ---------------------------------------------------------------- connector health


def connector_failed(name: str, group: str, failures: int, kind: str) -> int:
    """A connector's failure count grew: start the health flows whose threshold it just reached."""
    view = {"type": CONNECTOR_EVENT, "source": "connector", "order": None,
            "payload": {"connector": name, "group": group, "consecutive_failures": failures, "kind": kind}}
    versions = matching_versions(view, "trigger.connector_health")
    if not versions:
        return 0
    accepted = store_internal(type=CONNECTOR_EVENT, source="connector",
                              key=f"health:{name}:{failures}:{iso(utcnow())}", payload=view["payload"],
                              order_id=None, versions=versions)
    return len(accepted.run_ids) if accepted and not accepted.duplicate else 0


# ---------------------------------------------------------------- address changes


def address_changed(order: Order, old, new, actor: str) -> None:
    """Announce an applied address change to the flows listening for it (e.g. a carrier sync),
    in the transaction that changed it."""
    payload = {"order_id": order.id, "old": old, "new": new, "by": actor, "order_version": order.version}
    view = {"type": ADDRESS_CHANGED, "source": "orderflow", "order": order.to_dict(), "payload": payload}
    versions = matching_versions(view)
    if versions:
        store_internal(type=ADDRESS_CHANGED, source="orderflow", key=f"address:{order.id}:v{order.version}",
                       payload=payload, order_id=order.id, versions=versions, commit=False)


# ---------------------------------------------------------------- failed runs


def run_failed(run: Run, trigger_type: str, error: str | None) -> None:
    """Hand a failed run to the failure-handler flows (in the failing step's transaction)."""
    payload = {"run_id": run.id, "flow_id": run.flow_id, "flow_version": run.flow_version,
               "node_id": run.failed_node, "error": error, "order_id": run.order_id, "trigger_type": trigger_type}
    view = {"type": RUN_FAILED_EVENT, "source": "runtime", "order": None, "payload": payload}
    versions = matching_versions(view, "trigger.run_failed")
    if versions:
        store_internal(type=RUN_FAILED_EVENT, source="runtime", key=f"run-failed:{run.id}:{run.steps_taken}",
                       payload=payload, order_id=run.order_id, versions=versions, commit=False)
