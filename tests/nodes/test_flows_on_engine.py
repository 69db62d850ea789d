"""The node types inside the real (pure) engine: the built-in templates' shapes, suspension and resume.

These check the contract between nodes and runtime/engine.py: vars flow from compute to later
nodes, Suspend makes the run wait, resuming through a port continues on that port's wires.
"""

from __future__ import annotations

import copy

import pytest

from runtime import engine
from runtime.definition import validate_flow
from runtime.engine import Graph, RunState
from tests.nodes.fakes import (
    FakeConnectors,
    FakeContext,
    FakeHttp,
    FakeNotifier,
    FakeOrders,
    FakeRecentOrders,
    FakeTasks,
    reply_with,
    sample_order,
)


class Recorder:
    def __init__(self):
        self.steps, self.resolved = [], []

    def save_step(self, step, state):
        self.steps.append(step)

    def resolve_waiting(self, seq, port, output, state):
        self.resolved.append((seq, port, output))


class World:
    """One run's shared services, handed to every node's context."""

    def __init__(self, order: dict, dry_run: bool = False, http_replies=()):
        self.order, self.dry_run = order, dry_run
        self.orders, self.http = FakeOrders({order["id"]: copy.deepcopy(order)}), FakeHttp(list(http_replies))
        self.notifier, self.tasks = FakeNotifier(), FakeTasks()
        self.services = {"recent_orders": FakeRecentOrders(), "connectors": FakeConnectors()}

    def context(self, node_id: str, state: RunState) -> FakeContext:
        return FakeContext(order=self.order, node_id=node_id, vars=state.vars, dry_run=self.dry_run,
                           orders=self.orders, http=self.http, notifier=self.notifier, tasks=self.tasks,
                           services=self.services)


def flow(nodes: list[tuple], edges: list[tuple]) -> dict:
    definition = {"schema_version": 1, "name": "t",
                  "nodes": [{"id": i, "type": t, "config": c} for i, t, c in nodes],
                  "edges": [{"from": a, "port": p, "to": b} for a, p, b in edges]}
    assert validate_flow(definition) == []
    return definition


def walk(definition: dict, world: World, state: RunState | None = None, recorder: Recorder | None = None):
    graph = Graph(definition)
    state = state or RunState(frontier=[graph.trigger])
    recorder = recorder or Recorder()
    outcome = engine.execute(graph, state, recorder, world.context, sleep=lambda s: None)
    return outcome, state, recorder


LOSS_BREAKER = flow([
    ("t", "trigger.order_event", {"events": ["order.created"]}),
    ("c", "compute", {"vars": {"margin": "profit / order.amount",
                               "profit": "order.amount - sum(order.items, item.cost * item.qty)"
                                         " - order.amount * order.fees.commission"
                                         " - coalesce(order.fees.influencer_share, 0)"
                                         " + coalesce(order.fees.shipping_subsidy, 0)"}, "round": 4}),
    ("k", "condition", {"match": "all", "rules": [{"field": "vars.margin", "op": "<", "value": -0.05}]}),
    ("h", "update_order", {"hold": True, "flag": "red", "add_tags": ["loss"]}),
    ("n", "notify", {"channel": "in_app", "to": "ops", "message": "Held {{ order.id }}: margin {{ vars.margin }}"}),
], [("t", "out", "c"), ("c", "out", "k"), ("k", "true", "h"), ("h", "out", "n")])


def test_loss_circuit_breaker_holds_a_losing_order():
    order = sample_order(amount=50, fees={"commission": 0.1, "influencer_share": 8})  # cost 40: margin -0.06
    world = World(order)
    outcome, state, recorder = walk(LOSS_BREAKER, world)
    assert outcome.status == "succeeded"
    assert [(s.node_id, s.port) for s in recorder.steps] == [("t", "out"), ("c", "out"), ("k", "true"), ("h", "out"),
                                                             ("n", "out")]
    assert state.vars == {"profit": -3, "margin": -0.06}
    assert world.orders.updates[0][1] == {"add_tags": ["loss"], "flag": "red", "hold": True}
    assert world.notifier.sent[0]["message"] == "Held A100: margin -0.06"


def test_loss_circuit_breaker_lets_a_profitable_order_pass_and_dry_runs_touch_nothing():
    world = World(sample_order(), dry_run=True)  # Refused services fail the test on any side effect
    outcome, state, recorder = walk(LOSS_BREAKER, world)
    assert outcome.status == "succeeded" and [s.port for s in recorder.steps][-1] == "false"
    assert state.vars["margin"] == 0.47


