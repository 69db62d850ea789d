"""The periodic sweep: whatever a crash, a Redis outage or a lost timer left behind gets moving again.

Each check is an indexed query over the few rows that need attention, never a scan of all orders.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import and_, or_, select, update

from runtime import queues
from runtime.db import db, utcnow
from runtime.models import Event, Run

log = logging.getLogger(__name__)

CLAIM_EXPIRY = timedelta(seconds=60)
PENDING_GRACE = timedelta(seconds=5)
QUEUED_GRACE = timedelta(seconds=60)
TIMER_GRACE = timedelta(seconds=30)
BATCH = 500


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
    return done
