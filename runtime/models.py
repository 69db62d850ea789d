"""The data model. Runtime owns it; the web layer reads and writes through runtime functions."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)

from runtime.db import JsonType, db, iso, utcnow

# BIGINT on PostgreSQL, INTEGER (the rowid alias) on SQLite.
BigId = BigInteger().with_variant(Integer(), "sqlite")

ORDER_FIELDS = ("status", "amount", "currency", "channel", "tags", "region", "customer", "address",
                "items", "fees", "created_at")


class Order(db.Model):
    __tablename__ = "orders"
    id = Column(String(100), primary_key=True)
    status = Column(String(40), nullable=False, default="pending")
    status_since = Column(DateTime, nullable=False, default=utcnow)
    amount = Column(Float)
    currency = Column(String(8))
    channel = Column(String(100))
    region = Column(String(100))
    tags = Column(JsonType, nullable=False, default=list)
    customer = Column(JsonType)
    address = Column(JsonType)
    items = Column(JsonType, nullable=False, default=list)
    fees = Column(JsonType)
    extra = Column(JsonType, nullable=False, default=dict)  # fields an event sent beyond the known ones
    flags = Column(JsonType, nullable=False, default=list)
    hold = Column(Boolean, nullable=False, default=False)
    locked = Column(Boolean, nullable=False, default=False)
    customer_id = Column(String(100))  # from customer.id: the duplicate-submission guard looks orders up by it
    created_at = Column(DateTime, nullable=False, default=utcnow)
    updated_at = Column(DateTime, nullable=False, default=utcnow)
    version = Column(Integer, nullable=False)

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (Index("ix_orders_status_since", "status", "status_since"),
                      Index("ix_orders_customer_created", "customer_id", "created_at"),
                      Index("ix_orders_created", "created_at"))

    def to_dict(self) -> dict:
        return {**(self.extra or {}), "id": self.id, "status": self.status, "amount": self.amount,
                "currency": self.currency, "channel": self.channel, "tags": list(self.tags or []),
                "region": self.region, "customer": self.customer, "address": self.address,
                "items": list(self.items or []), "fees": self.fees, "created_at": iso(self.created_at),
                "version": self.version, "flags": list(self.flags or []), "hold": self.hold,
                "locked": self.locked, "status_since": iso(self.status_since),
                "updated_at": iso(self.updated_at)}


class OrderVersion(db.Model):
    __tablename__ = "order_versions"
    id = Column(BigId, primary_key=True)
    order_id = Column(String(100), ForeignKey("orders.id", ondelete="CASCADE"), nullable=False)
    version = Column(Integer, nullable=False)
    snapshot = Column(JsonType, nullable=False)
    created_at = Column(DateTime, nullable=False, default=utcnow)
    __table_args__ = (UniqueConstraint("order_id", "version"),)

    def to_dict(self) -> dict:
        return {"version": self.version, "created_at": iso(self.created_at), "order": self.snapshot}


class AuditEntry(db.Model):
    __tablename__ = "audit_entries"
    id = Column(BigId, primary_key=True)
    order_id = Column(String(100), index=True)
    subject = Column(String(40), nullable=False, default="order")  # order | connector | flow
    action = Column(String(60), nullable=False)
    actor = Column(String(200), nullable=False)  # "event:<source>", "run:<id>", "user:<name>"
    changes = Column(JsonType, nullable=False, default=dict)
    reason = Column(Text)
    order_version = Column(Integer)
    run_id = Column(BigInteger)
    created_at = Column(DateTime, nullable=False, default=utcnow)

    def to_dict(self) -> dict:
        return {"id": self.id, "order_id": self.order_id, "subject": self.subject, "action": self.action,
                "actor": self.actor, "changes": self.changes, "reason": self.reason,
                "order_version": self.order_version, "run_id": self.run_id, "created_at": iso(self.created_at)}


class Flow(db.Model):
    __tablename__ = "flows"
    id = Column(Integer, primary_key=True)
    name = Column(String(200), nullable=False)
    description = Column(Text, nullable=False, default="")
    draft = Column(JsonType, nullable=False)
    draft_rev = Column(Integer, nullable=False, default=1)
    draft_problems = Column(JsonType, nullable=False, default=list)
    active = Column(Boolean, nullable=False, default=False)
    published_version = Column(Integer)
    is_failure_handler = Column(Boolean, nullable=False, default=False)
    created_at = Column(DateTime, nullable=False, default=utcnow)
    updated_at = Column(DateTime, nullable=False, default=utcnow)
    updated_by = Column(String(200))

    def to_dict(self) -> dict:
        return {"id": self.id, "name": self.name, "description": self.description, "draft": self.draft,
                "draft_rev": self.draft_rev, "problems": self.draft_problems,
                "published_version": self.published_version, "active": self.active,
                "updated_at": iso(self.updated_at), "updated_by": self.updated_by}


class FlowVersion(db.Model):
    """A published definition. Immutable: a new publish writes a new row."""

    __tablename__ = "flow_versions"
    id = Column(Integer, primary_key=True)
    flow_id = Column(Integer, ForeignKey("flows.id", ondelete="CASCADE"), nullable=False)
    version = Column(Integer, nullable=False)
    definition = Column(JsonType, nullable=False)
    trigger_type = Column(String(60), nullable=False)
    trigger_key = Column(String(100))  # the webhook key, for O(1) lookup of /hooks/<key>
    published_at = Column(DateTime, nullable=False, default=utcnow)
    published_by = Column(String(200))
    __table_args__ = (UniqueConstraint("flow_id", "version"), Index("ix_flow_versions_trigger", "trigger_type", "trigger_key"))

    def to_dict(self, with_definition: bool = False) -> dict:
        out = {"version": self.version, "published_at": iso(self.published_at), "published_by": self.published_by,
               "trigger_type": self.trigger_type}
        if with_definition:
            out["definition"] = self.definition
        return out


class Event(db.Model):
    """The durable inbox: stored before it is acknowledged, dispatched afterwards."""

    __tablename__ = "events"
    id = Column(BigId, primary_key=True)
    source = Column(String(100), nullable=False)
    event_id = Column(String(200), nullable=False)
    idempotency_key = Column(String(300), nullable=False, unique=True)
    type = Column(String(60), nullable=False)
    flow_id = Column(Integer)  # set for webhook events: the one flow they are for
    order_id = Column(String(100))
    raw_body = Column(Text, nullable=False)
    payload = Column(JsonType, nullable=False)
    occurred_at = Column(DateTime)
    received_at = Column(DateTime, nullable=False, default=utcnow)
    dispatch_state = Column(String(20), nullable=False, default="pending")  # pending|claimed|done|failed
    claimed_at = Column(DateTime)
    claim_token = Column(String(40))
    dispatched_at = Column(DateTime)
    error = Column(Text)
    __table_args__ = (Index("ix_events_dispatch", "dispatch_state", "id"),)

    def to_dict(self) -> dict:
        return {"id": self.id, "source": self.source, "event_id": self.event_id, "type": self.type,
                "flow_id": self.flow_id, "order_id": self.order_id, "received_at": iso(self.received_at),
                "occurred_at": iso(self.occurred_at), "dispatch_state": self.dispatch_state, "error": self.error}


class Run(db.Model):
    __tablename__ = "runs"
    id = Column(BigId, primary_key=True)
    flow_id = Column(Integer, ForeignKey("flows.id", ondelete="CASCADE"), nullable=False)
    flow_version = Column(Integer, nullable=False)
    event_id = Column(BigInteger)
    order_id = Column(String(100))
    status = Column(String(20), nullable=False, default="queued")
    frontier = Column(JsonType, nullable=False, default=list)
    vars = Column(JsonType, nullable=False, default=dict)
    waiting = Column(JsonType)
    resume_at = Column(DateTime)  # when a waiting run's timer fires; the sweeper resumes missed ones
    attempts = Column(JsonType, nullable=False, default=dict)
    steps_taken = Column(Integer, nullable=False, default=0)
    error = Column(Text)
    failed_node = Column(String(64))
    retry_of = Column(BigInteger)
    created_at = Column(DateTime, nullable=False, default=utcnow)
    started_at = Column(DateTime)
    finished_at = Column(DateTime)
    lease_until = Column(DateTime)  # a worker owns the run until then; expired + unfinished = pick it up again
    __table_args__ = (Index("ix_runs_flow_status", "flow_id", "status"), Index("ix_runs_order", "order_id", "status"), Index("ix_runs_status_lease", "status", "lease_until"),
                      Index("ix_runs_status_resume", "status", "resume_at"),
                      Index("ix_runs_created", "created_at"))

    def to_dict(self, steps: list | None = None) -> dict:
        out = {"id": self.id, "flow_id": self.flow_id, "flow_version": self.flow_version, "event_id": self.event_id,
               "order_id": self.order_id, "status": self.status, "error": self.error,
               "failed_node": self.failed_node, "vars": self.vars, "waiting": self.waiting,
               "created_at": iso(self.created_at), "started_at": iso(self.started_at),
               "finished_at": iso(self.finished_at), "retry_of": self.retry_of}
        if steps is not None:
            out["steps"] = [s.to_dict() for s in steps]
        return out


class Step(db.Model):
    __tablename__ = "steps"
    id = Column(BigId, primary_key=True)
    run_id = Column(BigInteger, ForeignKey("runs.id", ondelete="CASCADE"), nullable=False)
    seq = Column(Integer, nullable=False)  # unique per run: a step recorded once is never recorded again
    node_id = Column(String(64), nullable=False)
    node_type = Column(String(60), nullable=False)
    attempt = Column(Integer, nullable=False, default=1)
    status = Column(String(20), nullable=False)
    port = Column(String(64))
    input = Column(JsonType)
    output = Column(JsonType)
    error = Column(Text)
    started_at = Column(DateTime, nullable=False)
    finished_at = Column(DateTime)
    duration_ms = Column(Float)

    def to_dict(self) -> dict:
        return {"id": self.id, "node_id": self.node_id, "node_type": self.node_type, "attempt": self.attempt,
                "status": self.status, "port": self.port, "input": self.input, "output": self.output,
                "error": self.error, "started_at": iso(self.started_at), "finished_at": iso(self.finished_at),
                "duration_ms": self.duration_ms, "seq": self.seq}

    __table_args__ = (UniqueConstraint("run_id", "seq"),)


class Task(db.Model):
    """A person's work item in a team queue: an assignment or an approval."""

    __tablename__ = "tasks"
    id = Column(BigId, primary_key=True)
    kind = Column(String(20), nullable=False, default="task")  # task | approval
    queue = Column(String(40), nullable=False)
    title = Column(String(500), nullable=False)
    status = Column(String(20), nullable=False, default="open")  # open | done
    priority = Column(String(10), nullable=False, default="normal")
    order_id = Column(String(100))
    run_id = Column(BigInteger)
    flow_id = Column(Integer)
    node_id = Column(String(64))
    due_at = Column(DateTime)
    assignee = Column(String(200))
    details = Column(JsonType, nullable=False, default=dict)
    decision = Column(String(20))
    comment = Column(Text)
    escalated = Column(Boolean, nullable=False, default=False)
    created_at = Column(DateTime, nullable=False, default=utcnow)
    resolved_at = Column(DateTime)
    resolved_by = Column(String(200))
    __table_args__ = (Index("ix_tasks_queue_status", "queue", "status"),)

    def to_dict(self) -> dict:
        return {"id": self.id, "kind": self.kind, "queue": self.queue, "title": self.title, "status": self.status,
                "order_id": self.order_id, "run_id": self.run_id, "flow_id": self.flow_id, "node_id": self.node_id,
                "priority": self.priority, "due_at": iso(self.due_at), "assignee": self.assignee,
                "created_at": iso(self.created_at), "decision": self.decision, "comment": self.comment,
                "resolved_at": iso(self.resolved_at), "resolved_by": self.resolved_by}