APPROVAL_FLOW = flow([
    ("t", "trigger.order_event", {"events": ["order.address_change_requested"]}),
    ("a", "approval", {"queue": "cs", "title": "Address change {{ order.id }}", "timeout_minutes": 120}),
    ("u", "update_order", {"address_from": "order.address"}),
    ("r", "notify", {"channel": "in_app", "to": "cs", "message": "rejected"}),
    ("x", "assign", {"queue": "cs", "title": "Nobody decided on {{ order.id }}"}),
], [("t", "out", "a"), ("a", "approved", "u"), ("a", "rejected", "r"), ("a", "timed_out", "x")])


@pytest.mark.parametrize("port, then", [("approved", "u"), ("rejected", "r"), ("timed_out", "x")])
def test_approval_waits_then_resumes_through_the_decision(port, then):
    world = World(sample_order())
    outcome, state, recorder = walk(APPROVAL_FLOW, world)
    assert outcome.status == "waiting" and outcome.suspend.task_id == 101
    assert state.waiting["task_id"] == 101 and state.waiting["timeout_port"] == "timed_out"
    assert [s.status for s in recorder.steps] == ["succeeded", "waiting"]

    engine.resume(Graph(APPROVAL_FLOW), state, recorder, port, {"decision": port})
    outcome, state, recorder = walk(APPROVAL_FLOW, world, state, recorder)
    assert outcome.status == "succeeded"
    assert recorder.resolved[0][1] == port and recorder.steps[-1].node_id == then


def test_wait_for_an_event_then_time_out():
    definition = flow([
        ("t", "trigger.order_event", {"events": ["payment.succeeded"]}),
        ("w", "wait", {"event": "order.packed", "timeout_minutes": 60}),
        ("ok", "update_order", {"add_tags": ["packed-in-time"]}),
        ("late", "update_order", {"flag": "orange"}),
    ], [("t", "out", "w"), ("w", "out", "ok"), ("w", "timed_out", "late")])
    world = World(sample_order())
    outcome, state, recorder = walk(definition, world)
    assert outcome.status == "waiting" and state.waiting["wait_event"] == "order.packed"
    engine.resume(Graph(definition), state, recorder, state.waiting["timeout_port"], {"timed_out": True})
    outcome, _, _ = walk(definition, world, state, recorder)
    assert outcome.status == "succeeded" and world.orders.updates[0][1] == {"flag": "orange"}


def test_call_api_retries_503_twice_then_succeeds():
    definition = flow([
        ("t", "trigger.order_event", {"events": ["order.created"]}),
        ("api", "call_api", {"url": "https://carrier.example/ship/{{ order.id }}", "response_vars": {"no": "body.no"},
                             "retry": {"max_attempts": 3, "backoff_s": 0.01, "on_status": [503]}}),
        ("tag", "update_order", {"add_tags": ["shipped"]}),
    ], [("t", "out", "api"), ("api", "out", "tag")])
    world = World(sample_order(), http_replies=[reply_with(503), reply_with(503), reply_with(200, {"no": "SF1"})])
    outcome, state, recorder = walk(definition, world)
    assert outcome.status == "succeeded"
    assert [(s.node_id, s.status, s.attempt) for s in recorder.steps][1:] == [
        ("api", "retrying", 1), ("api", "retrying", 2), ("api", "succeeded", 3), ("tag", "succeeded", 1)]
    assert state.vars == {"no": "SF1"}
    keys = {r["headers"]["Idempotency-Key"] for r in world.http.requests}
    assert keys == {"orderflow-7-api"}  # every attempt carries the same key


def test_failover_flow():
    definition = flow([
        ("t", "trigger.connector_health", {"connector": "alipay", "consecutive_failures": 3}),
        ("s", "switch_connector", {"group": "payment", "to": "backup"}),
        ("n", "notify", {"channel": "in_app", "to": "ops", "message": "{{ event.type }}: payment switched"}),
    ], [("t", "out", "s"), ("s", "out", "n")])
    world = World(sample_order())
    outcome, _, recorder = walk(definition, world)
    assert outcome.status == "succeeded" and recorder.steps[1].output["active"] == "wechat_pay"
    assert world.services["connectors"].groups["payment"]["active"] == "wechat_pay"
