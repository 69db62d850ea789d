"""Dry runs: walk a draft against a sample order with every side effect refused.

Nothing is stored: steps go to an in-memory recorder, and nodes describe the request they would
send instead of sending it.
"""

from __future__ import annotations

from datetime import UTC, datetime

from nodes.base import RECENT_ORDERS
from runtime import engine
from runtime.context import RunContext
from runtime.db import iso
from runtime.definition import validate_flow
from runtime.engine import Graph, RunState, StepRecord
from runtime.orders import RecentOrders

ORDER_DEFAULTS = {"id": "DRY-RUN", "status": "pending", "tags": [], "items": [], "flags": [], "hold": False,
                  "locked": False, "version": 1}


# Lookups that only read are real in a rehearsal, so it shows the answer the live run would get.
READ_ONLY_SERVICES = {RECENT_ORDERS: RecentOrders()}


class InvalidDraft(ValueError):
    def __init__(self, problems: list[dict]):
        super().__init__(f"{len(problems)} problem(s) in the draft")
        self.problems = problems


class MemoryRecorder:
    def __init__(self):
        self.steps: list[StepRecord] = []

    def save_step(self, step: StepRecord, state: RunState) -> None:
        self.steps.append(step)

    def resolve_waiting(self, seq: int, port: str, output: dict, state: RunState) -> None:
        raise AssertionError("a dry run never resumes")


def _step_dict(step: StepRecord) -> dict:
    return {"node_id": step.node_id, "node_type": step.node_type, "status": step.status, "port": step.port,
            "attempt": step.attempt, "output": step.output, "error": step.error,
            "duration_ms": round(step.duration_ms, 3), "started_at": iso(step.started_at)}


def dry_run(definition: dict, order: dict, *, event_type: str = "order.created",
            now: datetime | None = None) -> dict:
    problems = [p.to_dict() for p in validate_flow(definition)]
    if problems:
        raise InvalidDraft(problems)
    graph = Graph(definition)
    sample = {**ORDER_DEFAULTS, **order}
    if "created_at" not in sample:
        sample["created_at"] = iso(datetime.now(UTC))
    box = {"order": sample}
    event = {"id": None, "type": event_type, "source": "dry_run", "event_id": None,
             "payload": {"type": event_type, "order": sample}, "order": sample}
    state = RunState(frontier=[graph.trigger])
    recorder = MemoryRecorder()

    def make_context(node_id: str, st: RunState) -> RunContext:
        return RunContext(run_id=None, node_id=node_id, event=event, vars=st.vars, order_box=box, dry_run=True,
                          clock=(lambda: now) if now else None, services=READ_ONLY_SERVICES)

    outcome = engine.execute(graph, state, recorder, make_context, sleep=lambda seconds: None)
    path: list[str] = []
    for step in recorder.steps:
        if step.status != "retrying" and (not path or path[-1] != step.node_id):
            path.append(step.node_id)
    return {"status": outcome.status, "error": outcome.error, "path": path,
            "steps": [_step_dict(s) for s in recorder.steps], "vars": state.vars}
