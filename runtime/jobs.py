"""The glue between RQ, the database and the engine: the only module RQ calls into.

Job functions take ids, load the rest, and commit every step (with the run's position) before
the next node starts. ``drain_events`` executes many runs per RQ job to keep RQ's per-job cost
off the hot path.
"""

from __future__ import annotations

import logging
import os
import uuid
from contextlib import contextmanager
from datetime import timedelta

from flask import current_app
from sqlalchemy import or_, select, update
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from nodes.base import CONNECTORS, RECENT_ORDERS, NodeType
from runtime import admin_settings, connectors, engine, flows, orders, queues, triggers
from runtime.connectors import ConnectorService
from runtime.context import RefusalRecorded, RunContext
from runtime.db import after_commit, db, job, parse_time, utcnow
from runtime.engine import RunState, StepRecord
from runtime.http_client import GuardedHttp
from runtime.ingest import event_view
from runtime.models import Event, Order, Run, Step, Task

log = logging.getLogger(__name__)

DRAIN_BATCH = 200
# A run not touched for this long is taken over by the sweeper (a worker died holding it).
LEASE = timedelta(seconds=float(os.environ.get("ORDERFLOW_RUN_LEASE_S", "120")))


class DbRecorder:
    """Adds each step and the run's position to the session; the walker commits them together.

    The run's status follows from its position, so it is always the status of its last
    committed step: nothing left to do = succeeded, a failed step = failed, a wait = waiting.
    """

    def __init__(self, run: Run, trigger_type: str):
        self.run, self.trigger_type = run, trigger_type

    def _store_state(self, state: RunState, failed: StepRecord | None = None) -> None:
        run = self.run
        run.frontier, run.vars = list(state.frontier), dict(state.vars)
        run.waiting = dict(state.waiting) if state.waiting else None
        run.attempts, run.steps_taken = dict(state.attempts), state.steps_taken
        run.lease_until = utcnow() + LEASE
        if failed is not None:
            run.status, run.error, run.failed_node, run.finished_at = "failed", failed.error, failed.node_id, utcnow()
            triggers.run_failed(run, self.trigger_type, failed.error)
        elif state.waiting:
            run.status, run.resume_at = "waiting", parse_time(state.waiting.get("resume_at"))
        elif not state.frontier:
            run.status, run.finished_at = "succeeded", utcnow()
        if run.status != "running":
            run.lease_until = None

    def save_step(self, step: StepRecord, state: RunState) -> None:
        db.session.add(Step(run_id=self.run.id, seq=step.seq, node_id=step.node_id, node_type=step.node_type,
                            attempt=step.attempt, status=step.status, port=step.port, input=step.input,
                            output=step.output, error=step.error, started_at=step.started_at.replace(tzinfo=None),
                            finished_at=step.finished_at.replace(tzinfo=None),
                            duration_ms=round(step.duration_ms, 3)))
        self._store_state(state, failed=step if step.status == "failed" else None)

    def resolve_waiting(self, seq: int, port: str, output: dict, state: RunState) -> None:
        if port != "retry":
            row = Step.query.filter_by(run_id=self.run.id, seq=seq).one()
            row.status, row.port, row.finished_at = "succeeded", port, utcnow()
            row.output = {**(row.output or {}), **output}
            row.duration_ms = (row.finished_at - row.started_at).total_seconds() * 1000
        self.run.status, self.run.resume_at = "running", None
        self._store_state(state)


def allowed_hosts() -> tuple[str, ...]:
    """ORDERFLOW_ALLOWED_HOSTS plus what an admin allowed on the settings page."""
    return current_app.config["ORDERFLOW"].allowed_hosts + admin_settings.allowed_hosts()


def _run_event(run: Run) -> dict:
    event = db.session.get(Event, run.event_id) if run.event_id else None
    if event is None:
        return {"id": None, "type": "manual", "source": "orderflow", "event_id": None, "payload": {}, "order": None}
    return event_view(type=event.type, source=event.source, event_id=event.event_id, payload=event.payload,
                      id=event.id)


