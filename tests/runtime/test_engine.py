"""The graph walk on its own: ordering, retries, the error port, suspension, and resuming after a crash."""

from __future__ import annotations

import copy
from datetime import UTC, datetime

import pytest

from nodes.base import NodeError, Result, Suspend
from runtime import engine
from runtime.engine import Graph, RunState
from tests.conftest import load_flow


class Recorder:
    """Keeps what a database recorder would commit: each step and a copy of the run's position."""

    def __init__(self, crash_after: int | None = None):
        self.steps, self.saved, self.crash_after = [], None, crash_after

    def save_step(self, step, state):
        self.steps.append(step)
        self.saved = copy.deepcopy(state)
        if self.crash_after is not None and len(self.steps) == self.crash_after:
            raise KeyboardInterrupt("worker killed")

    def resolve_waiting(self, seq, port, output, state):
        next(s for s in self.steps if s.seq == seq).port = port
        self.saved = copy.deepcopy(state)


class Orders:
    def __init__(self):
        self.changes = []

    def update(self, order_id, changes, *, reason):
        self.changes.append((order_id, dict(changes)))
        return {"id": order_id, "version": len(self.changes) + 1}


class Ctx:
    def __init__(self, node_id, state, order):
        self.run_id, self.node_id, self.dry_run = 7, node_id, False
        self.event, self.vars, self.order = {"type": "order.created"}, state.vars, order
        self.orders = Orders()

    def now(self):
        return datetime(2026, 11, 26, tzinfo=UTC)


def factory(order):
    return lambda node_id, state: Ctx(node_id, state, order)


def run(flow, order, recorder=None, state=None):
    graph = Graph(flow)
    state = state or RunState(frontier=[graph.trigger])
    recorder = recorder or Recorder()
    return engine.execute(graph, state, recorder, factory(order), sleep=lambda s: None), recorder, state


@pytest.fixture
def patched(monkeypatch):
    """Swap one registered node type's run function for a scripted one."""
    from nodes import registry

    def patch(type_name, fn):
        original = registry.REGISTRY[(type_name, 1)]
        monkeypatch.setitem(registry.REGISTRY, (type_name, 1), type(original)(**{**original.__dict__, "run": fn}))
    return patch


def test_walks_the_taken_branch_only():
    outcome, rec, _ = run(load_flow("high_value"), {"id": "A", "amount": 5})
    assert outcome.status == "succeeded"
    assert [(s.node_id, s.port, s.status) for s in rec.steps] == [
        ("t1", "out", "succeeded"), ("c1", "false", "succeeded"), ("u1", "out", "succeeded")]
    assert rec.steps[-1].output == {"changed": True, "changes": {"add_tags": ["small"]}, "order_version": 2}


def test_fan_out_runs_wires_in_drawn_order(patched):
    flow = load_flow("high_value")
    flow["edges"] = [{"from": "t1", "to": "a1"}, {"from": "t1", "to": "c1"}, {"from": "c1", "port": "true", "to": "u1"}]
    patched("assign", lambda ctx, config: Result("out", {}))
    patched("update_order", lambda ctx, config: Result("out", {}))
    _, rec, _ = run(flow, {"id": "A", "amount": 5000})
    assert [s.node_id for s in rec.steps] == ["t1", "a1", "c1", "u1"]


def test_retryable_error_is_retried_then_succeeds(patched):
    calls = []

    def flaky(ctx, config):
        calls.append(1)
        if len(calls) < 3:
            raise NodeError("503", retryable=True)
        return Result("out", {"ok": True})

    patched("assign", flaky)
    flow = load_flow("high_value")
    flow["nodes"][2]["config"]["retry"] = {"max_attempts": 3, "backoff_s": 0.01}
    outcome, rec, _ = run(flow, {"id": "A", "amount": 5000})
    assert outcome.status == "succeeded"
    assert [(s.node_id, s.status, s.attempt) for s in rec.steps][2:] == [
        ("a1", "retrying", 1), ("a1", "retrying", 2), ("a1", "succeeded", 3)]


def test_failure_without_error_wire_fails_the_run_and_keeps_the_node_for_retry(patched):
    patched("assign", lambda ctx, config: (_ for _ in ()).throw(NodeError("carrier down")))
    outcome, rec, state = run(load_flow("high_value"), {"id": "A", "amount": 5000})
    assert (outcome.status, outcome.error, outcome.failed_node) == ("failed", "carrier down", "a1")
    assert state.frontier == ["a1"] and rec.steps[-1].status == "failed"


def test_error_port_takes_over_when_wired(patched):
    flow = {"schema_version": 1, "name": "e", "nodes": [
        {"id": "t", "type": "trigger.order_event", "config": {"events": ["order.created"]}},
        {"id": "api", "type": "call_api", "config": {"url": "https://example.com"}},
        {"id": "n", "type": "notify", "config": {"message": "failed"}}],
        "edges": [{"from": "t", "to": "api"}, {"from": "api", "port": "error", "to": "n"}]}
    patched("call_api", lambda ctx, config: (_ for _ in ()).throw(NodeError("boom")))
    patched("notify", lambda ctx, config: Result("out", {"sent": True}))
    outcome, rec, _ = run(flow, {"id": "A"})
    assert outcome.status == "succeeded"
    assert [(s.node_id, s.status, s.port) for s in rec.steps] == [
        ("t", "succeeded", "out"), ("api", "error_port", "error"), ("n", "succeeded", "out")]


def test_a_bug_in_a_node_fails_the_step_not_the_worker(patched):
    patched("assign", lambda ctx, config: 1 / 0)
    outcome, rec, _ = run(load_flow("high_value"), {"id": "A", "amount": 5000})
    assert outcome.status == "failed" and "ZeroDivisionError" in rec.steps[-1].error


def test_suspend_then_resume_through_a_port(patched):
    patched("assign", lambda ctx, config: Result(None, {"task_id": 3}, suspend=Suspend("approval", task_id=3,
                                                                                         timeout_port="out")))
    graph = Graph(load_flow("high_value"))
    state = RunState(frontier=[graph.trigger])
    rec = Recorder()
    outcome = engine.execute(graph, state, rec, factory({"id": "A", "amount": 5000}))
    assert outcome.status == "waiting" and state.waiting["node_id"] == "a1" and state.waiting["task_id"] == 3
    engine.resume(graph, state, rec, "out", {"decision": "approve"})
    assert engine.execute(graph, state, rec, factory({})).status == "succeeded"
    assert rec.steps[-1].port == "out" and state.waiting is None


def test_resume_after_crash_never_repeats_a_recorded_step(patched):
    done = []
    patched("update_order", lambda ctx, config: done.append(ctx.node_id) or Result("out", {}))
    flow = load_flow("high_value")
    rec = Recorder(crash_after=2)  # the worker dies right after committing the condition's step
    with pytest.raises(KeyboardInterrupt):
        run(flow, {"id": "A", "amount": 5}, rec)
    resumed = Recorder()
    outcome, _, _ = run(flow, {"id": "A", "amount": 5}, resumed, state=copy.deepcopy(rec.saved))
    assert outcome.status == "succeeded"
    steps = rec.steps + resumed.steps
    assert [(s.seq, s.node_id) for s in steps] == [(1, "t1"), (2, "c1"), (3, "u1")]
    assert done == ["u1"]
