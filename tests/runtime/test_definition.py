"""Flow validation: the envelope schema, each node's config schema, the graph rules; every problem located."""

from __future__ import annotations

import copy

import pytest

from runtime.definition import validate_flow
from tests.conftest import load_flow

VALID = load_flow("high_value")


def problems_of(mutate) -> list[dict]:
    flow = copy.deepcopy(VALID)
    mutate(flow)
    return [p.to_dict() for p in validate_flow(flow)]


def test_valid_flow_has_no_problems():
    assert validate_flow(VALID) == []


def test_design_example_with_known_types_is_valid():
    flow = copy.deepcopy(VALID)
    flow["nodes"][0]["ui"] = {"x": 1.5, "y": -3}
    assert validate_flow(flow) == []


@pytest.mark.parametrize("value", [None, [], "flow", 3])
def test_not_an_object(value):
    assert [p.to_dict() for p in validate_flow(value)] == [{"path": "$", "message": "a flow definition must be a JSON object"}]


def test_envelope_errors_name_the_path():
    found = problems_of(lambda f: f.pop("name"))
    assert {"path": "$", "message": "'name' is a required property"} in found
    found = problems_of(lambda f: f.update(schema_version=2))
    assert found[0]["path"] == "$.schema_version"
    found = problems_of(lambda f: f["nodes"][1].update(id="bad id!"))
    assert any(p["path"] == "$.nodes[1].id" for p in found)


def test_unknown_node_type():
    found = problems_of(lambda f: f["nodes"][2].update(type="teleport"))
    assert found == [{"path": "$.nodes[2].type", "message": "unknown node type 'teleport' version 1", "node_id": "a1"}]


def test_config_errors_carry_node_id_and_path():
    found = problems_of(lambda f: f["nodes"][1]["config"]["rules"][0].update(op="~"))
    assert found[0]["node_id"] == "c1" and found[0]["path"] == "$.nodes[1].config.rules[0]"
    found = problems_of(lambda f: f["nodes"][2]["config"].pop("queue"))
    assert found == [{"path": "$.nodes[2].config", "message": "'queue' is a required property", "node_id": "a1"}]


def test_template_syntax_error_is_a_problem():
    found = problems_of(lambda f: f["nodes"][2]["config"].update(title="Order {{ order.id "))
    assert found[0]["node_id"] == "a1" and found[0]["path"] == "$.nodes[2].config.title"
    assert "template error" in found[0]["message"]


def test_duplicate_ids():
    found = problems_of(lambda f: f["nodes"][3].update(id="a1"))
    assert {"path": "$.nodes[3].id", "message": "duplicate node id 'a1'", "node_id": "a1"} in found


def test_exactly_one_trigger():
    found = problems_of(lambda f: f["nodes"].append({"id": "t2", "type": "trigger.order_event",
                                                      "config": {"events": ["order.updated"]}}))
    assert any(p["message"] == "a flow needs exactly one trigger, found 2" and p["node_id"] == "t2" for p in found)
    found = problems_of(lambda f: f.update(nodes=f["nodes"][1:], edges=f["edges"][1:]))
    assert any(p["message"] == "a flow needs exactly one trigger, found 0" for p in found)


def test_edges_to_unknown_nodes_and_ports():
    found = problems_of(lambda f: f["edges"].append({"from": "c1", "port": "maybe", "to": "a1"}))
    assert found == [{"path": "$.edges[3].port", "message": "node 'c1' has no output port 'maybe' (ports: true, false)",
                      "node_id": "c1"}]
    found = problems_of(lambda f: f["edges"].append({"from": "c1", "port": "true", "to": "ghost"}))
    assert found == [{"path": "$.edges[3].to", "message": "edge to unknown node 'ghost'", "node_id": "c1"}]
    found = problems_of(lambda f: f["edges"].append({"from": "ghost", "to": "a1"}))
    assert found == [{"path": "$.edges[3].from", "message": "edge from unknown node 'ghost'"}]


def test_route_ports_come_from_config():
    flow = {"schema_version": 1, "name": "r", "nodes": [
        {"id": "t", "type": "trigger.order_event", "config": {"events": ["order.created"]}},
        {"id": "r", "type": "route", "config": {"routes": [{"port": "vip", "rules": []}], "default": "rest"}},
        {"id": "a", "type": "assign", "config": {"queue": "cs", "title": "x"}}],
        "edges": [{"from": "t", "to": "r"}, {"from": "r", "port": "vip", "to": "a"}]}
    assert validate_flow(flow) == []
    flow["edges"][1]["port"] = "default"
    assert validate_flow(flow)[0].message == "node 'r' has no output port 'default' (ports: vip, rest)"


def test_cycles_are_refused():
    found = problems_of(lambda f: f["edges"].append({"from": "a1", "to": "c1"}))
    assert any("cycle" in p["message"] and p["node_id"] == "a1" for p in found)


def test_wire_into_trigger_is_refused():
    found = problems_of(lambda f: f["edges"].append({"from": "a1", "to": "t1"}))
    assert any(p["message"] == "a trigger cannot have incoming wires ('t1')" for p in found)


def test_unreachable_nodes():
    found = problems_of(lambda f: f["edges"].pop())
    assert found == [{"path": "$.nodes[3]", "message": "node 'u1' cannot be reached from the trigger", "node_id": "u1"}]


def test_node_checks_beyond_the_schema_are_problems():
    flow = copy.deepcopy(VALID)
    flow["nodes"].append({"id": "k", "type": "compute", "config": {"vars": {"margin": "order.amount /"}}})
    flow["edges"].append({"from": "u1", "to": "k"})
    found = [p.to_dict() for p in validate_flow(flow)]
    assert len(found) == 1 and found[0]["node_id"] == "k" and found[0]["path"] == "$.nodes[4].config.vars.margin"
    flow["nodes"][4] = {"id": "k", "type": "trigger.schedule", "config": {"cron": "61 * * * *", "timezone": "Mars/Base"}}
    assert {p.path for p in validate_flow(flow) if p.node_id == "k"} >= {"$.nodes[4].config.cron"}


def test_webhook_payload_schema_must_be_a_schema():
    flow = {"schema_version": 1, "name": "w", "edges": [], "nodes": [
        {"id": "w", "type": "trigger.webhook", "config": {"key": "abc", "payload_schema": {"type": "nonsense"}}}]}
    found = [p.to_dict() for p in validate_flow(flow)]
    assert found[0]["node_id"] == "w" and found[0]["path"].startswith("$.nodes[0].config.payload_schema")
    flow["nodes"][0]["config"]["payload_schema"] = {"type": "object", "required": ["order"]}
    assert validate_flow(flow) == []