def _claim_runs(run_ids: list[int], from_status: tuple[str, ...]) -> list[Run]:
    """Take ownership of runs (a lease); a run another worker holds is skipped."""
    if not run_ids:
        return []
    now = utcnow()
    claimed = db.session.execute(
        update(Run).where(Run.id.in_(run_ids), Run.status.in_(from_status),
                          or_(Run.lease_until.is_(None), Run.lease_until < now))
        .values(status="running", lease_until=now + LEASE, started_at=db.func.coalesce(Run.started_at, now))
        .returning(Run.id)).scalars().all()
    db.session.commit()
    if not claimed:
        return []
    rows = Run.query.filter(Run.id.in_(claimed)).order_by(Run.id).populate_existing().all()
    return rows


_recent_orders = orders.RecentOrders()


@contextmanager
def _savepoint(node_type: NodeType):
    """A node that may write (actions, human tasks) runs in a savepoint: if it fails, its writes go,
    except a refusal it recorded on purpose. Triggers and logic only read and need none."""
    if node_type.category not in ("action", "human"):
        yield
        return
    savepoint = db.session.begin_nested()
    try:
        yield
    except RefusalRecorded:
        savepoint.commit()
        raise
    except BaseException:
        savepoint.rollback()
        raise
    savepoint.commit()


class _Walker:
    """One run on its way through the graph."""

    def __init__(self, run: Run, http: GuardedHttp, secrets: dict[str, str]):
        self.run, self.secrets = run, secrets
        self.graph = flows.published_by_number(run.flow_id, run.flow_version).graph
        self.state = RunState(frontier=list(run.frontier or []), vars=dict(run.vars or {}), waiting=run.waiting,
                              attempts=dict(run.attempts or {}), steps_taken=run.steps_taken)
        if not self.state.frontier and self.state.steps_taken == 0 and not self.state.waiting:
            self.state.frontier = [self.graph.trigger]
        order = orders.get(run.order_id) if run.order_id else None
        self.box = {"order": order.to_dict() if order else None}
        self.event = _run_event(run)
        self.recorder = DbRecorder(run, self.graph.nodes[self.graph.trigger]["type"])
        self.http = http
        self.outcome: engine.Outcome | None = None

    def context(self, node_id: str, state: RunState) -> RunContext:
        return RunContext(run_id=self.run.id, node_id=node_id, event=self.event, vars=state.vars, order_box=self.box,
                          flow_id=self.run.flow_id, http_client=self.http, secrets=self.secrets,
                          services={RECENT_ORDERS: _recent_orders, CONNECTORS: ConnectorService(self.run.id)})

    def step(self) -> bool:
        """One node; True while the run goes on."""
        self.outcome = engine.step(self.graph, self.state, self.recorder, self.context, guard=_savepoint)
        return self.outcome is None

    def finish(self) -> None:
        """Record what the steps could not say (a step limit) and start the timer of a wait."""
        outcome, run = self.outcome, self.run
        if outcome.status == "failed" and run.status != "failed":
            run.status, run.error, run.finished_at, run.lease_until = "failed", outcome.error, utcnow(), None
        if outcome.status == "waiting" and outcome.suspend.resume_at is not None:
            waiting = run.waiting or {}
            queues.enqueue("runtime.jobs.resume_run", run.id, waiting.get("timeout_port", "out"), {"timed_out": True},
                           step=waiting.get("step"), at=outcome.suspend.resume_at)


def _walk(walkers: list[_Walker]) -> None:
    """Advance runs in lock-step: one node of each run, then one commit for all of them.

    Every run still has its step committed before its next node starts, but a batch of N runs
    costs one commit per graph level instead of one per step.
    """
    run_ids = [w.run.id for w in walkers]
    active = walkers
    try:
        while active:
            active = [w for w in active if w.step()]
            db.session.commit()
    except OperationalError:
        raise  # the database is away: leases expire and the sweeper hands the runs out again
    except SQLAlchemyError as exc:
        # One run's step could not be stored (bad data): the round is lost for all of them. Run each
        # alone from its last committed step, so the one that cannot be recorded fails on its own.
        db.session.rollback()
        if len(run_ids) == 1:
            _fail_unrecordable(run_ids[0], exc)
        else:
            db.session.execute(update(Run).where(Run.id.in_(run_ids), Run.status == "running")
                               .values(lease_until=None))
            db.session.commit()
            for run_id in run_ids:
                queues.enqueue("runtime.jobs.execute_run", run_id)
        return
    for walker in walkers:
        walker.finish()
    db.session.commit()


