"""``wait``: pause the run for a duration, until a time, or until an order event (with a timeout).

The node never sleeps: it returns a Suspend, the runtime stores the run as waiting and frees
the worker, and resumes the node's step through a port later.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from nodes.base import ConfigProblem, Context, NodeError, NodeType, Result, Suspend, scope_of
from nodes.fields import as_time
from nodes.templating import check_template, render
from nodes.triggers import TRIGGER_EVENT_TYPES

MAX_MINUTES = 60 * 24 * 366
DEFAULT_EVENT_TIMEOUT = 60 * 24


def ports(config: dict) -> list[str]:
    return ["out", "timed_out"] if config.get("event") else ["out"]


def parse_time(text: str) -> datetime:
    """An ISO-8601 time; without an offset it is taken as UTC."""
    moment = as_time(text)
    if moment is None:
        raise NodeError(f"{text!r} is not an ISO-8601 time such as 2026-11-11T09:00:00+08:00")
    return moment


def run(ctx: Context, config: dict) -> Result:
    now = ctx.now()
    if config.get("event"):
        if not ctx.order:
            raise NodeError(f"waiting for {config['event']} needs an order; this run has none")
        minutes = config.get("timeout_minutes", DEFAULT_EVENT_TIMEOUT)
        resume_at = now + timedelta(minutes=minutes)
        plan = {"event": config["event"], "timeout_minutes": minutes, "timeout_at": resume_at.isoformat()}
        if ctx.dry_run:
            return Result("out", {"dry_run": True, "would_wait": plan})
        return Result(None, {"waiting": plan},
                      suspend=Suspend(reason="wait", resume_at=resume_at, timeout_port="timed_out",
                                      wait_event=config["event"]))
    if config.get("until"):
        resume_at = parse_time(render(config["until"], scope_of(ctx)))
    elif "minutes" in config:
        resume_at = now + timedelta(minutes=config["minutes"])
    else:
        raise NodeError("wait needs minutes, until or event")
    plan = {"until": resume_at.isoformat()}
    if resume_at <= now:
        return Result("out", {"waited": False, "reason": "the time has already passed", **plan})
    if ctx.dry_run:
        return Result("out", {"dry_run": True, "would_wait": plan})
    return Result(None, {"waiting": plan}, suspend=Suspend(reason="wait", resume_at=resume_at, timeout_port="out"))


def check(config: dict) -> list[ConfigProblem]:
    until = config.get("until")
    if not isinstance(until, str) or not until.strip():
        return []
    if "{" in until:
        error = check_template(until)
        return [ConfigProblem(("until",), f"template error: {error}")] if error else []
    try:
        parse_time(until)
    except NodeError as exc:
        return [ConfigProblem(("until",), str(exc))]
    return []


WAIT = NodeType(
    type="wait", title="Wait", category="logic", icon="clock",
    description="Pauses the flow for a while, until a time, or until an order event",
    help="Give one of: minutes (e.g. 30); until, an ISO-8601 time such as 2026-11-11T09:00:00+08:00 "
         "or a template like {{ order.promised_at }} (a time already past continues at once); or an "
         "order event such as order.packed, with a timeout: the flow continues on 'out' when the "
         "event arrives for this order, or on 'timed_out'. A waiting run holds no worker. "
         "A dry run does not wait: it reports what it would do and continues on 'out'.",
    config_schema={
        "type": "object", "additionalProperties": False,
        "oneOf": [{"required": ["minutes"]}, {"required": ["until"]}, {"required": ["event"]}],
        "properties": {
            "minutes": {"type": "number", "title": "Minutes", "exclusiveMinimum": 0, "maximum": MAX_MINUTES,
                        "description": "Wait this long", "default": 30},
            "until": {"type": "string", "title": "Until", "format": "template", "minLength": 1,
                      "description": "An ISO-8601 time, or a template giving one"},
            "event": {"type": "string", "title": "Until event", "enum": list(TRIGGER_EVENT_TYPES),
                      "description": "Wait for this event of the run's order"},
            "timeout_minutes": {"type": "number", "title": "Timeout (minutes)", "exclusiveMinimum": 0,
                                "maximum": MAX_MINUTES, "default": DEFAULT_EVENT_TIMEOUT,
                                "description": "With an event: give up after this long and leave by 'timed_out'"},
        },
    },
    ports=("out", "timed_out"),
    ports_from_config=ports,
    run=run,
    check=check,
)

NODE_TYPES = [WAIT]
