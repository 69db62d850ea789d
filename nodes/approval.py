"""``approval``: a person decides. The run waits, holding no worker, until the task is resolved.

The runtime resumes the step through ``approved`` or ``rejected`` when the task is resolved, or
through ``timed_out`` at the due time.
"""

from __future__ import annotations

from datetime import timedelta

from nodes.assign import PRIORITY, QUEUE
from nodes.base import Context, NodeType, Result, Suspend, scope_of
from nodes.templating import render

PORTS = ("approved", "rejected", "timed_out")


def run(ctx: Context, config: dict) -> Result:
    scope = scope_of(ctx)
    title = render(config["title"], scope)
    minutes = config.get("timeout_minutes")
    due_at = ctx.now() + timedelta(minutes=minutes) if minutes else None
    assignee = render(config["assignee"], scope) if config.get("assignee") else None
    details = {"message": render(config["message"], scope)} if config.get("message") else {}
    task = {"kind": "approval", "queue": config["queue"], "title": title, "assignee": assignee,
            "priority": config.get("priority", "normal"), "due_at": due_at.isoformat() if due_at else None}
    if ctx.dry_run:
        port = config.get("dry_run_port", "approved")
        return Result(port, {"dry_run": True, "would_create_task": task, "assumed": port})
    task_id = ctx.tasks.create(kind="approval", queue=config["queue"], title=title, priority=task["priority"],
                               due_at=due_at, assignee=assignee, details=details)
    return Result(None, {"task_id": task_id, **task},
                  suspend=Suspend(reason="approval", task_id=task_id, resume_at=due_at, timeout_port="timed_out"))


APPROVAL = NodeType(
    type="approval", title="Approval", category="human", icon="check-circle",
    description="Waits for a person to approve or reject, e.g. a high-value order",
    help="Creates an approval task in the team queue (or for one person). The flow continues on "
         "'approved' or 'rejected' when someone decides, or on 'timed_out' when nobody has by the "
         "timeout. Without a timeout it waits until someone decides. A dry run creates no task and "
         "continues on the port chosen under 'Dry run takes'.",
    config_schema={
        "type": "object", "required": ["queue", "title"], "additionalProperties": False,
        "properties": {
            "queue": QUEUE,
            "title": {"type": "string", "title": "Task title", "minLength": 1, "format": "template",
                      "default": "Approve order {{ order.id }} ({{ order.amount }})"},
            "message": {"type": "string", "title": "Details for the approver", "format": "template",
                        "description": "Shown on the task, e.g. why the order needs a decision"},
            "assignee": {"type": "string", "title": "Assignee", "format": "template",
                         "description": "A user who must decide; empty = anyone in the queue"},
            "priority": PRIORITY,
            "timeout_minutes": {"type": "integer", "title": "Timeout (minutes)", "minimum": 1, "maximum": 43200,
                                "description": "No decision by then: continue on 'timed_out'"},
            "dry_run_port": {"type": "string", "title": "Dry run takes", "enum": list(PORTS),
                             "default": "approved", "description": "The decision a rehearsal assumes"},
        },
    },
    ports=PORTS,
    run=run,
)

NODE_TYPES = [APPROVAL]
