"""The periodic sweep: whatever a crash, a Redis outage or a lost timer left behind gets moving again.

Each check is an indexed query over the few rows that need attention, never a scan of all orders.
"""

from __future__ import annotations

import logging
import os
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, or_, select, update

from nodes.base import NodeError
from runtime import connectors, queues, triggers
from runtime.db import db, iso, parse_time, utcnow
from runtime.models import Event, Notification, Run, Setting, Step, Task
from runtime.notifier import Notifier

log = logging.getLogger(__name__)

CLAIM_EXPIRY = timedelta(seconds=60)
PENDING_GRACE = timedelta(seconds=5)
QUEUED_GRACE = timedelta(seconds=60)
TIMER_GRACE = timedelta(seconds=30)
BATCH = 500
RETENTION_EVERY = timedelta(hours=1)


def sweep() -> dict:
    """One pass; returns what it did, for logs and tests."""
    now = utcnow()
    done: dict = {}
    done["events_reclaimed"] = db.session.execute(
        update(Event).where(Event.dispatch_state == "claimed", Event.claimed_at < now - CLAIM_EXPIRY)
        .values(dispatch_state="pending", claim_token=None)).rowcount
    db.session.commit()

    oldest_pending = db.session.execute(
        select(Event.received_at).where(Event.dispatch_state == "pending").order_by(Event.id).limit(1)).scalar()
    if oldest_pending is not None:
        # a stale doorbell flag (its job lost) must not keep old events waiting
        queues.ring_doorbell(force=oldest_pending < now - PENDING_GRACE)
    done["events_pending"] = oldest_pending is not None

    orphaned = db.session.execute(
        select(Run.id).where(or_(
            and_(Run.status.in_(("queued", "running")), Run.lease_until < now),
            and_(Run.status == "queued", Run.lease_until.is_(None), Run.created_at < now - QUEUED_GRACE),
        )).limit(BATCH)).scalars().all()
    for run_id in orphaned:
        queues.enqueue("runtime.jobs.execute_run", run_id)
    done["runs_taken_over"] = len(orphaned)

    late = db.session.execute(
        select(Run.id, Run.waiting).where(Run.status == "waiting", Run.resume_at < now - TIMER_GRACE).limit(BATCH)).all()
    for run_id, waiting in late:
        waiting = waiting or {}
        queues.enqueue("runtime.jobs.resume_run", run_id, waiting.get("timeout_port", "out"), {"timed_out": True},
                       step=waiting.get("step"))
    done["timers_resumed"] = len(late)
    db.session.commit()

    done["stale_fired"] = triggers.sweep_stale(now)
    done["schedules_fired"] = triggers.sweep_schedules(now)
    missed = connectors.missed_callbacks()
    done["callbacks_missed"] = len(missed)
    for name, group, failures in missed:
        triggers.connector_failed(name, group, failures, "missing_callback")
    db.session.commit()
    done["tasks_escalated"] = _escalate_overdue_tasks(now)
    done["runs_pruned"] = _prune_old_runs(now)
    return done


def _escalate_overdue_tasks(now: datetime) -> int:
    """Overdue tasks with an escalation address notify it once."""
    overdue = Task.query.filter(Task.status == "open", Task.due_at < now, Task.escalated.is_(False)).limit(BATCH).all()
    for task in overdue:
        task.escalated = True
        details = task.details or {}
        if details.get("escalate_to"):
            message = f"Overdue task in {task.queue}: {task.title} (due {iso(task.due_at)})"
            channel = details.get("escalate_channel") or "in_app"
            try:
                Notifier(task.run_id).send(channel, details["escalate_to"], message, {"subject": message})
            except NodeError as exc:  # e.g. no SMTP configured: keep the reminder in the app, with why
                db.session.add(Notification(channel=channel, recipient=details["escalate_to"], run_id=task.run_id,
                                            message=message, status="failed", error=str(exc)))
    db.session.commit()
    return len(overdue)


def retention_days() -> float:
    return float(os.environ.get("ORDERFLOW_RETENTION_DAYS", "30"))


def _prune_old_runs(now: datetime) -> int:
    """Finished runs (and their steps) older than the retention setting, in small batches, hourly."""
    state = db.session.get(Setting, "retention-last") or Setting(key="retention-last")
    if state.value and parse_time(state.value) > now - RETENTION_EVERY:
        return 0
    state.value = iso(now)
    db.session.add(state)
    cutoff = now - timedelta(days=retention_days())
    pruned = 0
    while True:
        ids = db.session.execute(select(Run.id).where(Run.status.in_(("succeeded", "failed", "cancelled")),
                                                      Run.finished_at < cutoff).limit(1000)).scalars().all()
        if not ids:
            break
        db.session.execute(delete(Step).where(Step.run_id.in_(ids)))
        db.session.execute(delete(Run).where(Run.id.in_(ids)))
        db.session.commit()
        pruned += len(ids)
    db.session.commit()
    return pruned