class Notification(db.Model):
    __tablename__ = "notifications"
    id = Column(BigId, primary_key=True)
    channel = Column(String(20), nullable=False)
    recipient = Column(String(300), nullable=False, default="")
    message = Column(Text, nullable=False)
    run_id = Column(BigInteger)
    status = Column(String(20), nullable=False, default="sent")
    error = Column(Text)
    read = Column(Boolean, nullable=False, default=False)
    created_at = Column(DateTime, nullable=False, default=utcnow)

    def to_dict(self) -> dict:
        return {"id": self.id, "channel": self.channel, "to": self.recipient, "message": self.message,
                "run_id": self.run_id, "status": self.status, "error": self.error, "read": self.read,
                "created_at": iso(self.created_at)}


class User(db.Model):
    __tablename__ = "users"
    id = Column(Integer, primary_key=True)
    name = Column(String(100), nullable=False, unique=True)
    role = Column(String(20), nullable=False, default="operator")  # admin | operator | viewer
    password_hash = Column(String(300))
    created_at = Column(DateTime, nullable=False, default=utcnow)


class ApiToken(db.Model):
    __tablename__ = "api_tokens"
    id = Column(Integer, primary_key=True)
    name = Column(String(100), nullable=False)
    role = Column(String(20), nullable=False, default="operator")
    token_hash = Column(String(64), nullable=False, unique=True)  # sha256 of the token: the token is never stored
    created_at = Column(DateTime, nullable=False, default=utcnow)
    last_used_at = Column(DateTime)


