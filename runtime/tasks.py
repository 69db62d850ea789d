"""Team queues: tasks and approvals created by flows, claimed and resolved by people."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from runtime import queues
from runtime.db import db, parse_time, utcnow
from runtime.models import Task
from runtime.orders import apply_approved_address

DECISIONS = {"approval": ("approve", "reject"), "task": ("done",)}


class TaskError(ValueError):
    pass


class TaskInbox:
    """The ``Tasks`` service a node uses; knows which run and node it creates tasks for."""

    def __init__(self, *, run_id: int | None, flow_id: int | None, node_id: str, order_id: str | None):
        self.run_id, self.flow_id, self.node_id, self.order_id = run_id, flow_id, node_id, order_id

    def create(self, *, kind: str, queue: str, title: str, priority: str, due_at: datetime | None,
               assignee: str | None = None, details: Mapping[str, Any] | None = None) -> int:
        task = Task(kind=kind, queue=queue, title=title[:500], priority=priority, due_at=parse_time(due_at),
                    assignee=assignee, details=dict(details or {}), order_id=self.order_id, run_id=self.run_id,
                    flow_id=self.flow_id, node_id=self.node_id)
        db.session.add(task)
        db.session.flush()
        return task.id


def resolve(task: Task, decision: str, comment: str | None, user: str) -> Task:
    """Close a task. An approval's decision resumes the run waiting on it."""
    if task.status != "open":
        raise TaskError(f"task {task.id} is already {task.status}")
    if decision not in DECISIONS.get(task.kind, ()):
        raise TaskError(f"decision must be one of {', '.join(DECISIONS[task.kind])} for a {task.kind}")
    updated = db.session.query(Task).filter(Task.id == task.id, Task.status == "open").update(
        {Task.status: "done", Task.decision: decision, Task.comment: comment, Task.resolved_at: utcnow(),
         Task.resolved_by: user}, synchronize_session=False)
    db.session.commit()
    db.session.refresh(task)
    if not updated:
        raise TaskError(f"task {task.id} was resolved by someone else")
    if task.kind == "approval" and (task.details or {}).get("action") == "address_change" and decision == "approve":
        apply_approved_address(task.order_id, task.details["address"], user)
        db.session.commit()
    if task.kind == "approval" and task.run_id:
        port = "approved" if decision == "approve" else "rejected"
        queues.enqueue("runtime.jobs.resume_run", task.run_id, port,
                       {"decision": decision, "comment": comment, "by": user, "task_id": task.id})
    return task
