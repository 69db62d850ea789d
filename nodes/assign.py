"""``assign``: put a task in a team queue, with a priority and an SLA due time."""

from __future__ import annotations

from datetime import timedelta

from nodes.base import Context, NodeType, Result, scope_of
from nodes.templating import render

QUEUE = {"type": "string", "title": "Team queue", "pattern": "^[a-z0-9_-]{1,40}$",
         "examples": ["finance", "cs", "tech", "ops"],
         "description": "The team inbox the task goes to, e.g. finance, cs, tech"}
PRIORITY = {"type": "string", "title": "Priority", "enum": ["low", "normal", "high", "urgent"],
            "default": "normal"}


def run(ctx: Context, config: dict) -> Result:
    title = render(config["title"], scope_of(ctx))
    sla = config.get("sla_minutes")
    due_at = ctx.now() + timedelta(minutes=sla) if sla else None
    task = {"queue": config["queue"], "title": title, "priority": config.get("priority", "normal"),
            "due_at": due_at.isoformat() if due_at else None}
    if ctx.dry_run:
        return Result("out", {"would_create_task": task})
    task_id = ctx.tasks.create(kind="task", queue=config["queue"], title=title,
                               priority=task["priority"], due_at=due_at,
                               details={"escalate_to": config.get("escalate_to")})
    return Result("out", {"task_id": task_id, **task})


ASSIGN = NodeType(
    type="assign", title="Assign to team", category="human", icon="user",
    description="Creates a task in a team queue for a person to claim and resolve",
    help="The task appears in the team's inbox with the order linked. With an SLA, the due "
         "time is set and overdue tasks are escalated to the escalation address.",
    config_schema={
        "type": "object", "required": ["queue", "title"], "additionalProperties": False,
        "properties": {
            "queue": QUEUE,
            "title": {"type": "string", "title": "Task title", "minLength": 1, "format": "template",
                      "default": "Check order {{ order.id }}"},
            "priority": PRIORITY,
            "sla_minutes": {"type": "integer", "title": "SLA (minutes)", "minimum": 1, "maximum": 43200},
            "escalate_to": {"type": "string", "title": "Escalate to",
                            "description": "Notified in-app when the task is overdue"},
        },
    },
    run=run,
)

NODE_TYPES = [ASSIGN]
