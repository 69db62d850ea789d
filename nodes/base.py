"""The node contract: what a node type declares, what it returns, and what it may use.

A node type is a declaration (schema, ports, help) plus a ``run`` function. ``run`` talks to
the outside world only through the ``Context`` it is given, so it can be tested with a plain
object and executed by the runtime without the node knowing about databases or queues.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple, Protocol

CATEGORIES = ("trigger", "logic", "human", "action")


class NodeError(Exception):
    """A node failed; ``retryable`` lets the engine's retry policy try it again."""

    def __init__(self, message: str, *, retryable: bool = False, output: Mapping[str, Any] | None = None):
        super().__init__(message)
        self.retryable = retryable
        self.output = dict(output or {})


@dataclass(frozen=True)
class Suspend:
    """Returned instead of a port when the run must wait (timer, human, event).

    ``resume_at`` is when the runtime resumes the node with ``timeout_port``; ``task_id`` names
    a human task whose resolution resumes it earlier (``approved`` / ``rejected``); ``wait_event``
    names an event type whose arrival for the run's order resumes it earlier through ``out``.
    """

    reason: str
    resume_at: datetime | None = None
    timeout_port: str = "out"
    task_id: int | None = None
    wait_event: str | None = None


@dataclass(frozen=True)
class Result:
    port: str | None = "out"
    output: Mapping[str, Any] = field(default_factory=dict)
    vars: Mapping[str, Any] = field(default_factory=dict)
    suspend: Suspend | None = None


class Orders(Protocol):
    """Changes the run's order as a new version with an audit entry naming the run.

    ``changes`` keys: status, add_tags, remove_tags, flag, unflag, hold, and address (the complete
    new address; the node has merged the fields it changes into the current one). An address
    change of a locked order is refused with NodeError, and the refusal is written to the audit log.
    """

    def update(self, order_id: str, changes: Mapping[str, Any], *, reason: str) -> dict: ...


class Http(Protocol):
    def request(self, method: str, url: str, *, headers: Mapping[str, str], json: Any,
                timeout: float) -> HttpResponse: ...


@dataclass(frozen=True)
class HttpResponse:
    status: int
    headers: Mapping[str, str]
    body: Any
    elapsed_ms: float


class Notifier(Protocol):
    def send(self, channel: str, to: str, message: str, payload: Mapping[str, Any] | None = None) -> dict: ...


class Tasks(Protocol):
    def create(self, *, kind: str, queue: str, title: str, priority: str, due_at: datetime | None,
               assignee: str | None = None, details: Mapping[str, Any] | None = None) -> int: ...


class RecentOrders(Protocol):
    """``ctx.service("recent_orders")``: a read-only lookup for the ``dedupe`` node.

    ``similar`` answers the ids of other orders whose values at ``keys`` (paths inside the order,
    e.g. ``customer.id``, ``items``) equal this order's, compared as ``nodes.dedupe.fingerprint``
    does, and that were placed (``created_at``) in the ``window_minutes`` before this order (ties
    broken by id, so of two simultaneous orders only the later one sees the other). A read: it is
    also called in dry runs.
    """

    def similar(self, order: Mapping[str, Any], window_minutes: float, keys: list[str]) -> list[str]: ...


class Connectors(Protocol):
    """``ctx.service("connectors")``: payment channels and carriers, grouped (``payment``, ``carrier``).

    ``switch`` makes ``to`` the active connector of ``group`` and records it in the audit log with
    ``reason``; ``to`` is a connector name or ``"backup"`` (the group's designated backup). Answers
    ``{"group", "active", "previous"}``; raises NodeError for an unknown group or connector.
    Switching to the connector already active is not an error (``previous == active``).
    """

    def switch(self, group: str, to: str, reason: str) -> dict: ...


RECENT_ORDERS = "recent_orders"
CONNECTORS = "connectors"


