"""Team queues over HTTP: list tasks, resolve them (an approval resumes its run)."""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from builder.auth import api_auth, current_user
from builder.errors import ApiError, bad_field
from builder.json_body import parse_json_body
from builder.pagination import paginate
from runtime import tasks
from runtime.db import db
from runtime.models import Task

bp = Blueprint("tasks_api", __name__, url_prefix="/api/v1/tasks")


def tasks_query(queue: str | None, status: str | None):
    query = Task.query
    if queue:
        query = query.filter(Task.queue == queue)
    if status:
        if status not in ("open", "done"):
            raise bad_field("status", "status must be open or done")
        query = query.filter(Task.status == status)
    return query.order_by(Task.status.desc(), Task.due_at.is_(None), Task.due_at, Task.id)


@bp.get("")
@api_auth("viewer")
def list_tasks():
    return jsonify(paginate(tasks_query(request.args.get("queue"), request.args.get("status"))))


@bp.post("/<int:task_id>/resolve")
@api_auth("operator")
def resolve(task_id: int):
    task = db.session.get(Task, task_id)
    if task is None:
        raise ApiError(404, f"task {task_id} not found", [{"path": "id", "message": "unknown task id"}])
    body, _ = parse_json_body()
    if not isinstance(body, dict) or not isinstance(body.get("decision"), str):
        raise bad_field("decision", "decision is required: approve, reject or done")
    comment = body.get("comment")
    if comment is not None and not isinstance(comment, str):
        raise bad_field("comment", "comment must be a string")
    try:
        tasks.resolve(task, body["decision"], comment, current_user())
    except tasks.TaskError as exc:
        status = 409 if "already" in str(exc) or "someone else" in str(exc) else 400
        raise ApiError(status, str(exc), [{"path": "decision" if status == 400 else "status", "message": str(exc)}]) from None
    return jsonify(task.to_dict())