def _fail_unrecordable(run_id: int, exc: Exception) -> None:
    log.error("run %s: a step could not be recorded: %s", run_id, exc)
    db.session.execute(update(Run).where(Run.id == run_id, Run.status == "running").values(
        status="failed", error=f"a step could not be recorded: {type(exc).__name__}: {str(exc)[:500]}",
        lease_until=None, finished_at=utcnow()))
    db.session.commit()


def _http() -> GuardedHttp:
    return GuardedHttp(allowed_hosts())


def _claim_events(limit: int) -> list[Event]:
    token = uuid.uuid4().hex
    pending = select(Event.id).where(Event.dispatch_state == "pending").order_by(Event.id).limit(limit)
    if db.engine.dialect.name == "postgresql":
        pending = pending.with_for_update(skip_locked=True)
    ids = db.session.execute(
        update(Event).where(Event.id.in_(pending.scalar_subquery()), Event.dispatch_state == "pending")
        .values(dispatch_state="claimed", claim_token=token, claimed_at=utcnow()).returning(Event.id)
    ).scalars().all()
    db.session.commit()
    if not ids:
        return []
    return Event.query.filter(Event.id.in_(ids)).order_by(Event.id).all()


def _apply_event(event: Event, batch_orders: dict[str, Order]) -> None:
    """Apply an event before its runs start: upsert its order (a failure fails the event and its
    runs), note payment callbacks for connector health, and wake runs waiting for this event."""
    order = event.payload.get("order") if isinstance(event.payload, dict) else None
    try:
        if isinstance(order, dict) and order.get("id") is not None:
            # runs in its own savepoint: a failure leaves the session clean for the other events
            order_id = str(order["id"])
            batch_orders[order_id], _ = orders.upsert_from_event(
                {**order, "id": order_id}, actor=f"event:{event.source}", event_type=event.type,
                known_new=order_id not in batch_orders)
        event.dispatch_state, event.dispatched_at = "done", utcnow()
    except Exception as exc:  # noqa: BLE001 - whatever the payload did, the event is recorded as failed
        log.warning("event %s could not be applied: %s", event.id, exc)
        event.dispatch_state, event.error, event.dispatched_at = "failed", f"{type(exc).__name__}: {exc}", utcnow()
        db.session.query(Run).filter(Run.event_id == event.id, Run.status == "queued").update(
            {Run.status: "failed", Run.error: f"event could not be applied: {exc}", Run.finished_at: utcnow()},
            synchronize_session=False)
        return
    if event.order_id:
        _payment_callbacks(event, order or {})


def _payment_callbacks(event: Event, order: dict) -> None:
    channel = order.get("payment_channel")
    if event.type == "order.created" and isinstance(channel, str) and channel:
        connectors.expect_callback(event.order_id, channel)
    elif event.type in ("payment.succeeded", "payment.failed"):
        connector = connectors.callback_received(event.order_id, ok=event.type == "payment.succeeded")
        if connector is not None and event.type == "payment.failed":
            triggers.connector_failed(connector.name, connector.group, connector.consecutive_failures, "error")


def _wake_waiting_runs(events: list[Event]) -> None:
    """Runs waiting for one of these events on their order resume through their ``out`` port.
    One query for the whole batch: most batches wake nothing."""
    arrived = {(e.order_id, e.type): e for e in events if e.order_id and e.dispatch_state == "done"}
    if not arrived:
        return
    waiting = db.session.execute(select(Run.id, Run.order_id, Run.waiting).where(
        Run.order_id.in_({order_id for order_id, _ in arrived}), Run.status == "waiting")).all()
    for run_id, order_id, state in waiting:
        event = arrived.get((order_id, (state or {}).get("wait_event")))
        if event is not None:
            after_commit(lambda r=run_id, e=event, st=state: queues.enqueue(
                "runtime.jobs.resume_run", r, "out", {"event": e.type, "event_id": e.event_id}, step=st.get("step")))