class Context(Protocol):
    """What a running node may see and use. ``dry_run`` means: describe, never do.

    ``service(name)`` returns a named service (``RECENT_ORDERS``, ``CONNECTORS``) or raises
    NodeError when the runtime has none by that name.
    """

    run_id: int | None
    node_id: str
    dry_run: bool
    order: dict | None
    event: dict
    vars: dict
    orders: Orders
    http: Http
    notifier: Notifier
    tasks: Tasks

    def now(self) -> datetime: ...
    def secret(self, name: str) -> str | None: ...
    def service(self, name: str) -> Any: ...


def scope_of(ctx: Context) -> dict:
    """The names a field reference or template may use."""
    return {"order": ctx.order or {}, "event": ctx.event, "vars": ctx.vars,
            "run": {"id": ctx.run_id, "node_id": ctx.node_id}}


class ConfigProblem(NamedTuple):
    """A problem in a node's settings that JSON Schema cannot see (a formula, a cron line).

    ``path`` is relative to the node's ``config``: ``("vars", "profit")`` is ``config.vars.profit``.
    """

    path: tuple[str | int, ...]
    message: str


RunFn = Callable[[Context, dict], Result]
PortsFn = Callable[[dict], list[str]]
CheckFn = Callable[[dict], list[ConfigProblem]]


@dataclass(frozen=True)
class NodeType:
    type: str
    title: str
    category: str
    description: str
    config_schema: dict
    run: RunFn | None = None
    ports: tuple[str, ...] = ("out",)
    ports_from_config: PortsFn | None = None
    has_input: bool = True
    icon: str = "box"
    version: int = 1
    help: str = ""
    # Triggers: does this trigger start a run for this event?  (config, event) -> bool
    matches: Callable[[dict, dict], bool] | None = None
    # Checks beyond the schema (formulas, cron lines, time zones); see check_config
    check: CheckFn | None = None

    def __post_init__(self) -> None:
        if self.category not in CATEGORIES:
            raise ValueError(f"{self.type}: unknown category {self.category!r}")
        if self.category != "trigger" and self.run is None:
            raise ValueError(f"{self.type}: a non-trigger node needs run()")

    @property
    def is_trigger(self) -> bool:
        return self.category == "trigger"

    def output_ports(self, config: dict) -> list[str]:
        if self.ports_from_config is not None:
            return self.ports_from_config(config or {})
        return list(self.ports)

    def check_config(self, config: dict) -> list[ConfigProblem]:
        """Problems JSON Schema cannot find. Safe on any config, even one the schema refuses:
        a check skips what it cannot read, so a draft shows schema and formula errors together."""
        if self.check is None or not isinstance(config, dict):
            return []
        return list(self.check(config))

    def describe(self) -> dict:
        """The declaration as the editor and the API see it."""
        return {"type": self.type, "version": self.version, "title": self.title,
                "category": self.category, "description": self.description, "icon": self.icon,
                "help": self.help, "config_schema": self.config_schema,
                "ports": list(self.ports), "dynamic_ports": self.ports_from_config is not None,
                "has_input": self.has_input}


# Shared schema fragments: declared once, used by every node type that needs them.
FIELD_REF = {"type": "string", "title": "Field", "format": "field-ref",
             "pattern": r"^(order|event|vars)(\.[A-Za-z0-9_]+)+$",
             "description": "A field such as order.amount, order.address.city, event.payload.x or vars.profit"}

RETRY_SCHEMA = {
    "type": "object", "title": "Retry", "additionalProperties": False,
    "description": "Try again after a retryable failure, waiting longer each time",
    "properties": {
        "max_attempts": {"type": "integer", "title": "Max attempts", "minimum": 1, "maximum": 10, "default": 3},
        "backoff_s": {"type": "number", "title": "First backoff (s)", "minimum": 0, "maximum": 3600, "default": 1},
        "on_status": {"type": "array", "title": "Retry on HTTP status", "items": {"type": "integer"},
                      "default": [502, 503, 504]},
    },
}
