"""runtime.flowdiff: what changed between two definitions, in the terms an operator uses."""

from __future__ import annotations

import copy

from runtime.flowdiff import SECRET_SHOWN, diff_flows, value_changes
from tests.conftest import load_flow


def test_identical_flows_are_the_same_even_with_explicit_out_ports():
    before = load_flow("high_value")
    after = copy.deepcopy(before)
    after["edges"][0]["port"] = "out"
    result = diff_flows(before, after)
    assert result["same"] is True and result["edges_added"] == [] and result["nodes_changed"] == []


def test_moves_and_renames_are_reported_apart_from_settings():
    before = load_flow("high_value")
    after = copy.deepcopy(before)
    after["nodes"][1]["ui"] = {"x": 300, "y": 80}
    after["name"] = "Renamed"
    result = diff_flows(before, after)
    assert result["same"] is True  # nothing the runtime does changed
    assert result["nodes_moved"] == ["c1"]
    assert result["meta"] == [{"path": "name", "before": "High-value review", "after": "Renamed", "kind": "changed"}]


def test_nested_setting_changes_name_their_path():
    before = load_flow("high_value")
    after = copy.deepcopy(before)
    after["nodes"][1]["config"]["rules"][0]["value"] = 2000
    after["nodes"][1]["config"]["rules"].append({"field": "order.region", "op": "=", "value": "east"})
    after["nodes"][3]["config"] = {}
    after["nodes"][3]["name"] = "Tag small ones"
    changes = {c["id"]: c["changes"] for c in diff_flows(before, after)["nodes_changed"]}
    assert changes["c1"] == [
        {"path": "config.rules[0].value", "before": 1000, "after": 2000, "kind": "changed"},
        {"path": "config.rules[1]", "after": {"field": "order.region", "op": "=", "value": "east"}, "kind": "added"}]
    assert changes["u1"] == [{"path": "name", "after": "Tag small ones", "kind": "added"},
                             {"path": "config.add_tags", "before": ["small"], "kind": "removed"}]


def test_type_changes_and_wire_changes():
    before = load_flow("high_value")
    after = copy.deepcopy(before)
    after["nodes"][2]["type"] = "notify"
    after["edges"][1] = {"from": "c1", "port": "false", "to": "a1"}
    result = diff_flows(before, after)
    assert result["nodes_changed"][0]["changes"][0] == {"path": "type", "before": "assign", "after": "notify", "kind": "changed"}
    assert result["edges_removed"] == [{"from": "c1", "port": "true", "to": "a1"}]
    assert result["edges_added"] == [{"from": "c1", "port": "false", "to": "a1"}]


def test_secrets_change_without_showing_their_values():
    before = load_flow("webhook_payment")
    after = copy.deepcopy(before)
    after["nodes"][0]["config"]["secret"] = "rotated-secret"
    change = diff_flows(before, after)["nodes_changed"][0]["changes"][0]
    assert change == {"path": "config.secret", "before": SECRET_SHOWN, "after": SECRET_SHOWN, "kind": "changed"}


def test_broken_definitions_do_not_break_the_diff():
    result = diff_flows({"nodes": "x", "edges": [1, None]}, {"nodes": [{"id": "a", "type": "assign"}, {"no": "id"}]})
    assert result["nodes_added"] == [{"id": "a", "type": "assign"}] and result["edges_removed"] == []


def test_value_changes_distinguish_types():
    assert value_changes(1, 1.0) == []  # one JSON number
    assert value_changes(True, 1) == [{"path": "$", "before": True, "after": 1, "kind": "changed"}]
    assert value_changes("1", 1)[0]["kind"] == "changed"
    assert value_changes([1, 2], [1]) == [{"path": "[1]", "before": 2, "kind": "removed"}]