@job
def drain_events(batch_size: int = DRAIN_BATCH) -> int:
    """Dispatch every pending event and execute the runs they start; returns the runs executed."""
    queues.clear_doorbell()  # events committed after this point ring again
    executed = 0
    http, secrets = _http(), admin_settings.secret_values()
    while True:
        events = _claim_events(batch_size)
        if not events:
            return executed
        if len(events) == batch_size:
            queues.ring_doorbell(force=True)  # more waiting: let another worker help
        # One query loads the batch's orders; the dict keeps them in the session (its identity map only
        # holds weak references) so applying events and starting runs finds them without a query each.
        order_ids = {e.order_id for e in events if e.order_id}
        batch_orders = {o.id: o for o in Order.query.filter(Order.id.in_(order_ids))} if order_ids else {}
        for event in events:
            _apply_event(event, batch_orders)
        _wake_waiting_runs(events)
        db.session.commit()
        run_ids = db.session.execute(select(Run.id).where(Run.event_id.in_([e.id for e in events]),
                                                          Run.status == "queued").order_by(Run.id)).scalars().all()
        runs = _claim_runs(run_ids, ("queued",))
        _walk([_Walker(run, http, secrets) for run in runs])
        executed += len(runs)
        db.session.expunge_all()


@job
def execute_run(run_id: int) -> str | None:
    """Execute a queued run, or take over one whose worker died (its lease expired)."""
    event_id = db.session.execute(select(Run.event_id).where(Run.id == run_id)).scalar()
    event = db.session.get(Event, event_id) if event_id else None
    if event is not None and event.dispatch_state in ("pending", "claimed"):
        return None  # its event's order is not applied yet: the drain that applies it runs it
    runs = _claim_runs([run_id], ("queued", "running"))
    if not runs:
        return None
    _walk([_Walker(runs[0], _http(), admin_settings.secret_values())])
    return runs[0].status


@job
def resume_run(run_id: int, port: str, output: dict, step: int | None = None,
               task_id: int | None = None) -> str | None:
    """Resume a waiting run through ``port`` (timer fired, task resolved, event arrived)."""
    run = db.session.get(Run, run_id)
    waiting = (run.waiting or {}) if run else {}
    if run is None or run.status != "waiting" or (step is not None and waiting.get("step") != step) \
            or (task_id is not None and waiting.get("task_id") != task_id):
        return None  # already resumed by something else
    runs = _claim_runs([run_id], ("waiting",))
    if not runs:
        return None
    walker = _Walker(runs[0], _http(), admin_settings.secret_values())
    if waiting.get("task_id") and port == waiting.get("timeout_port") and output.get("timed_out"):
        db.session.query(Task).filter(Task.id == waiting["task_id"], Task.status == "open").update(
            {Task.status: "done", Task.decision: "timed_out", Task.resolved_at: utcnow(), Task.resolved_by: "timer"},
            synchronize_session=False)
    engine.resume(walker.graph, walker.state, walker.recorder, port, output)
    db.session.commit()
    _walk([walker])
    return walker.run.status


def retry_run(run: Run) -> Run:
    """Run a failed run again from its failed step, on its pinned version."""
    if run.status != "failed":
        raise ValueError(f"only a failed run can be retried (this one is {run.status})")
    run.status, run.error, run.failed_node, run.finished_at, run.lease_until = "queued", None, None, None, None
    run.attempts = {}
    db.session.commit()
    queues.enqueue("runtime.jobs.execute_run", run.id)
    return run


def replay_failed(flow_id: int, limit: int = 10_000) -> list[int]:
    """Bulk replay: retry every failed run of a flow from its failed step."""
    failed = Run.query.filter_by(flow_id=flow_id, status="failed").order_by(Run.id).limit(limit).all()
    for run in failed:
        retry_run(run)
    return [run.id for run in failed]


def rerun(run: Run, flow_version: int) -> Run:
    """Start the run's event again from the trigger, on ``flow_version``."""
    new = Run(flow_id=run.flow_id, flow_version=flow_version, event_id=run.event_id, order_id=run.order_id,
              status="queued", frontier=[], vars={}, retry_of=run.id)
    db.session.add(new)
    db.session.commit()
    queues.enqueue("runtime.jobs.execute_run", new.id)
    return new