class Connector(db.Model):
    """A payment channel or carrier endpoint, in a group with one active member."""

    __tablename__ = "connectors"
    id = Column(Integer, primary_key=True)
    name = Column(String(64), nullable=False, unique=True)
    group = Column(String(40), nullable=False, default="payment")
    role = Column(String(20), nullable=False, default="primary")  # primary | backup
    active = Column(Boolean, nullable=False, default=True)
    callback_timeout_s = Column(Integer, nullable=False, default=300)
    consecutive_failures = Column(Integer, nullable=False, default=0)
    streak_started_at = Column(DateTime)
    last_success_at = Column(DateTime)
    last_failure_at = Column(DateTime)
    last_failure = Column(Text)

    def to_dict(self) -> dict:
        return {"name": self.name, "group": self.group, "role": self.role, "active": self.active,
                "callback_timeout_s": self.callback_timeout_s, "consecutive_failures": self.consecutive_failures,
                "last_success_at": iso(self.last_success_at), "last_failure_at": iso(self.last_failure_at),
                "last_failure": self.last_failure}


class PaymentCallback(db.Model):
    """A payment callback we expect for an order; one that never comes counts against its connector."""

    __tablename__ = "payment_callbacks"
    id = Column(BigId, primary_key=True)
    order_id = Column(String(100), nullable=False, unique=True)
    connector = Column(String(64), nullable=False)
    due_at = Column(DateTime, nullable=False)
    state = Column(String(20), nullable=False, default="pending")  # pending | received | missed
    __table_args__ = (Index("ix_payment_callbacks_state_due", "state", "due_at"),)


class Setting(db.Model):
    """Small admin-editable settings (allowed hosts, retention days)."""

    __tablename__ = "settings"
    key = Column(String(100), primary_key=True)
    value = Column(JsonType)
