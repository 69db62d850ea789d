"""``assign``: put a task in a team queue, with a priority, an SLA due time and an escalation."""

from __future__ import annotations

from datetime import timedelta

from nodes.base import ConfigProblem, Context, NodeType, Result, scope_of
from nodes.templating import render

QUEUE = {"type": "string", "title": "Team queue", "pattern": "^[a-z0-9_-]{1,40}$",
         "examples": ["finance", "cs", "tech", "ops"],
         "description": "The team inbox the task goes to, e.g. finance, cs, tech"}
PRIORITY = {"type": "string", "title": "Priority", "enum": ["low", "normal", "high", "urgent"],
            "default": "normal"}


def run(ctx: Context, config: dict) -> Result:
    scope = scope_of(ctx)
    title = render(config["title"], scope)
    sla = config.get("sla_minutes")
    due_at = ctx.now() + timedelta(minutes=sla) if sla else None
    assignee = render(config["assignee"], scope) if config.get("assignee") else None
    task = {"queue": config["queue"], "title": title, "priority": config.get("priority", "normal"),
            "due_at": due_at.isoformat() if due_at else None, "assignee": assignee}
    details = {}
    if config.get("escalate_to"):
        # the runtime's overdue sweep reads these: who to tell, and how, once due_at has passed
        details = {"escalate_to": render(config["escalate_to"], scope),
                   "escalate_channel": config.get("escalate_channel", "in_app")}
    if ctx.dry_run:
        return Result("out", {"dry_run": True, "would_create_task": {**task, **details}})
    task_id = ctx.tasks.create(kind="task", queue=config["queue"], title=title, priority=task["priority"],
                               due_at=due_at, assignee=assignee, details=details)
    return Result("out", {"task_id": task_id, **task, **details})


def check(config: dict) -> list[ConfigProblem]:
    if config.get("escalate_to") and not config.get("sla_minutes"):
        return [ConfigProblem(("escalate_to",), "escalation needs an SLA: set SLA (minutes) so the task can be overdue")]
    return []


ASSIGN = NodeType(
    type="assign", title="Assign to team", category="human", icon="user",
    description="Creates a task in a team queue for a person to claim and resolve",
    help="The task appears in the team's inbox with the order linked. With an SLA, the due "
         "time is set; when the task is still open after it, the escalation contact is notified "
         "once (in the app or by email). The flow does not wait for the task: use Approval for that.",
    config_schema={
        "type": "object", "required": ["queue", "title"], "additionalProperties": False,
        "properties": {
            "queue": QUEUE,
            "title": {"type": "string", "title": "Task title", "minLength": 1, "format": "template",
                      "default": "Check order {{ order.id }}"},
            "assignee": {"type": "string", "title": "Assignee", "format": "template",
                         "description": "A user to give the task to; empty = whoever claims it"},
            "priority": PRIORITY,
            "sla_minutes": {"type": "integer", "title": "SLA (minutes)", "minimum": 1, "maximum": 43200,
                            "description": "The task is due this long after it is created"},
            "escalate_to": {"type": "string", "title": "Escalate to", "format": "template",
                            "description": "Team, user or email address told when the task is overdue"},
            "escalate_channel": {"type": "string", "title": "Escalate by", "enum": ["in_app", "email"],
                                 "default": "in_app"},
        },
    },
    run=run,
    check=check,
)

NODE_TYPES = [ASSIGN]
