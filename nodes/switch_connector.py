"""``switch_connector``: make another connector of a group active (payment channel failover)."""

from __future__ import annotations

from nodes.base import CONNECTORS, Context, NodeType, Result, scope_of
from nodes.templating import render

NAME = r"^[A-Za-z0-9_.-]{1,64}$"


def run(ctx: Context, config: dict) -> Result:
    group, to = config["group"], config.get("to", "backup")
    default_reason = f"flow run {ctx.run_id}, node {ctx.node_id}"
    reason = render(config["reason"], scope_of(ctx)) if config.get("reason") else default_reason
    if ctx.dry_run:
        return Result("out", {"dry_run": True, "would_switch": {"group": group, "to": to, "reason": reason}})
    answer = ctx.service(CONNECTORS).switch(group, to, reason)
    return Result("out", {"switched": answer.get("active") != answer.get("previous"), **answer, "reason": reason})


SWITCH_CONNECTOR = NodeType(
    type="switch_connector", title="Switch connector", category="action", icon="shuffle",
    description="Makes the backup (or a named connector) the active one of a group, e.g. payment failover",
    help="Use after a connector health trigger: 'payment' + 'backup' moves new payments to the "
         "group's backup channel. The switch is recorded in the audit log with the reason. "
         "Switching to the connector that is already active changes nothing.",
    config_schema={
        "type": "object", "required": ["group"], "additionalProperties": False,
        "properties": {
            "group": {"type": "string", "title": "Connector group", "pattern": NAME,
                      "examples": ["payment", "carrier"], "default": "payment"},
            "to": {"type": "string", "title": "Switch to", "pattern": NAME, "default": "backup",
                   "description": "'backup' for the group's backup, or a connector name such as wechat_pay"},
            "reason": {"type": "string", "title": "Reason", "format": "template",
                       "description": "Written to the audit log, e.g. {{ event.payload.connector }} failing"},
        },
    },
    run=run,
)

NODE_TYPES = [SWITCH_CONNECTOR]
