"""The graph walk: execute a run node by node, handing every step to a recorder.

Pure Python. The recorder persists each step together with the run's position (frontier, vars,
waiting) before the next node starts, so a run killed at any point resumes from its last
recorded step. The caller supplies a context factory with the services nodes may use.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Protocol

from nodes import registry
from nodes.base import Context, NodeError, NodeType, Result, Suspend

MAX_STEPS = 1000
INLINE_BACKOFF_MAX_S = 2.0  # longer backoffs suspend the run instead of holding the worker


@dataclass
class RunState:
    """Where a run stands; the recorder stores it with every step."""

    frontier: list[str]
    vars: dict = field(default_factory=dict)
    waiting: dict | None = None
    attempts: dict = field(default_factory=dict)
    steps_taken: int = 0


@dataclass
class StepRecord:
    seq: int  # the run's step number: unique per run, so a recorded step is never recorded twice
    node_id: str
    node_type: str
    attempt: int
    status: str  # succeeded | failed | waiting | error_port
    port: str | None
    input: dict
    output: dict
    error: str | None
    started_at: datetime
    finished_at: datetime
    duration_ms: float


@dataclass
class Outcome:
    status: str  # succeeded | failed | waiting
    error: str | None = None
    failed_node: str | None = None
    suspend: Suspend | None = None


class Recorder(Protocol):
    """Stores a step with the run's position (frontier, vars, waiting) as one unit."""

    def save_step(self, step: StepRecord, state: RunState) -> None: ...
    def resolve_waiting(self, seq: int, port: str, output: dict, state: RunState) -> None: ...


class Graph:
    def __init__(self, definition: dict):
        self.nodes = {n["id"]: n for n in definition["nodes"]}
        self.next: dict[tuple[str, str], list[str]] = {}
        for edge in definition["edges"]:
            self.next.setdefault((edge["from"], edge.get("port", "out")), []).append(edge["to"])
        trigger_types = registry.trigger_types()
        self.trigger = next(n["id"] for n in definition["nodes"] if n["type"] in trigger_types)

    def successors(self, node_id: str, port: str | None) -> list[str]:
        return self.next.get((node_id, port), []) if port else []

    def has_wire(self, node_id: str, port: str) -> bool:
        return bool(self.next.get((node_id, port)))


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _push(state: RunState, nodes: list[str]) -> None:
    # the frontier is a stack: push in reverse so wires run in the order they were drawn
    state.frontier.extend(reversed(nodes))


def _record(recorder: Recorder, state: RunState, t0: float, base: dict, status: str, port: str | None,
            output: dict, message: str | None) -> None:
    elapsed = (time.perf_counter() - t0) * 1000
    recorder.save_step(StepRecord(status=status, port=port, output=output, error=message,
                                         finished_at=_utcnow(), duration_ms=elapsed, **base), state)


def resume(graph: Graph, state: RunState, recorder: Recorder, port: str, output: dict) -> None:
    """Finish the node a run is waiting on, taking ``port``; the caller then calls ``execute``."""
    waiting = state.waiting or {}
    state.waiting = None
    if waiting.get("kind") == "retry":
        state.frontier.append(waiting["node_id"])
        recorder.resolve_waiting(waiting["step"], "retry", output, state)
        return
    _push(state, graph.successors(waiting["node_id"], port))
    recorder.resolve_waiting(waiting["step"], port, output, state)


def step(graph: Graph, state: RunState, recorder: Recorder,
         make_context: Callable[[str, RunState], Context],
         sleep: Callable[[float], None] = time.sleep,
         guard: Callable[[NodeType], AbstractContextManager] = lambda node_type: nullcontext()) -> Outcome | None:
    """Execute the next node on the frontier and record it; None while the run goes on.

    ``guard(node_type)`` wraps the node's own work (the runtime passes a database savepoint for
    nodes that write, so a node that fails half-way leaves nothing behind but its failed step).
    """
    if not state.frontier:
        return Outcome("succeeded")
    if state.steps_taken >= MAX_STEPS:
        return Outcome("failed", f"run exceeded {MAX_STEPS} steps")
    node_id = state.frontier.pop()
    node = graph.nodes[node_id]
    node_type = registry.get(node["type"], node.get("version", 1))
    config = node.get("config") or {}
    ctx = make_context(node_id, state)
    attempt = state.attempts.get(node_id, 0) + 1
    started, t0 = _utcnow(), time.perf_counter()
    step_input = {"vars": dict(state.vars)}
    error: NodeError | None = None
    try:
        with guard(node_type):
            if node_type.is_trigger:
                result = Result("out", {"event_type": ctx.event.get("type"), "order_id": (ctx.order or {}).get("id")})
            else:
                result = node_type.run(ctx, config)
    except NodeError as exc:
        error, result = exc, None
    except Exception as exc:  # noqa: BLE001 - a bug in a node must fail the step, not the worker
        error, result = NodeError(f"{type(exc).__name__}: {exc}"), None
    state.steps_taken += 1
    seq = state.steps_taken
    record = partial(_record, recorder, state, t0,
                     dict(seq=seq, node_id=node_id, node_type=node["type"], attempt=attempt, input=step_input,
                          started_at=started))

    if error is None and result.suspend is None:
        state.vars.update(result.vars)
        state.attempts.pop(node_id, None)
        _push(state, graph.successors(node_id, result.port))
        record("succeeded", result.port, dict(result.output), None)
        return None

    if error is None:  # the node waits (timer, person, event)
        suspend = result.suspend
        state.waiting = {"kind": suspend.reason, "node_id": node_id, "step": seq,
                         "timeout_port": suspend.timeout_port,
                         "resume_at": suspend.resume_at.isoformat() if suspend.resume_at else None,
                         "task_id": suspend.task_id, "wait_event": suspend.wait_event}
        record("waiting", None, dict(result.output), None)
        return Outcome("waiting", suspend=suspend)

    policy = config.get("retry") or {}
    max_attempts = int(policy.get("max_attempts", 1)) if error.retryable else 1
    if attempt < max_attempts:
        backoff = float(policy.get("backoff_s", 1)) * (2 ** (attempt - 1))
        state.attempts[node_id] = attempt
        if backoff <= INLINE_BACKOFF_MAX_S:
            state.frontier.append(node_id)  # recorded with the step: a crash still retries it
            record("retrying", None, error.output, str(error))
            sleep(backoff)
            return None
        suspend = Suspend("retry", resume_at=_utcnow() + timedelta(seconds=backoff))
        state.waiting = {"kind": "retry", "node_id": node_id, "step": seq, "resume_at": suspend.resume_at.isoformat()}
        record("retrying", None, error.output, str(error))
        return Outcome("waiting", suspend=suspend)

    state.attempts.pop(node_id, None)
    if "error" in node_type.output_ports(config) and graph.has_wire(node_id, "error"):
        _push(state, graph.successors(node_id, "error"))
        record("error_port", "error", {**error.output, "error": str(error)}, str(error))
        return None
    state.frontier.append(node_id)  # a retry from the failed step starts here
    record("failed", None, error.output, str(error))
    return Outcome("failed", str(error), failed_node=node_id)


def execute(graph: Graph, state: RunState, recorder: Recorder,
            make_context: Callable[[str, RunState], Context],
            sleep: Callable[[float], None] = time.sleep) -> Outcome:
    """Walk the graph from ``state.frontier`` until it is empty, a node fails, or the run waits."""
    while True:
        outcome = step(graph, state, recorder, make_context, sleep)
        if outcome is not None:
            return outcome
