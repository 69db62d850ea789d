"""``trigger.schedule``: start a flow on a cron schedule in a time zone (e.g. a daily report at 9:00).

``next_fire`` is pure, so the runtime's scheduler and the tests compute the same times.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import CroniterError, croniter

from nodes.base import ConfigProblem, NodeError, NodeType

# {"type": "schedule.tick", "payload": {"scheduled_for": <ISO time the tick was due>}}
SCHEDULE_EVENT = "schedule.tick"
DEFAULT_TIMEZONE = "UTC"


def cron_problem(cron: object) -> str | None:
    """Why ``cron`` is not a five-field cron line, or None."""
    if not isinstance(cron, str) or len(cron.split()) != 5:
        return "a cron line has five fields: minute hour day-of-month month day-of-week, e.g. 0 9 * * *"
    if not croniter.is_valid(cron):
        return f"{cron!r} is not a valid cron line"
    try:  # valid fields can still name no real day, e.g. 31 February
        croniter(cron, datetime(2000, 1, 1, tzinfo=UTC)).get_next(datetime)
    except CroniterError:
        return f"{cron!r} never fires"
    return None


def zone(name: object) -> ZoneInfo:
    if not isinstance(name, str) or not name:
        raise NodeError("the time zone must be a name such as Asia/Shanghai")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise NodeError(f"unknown time zone {name!r}; use a name such as Asia/Shanghai or UTC") from None


def next_fire(config: dict, after: datetime) -> datetime:
    """The first time strictly after ``after`` the schedule fires, in UTC.

    The cron line is read in the configured time zone, so "0 9 * * *" in Asia/Shanghai is 01:00 UTC,
    and daylight-saving shifts follow the zone. A naive ``after`` is taken as UTC.
    """
    problem = cron_problem(config.get("cron"))
    if problem:
        raise NodeError(problem)
    tz = zone(config.get("timezone") or DEFAULT_TIMEZONE)
    start = (after if after.tzinfo else after.replace(tzinfo=UTC)).astimezone(tz)
    try:
        return croniter(config["cron"], start).get_next(datetime).astimezone(UTC)
    except CroniterError as exc:
        raise NodeError(f"{config['cron']!r}: {exc}") from exc


def check(config: dict) -> list[ConfigProblem]:
    problems = []
    if "cron" in config:
        problem = cron_problem(config["cron"])
        if problem:
            problems.append(ConfigProblem(("cron",), problem))
    if "timezone" in config:
        try:
            zone(config["timezone"])
        except NodeError as exc:
            problems.append(ConfigProblem(("timezone",), str(exc)))
    return problems


SCHEDULE = NodeType(
    type="trigger.schedule", title="Schedule", category="trigger", icon="calendar",
    description="Starts on a schedule, e.g. every day at 9:00 (cron line with a time zone)",
    help="Cron fields: minute hour day-of-month month day-of-week. Examples: '0 9 * * *' every day at "
         "9:00; '*/15 * * * *' every 15 minutes; '0 18 * * 1-5' weekdays at 18:00. Times are read in "
         "the time zone given (e.g. Asia/Shanghai). A run started by a schedule has no order.",
    has_input=False,
    config_schema={
        "type": "object", "required": ["cron"], "additionalProperties": False,
        "properties": {
            "cron": {"type": "string", "title": "Cron line", "default": "0 9 * * *",
                     "description": "minute hour day-of-month month day-of-week"},
            "timezone": {"type": "string", "title": "Time zone", "default": DEFAULT_TIMEZONE,
                         "examples": ["Asia/Shanghai", "UTC", "Europe/Berlin"]},
        },
    },
    matches=lambda config, event: event.get("type") == SCHEDULE_EVENT,
    check=check,
)

NODE_TYPES = [SCHEDULE]
