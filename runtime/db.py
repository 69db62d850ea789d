"""The database handle and the helpers every model module shares."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from functools import wraps

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import JSON, event
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Engine

# Objects stay readable after commit: a worker commits after every step of hundreds of runs, and
# expiring the whole identity map each time cost more than the SQL itself.
db = SQLAlchemy(session_options={"expire_on_commit": False})

# JSONB on PostgreSQL (indexable, compact), plain JSON text elsewhere.
JsonType = JSON().with_variant(JSONB(), "postgresql")


def _finite(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def json_dumps(value) -> str:
    """JSON for the database: NaN and Infinity (which PostgreSQL refuses, and which an outside API
    may send) become null, and anything else unusual becomes its text, so a step always stores."""
    try:
        return json.dumps(value, default=str, allow_nan=False)
    except ValueError:
        return json.dumps(_finite(value), default=str)


def engine_options(url: str) -> dict:
    options: dict = {"json_serializer": json_dumps}
    if url.startswith("sqlite"):
        return {**options, "connect_args": {"timeout": 30}}
    return {**options, "pool_pre_ping": True, "pool_size": 5, "max_overflow": 10}


def utcnow() -> datetime:
    """Naive UTC: what both SQLite and PostgreSQL 'timestamp' columns hold here."""
    return datetime.now(UTC).replace(tzinfo=None)


def iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def parse_time(value: str | datetime | None) -> datetime | None:
    """ISO-8601 (with or without zone) to naive UTC; ValueError when it is not a time."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record) -> None:
    # WAL lets the web process read while a worker writes; busy_timeout waits instead of failing.
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        # pysqlite's own transaction handling breaks SAVEPOINT; SQLAlchemy's documented fix is to
        # switch it off here and emit BEGIN ourselves (below).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()


@event.listens_for(Engine, "begin")
def _sqlite_begin(connection) -> None:
    # IMMEDIATE takes the write lock up front: a deferred transaction that reads and then writes
    # fails at once (SQLITE_BUSY_SNAPSHOT) when another process wrote meanwhile, with no waiting.
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def after_commit(callback) -> None:
    """Run ``callback`` once the current transaction commits (dropped if it rolls back).

    Jobs that read what this transaction writes (timers, resumes) must not be enqueued before
    the data they check is visible.
    """
    db.session.info.setdefault("after_commit", []).append(callback)


def _install_session_hooks() -> None:
    from sqlalchemy.orm import Session

    @event.listens_for(Session, "after_commit")
    def _run_after_commit(session) -> None:
        callbacks = session.info.pop("after_commit", [])
        for callback in callbacks:
            callback()

    @event.listens_for(Session, "after_soft_rollback")
    def _drop_after_rollback(session, previous_transaction) -> None:
        if previous_transaction.parent is None:  # the outer transaction, not a savepoint
            session.info.pop("after_commit", None)


_install_session_hooks()


def job(func):
    """RQ job functions leave a clean session behind: a worker reuses one app context for all jobs."""

    @wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except Exception:
            db.session.rollback()
            raise
        finally:
            db.session.remove()
    return wrapper
