"""Condition operators one by one, typed comparison, nested groups, and the condition and route nodes."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from nodes import registry
from nodes.base import NodeError
from nodes.rules import OPERATORS, evaluate_group, evaluate_rule
from tests.nodes.fakes import FakeContext, sample_order

NOW = datetime(2026, 11, 11, 12, 0, tzinfo=UTC)
SCOPE = {"order": {"amount": 120.5, "amount_text": "99", "status": "pending", "channel": "douyin_live",
                   "tags": ["vip", "source=douyin_live/influencer"], "empty_list": [], "blank": "", "none": None,
                   "created_at": "2026-11-11T11:30:00Z", "paid_at": "2026-11-11T19:40:00+08:00",
                   "customer": {"name": "Li Lei"}, "fees": {}},
         "vars": {"margin": -0.08}, "event": {"type": "order.created"}}


def holds(field, op, value=None):
    return evaluate_rule({"field": field, "op": op, "value": value}, SCOPE, NOW)


@pytest.mark.parametrize("field, op, value, expected", [
    ("order.amount", "=", 120.5, True),
    ("order.amount", "=", "120.50", True),       # numbers compare as numbers, even written as text
    ("order.amount_text", "=", 99, True),
    ("order.status", "=", "pending", True),
    ("order.status", "!=", "paid", True),
    ("order.missing", "=", "x", False),          # a missing field equals nothing...
    ("order.missing", "!=", "x", True),          # ...and differs from everything
    ("order.amount", ">", 100, True),
    ("order.amount", ">=", 120.5, True),
    ("order.amount", "<", 100, False),
    ("order.amount", "<=", 120.5, True),
    ("order.amount_text", ">", 100, False),      # "99" is 99, not a string after "100"
    ("order.amount_text", "<", "100", True),     # two numeric texts still compare as numbers
    ("vars.margin", "<", -0.05, True),
    ("order.channel", ">", "alibaba", True),     # plain texts compare as texts
    ("order.created_at", "<", "2026-11-11T12:00:00Z", True),
    ("order.paid_at", "=", "2026-11-11T11:40:00Z", True),   # the same moment in another zone
    ("order.paid_at", "!=", "2026-11-11T19:40:00Z", True),
    ("order.paid_at", ">", "2026-11-11T11:35:00Z", True),   # 19:40+08:00 is 11:40Z: compared as times
    ("order.created_at", ">", "2026-11-11T19:00:00+08:00", True),
    ("order.status", "in", ["pending", "paid"], True),
    ("order.status", "in", ["shipped"], False),
    ("order.amount", "in", [1, 120.5], True),
    ("order.tags", "in", ["vip", "blacklist"], True),   # a list field: any of its values
    ("order.status", "not in", ["shipped", "paid"], True),
    ("order.missing", "not in", ["x"], True),
    ("order.tags", "contains", "vip", True),
    ("order.tags", "contains", "vi", False),             # list entries match whole
    ("order.channel", "contains", "live", True),         # texts match parts
    ("order.customer.name", "starts with", "Li", True),
    ("order.customer.name", "starts with", "Lei", False),
    ("order.blank", "is empty", None, True),
    ("order.none", "is empty", None, True),
    ("order.empty_list", "is empty", None, True),
    ("order.fees", "is empty", None, True),
    ("order.missing", "is empty", None, True),
    ("order.status", "is empty", None, False),
    ("order.status", "is not empty", None, True),
    ("order.amount", "between", [100, 200], True),
    ("order.amount", "between", [120.5, 120.5], True),   # both ends included
    ("order.amount", "between", [121, 200], False),
    ("order.created_at", "between", ["2026-11-11T11:00:00Z", "2026-11-11T20:00:00+08:00"], True),
    ("order.created_at", "older than", 20, True),        # 30 minutes old
    ("order.created_at", "older than", 45, False),
])
def test_operator(field, op, value, expected):
    assert holds(field, op, value) is expected


def test_every_operator_is_covered():
    covered = {"=", "!=", ">", ">=", "<", "<=", "in", "not in", "contains", "starts with", "is empty",
               "is not empty", "between", "older than"}
    assert covered == set(OPERATORS)


@pytest.mark.parametrize("field, op, value, message", [
    ("order.channel", ">", 100, "number against text"),
    ("order.amount", "<", "lots", "number against text"),
    ("order.amount", "between", [10, "x"], "number against text"),
    ("order.fees", ">", "a", "cannot order dict"),
    ("order.status", "in", "pending", "needs a list"),
    ("order.amount", "between", [1], "needs [low, high]"),
    ("order.status", "older than", 5, "needs a timestamp"),
    ("order.created_at", "older than", "soon", "needs a timestamp field and a number"),
    ("order.status", "resembles", "x", "unknown operator"),
])
def test_type_mismatch_is_an_error_not_false(field, op, value, message):
    with pytest.raises(NodeError, match=re.escape(message)):
        holds(field, op, value)


def test_nested_groups():
    """amount > 100 and (channel is taobao or tagged vip)."""
    group = {"match": "all", "rules": [
        {"field": "order.amount", "op": ">", "value": 100},
        {"match": "any", "rules": [{"field": "order.channel", "op": "=", "value": "taobao"},
                                   {"field": "order.tags", "op": "contains", "value": "vip"}]}]}
    assert evaluate_group(group, SCOPE, NOW) is True
    group["rules"][1]["rules"][1]["value"] = "blacklist"
    assert evaluate_group(group, SCOPE, NOW) is False
    group["match"] = "any"
    assert evaluate_group(group, SCOPE, NOW) is True


def test_empty_groups():
    assert evaluate_group({"match": "all", "rules": []}, SCOPE, NOW) is True
    assert evaluate_group({"match": "any", "rules": []}, SCOPE, NOW) is False


def test_condition_node_takes_true_or_false():
    condition = registry.get("condition")
    config = {"match": "all", "rules": [{"field": "order.amount", "op": ">", "value": 1000}]}
    assert condition.run(FakeContext(order=sample_order(amount=5000)), config).port == "true"
    result = condition.run(FakeContext(order=sample_order(amount=5)), config)
    assert (result.port, result.output) == ("false", {"result": False})


def test_condition_node_reads_vars_and_the_clock():
    condition = registry.get("condition")
    config = {"match": "all", "rules": [{"field": "vars.margin", "op": "<", "value": -0.05},
                                        {"field": "order.created_at", "op": "older than", "value": 2}]}
    assert condition.run(FakeContext(vars={"margin": -0.1}), config).port == "true"  # the order is 3 minutes old


def test_route_first_match_wins_else_default():
    route = registry.get("route")
    config = {"routes": [
        {"port": "finance", "match": "all", "rules": [{"field": "order.amount", "op": ">=", "value": 500}]},
        {"port": "tech", "match": "any", "rules": [{"field": "order.channel", "op": "=", "value": "app"}]},
        {"port": "vip", "match": "all", "rules": [{"field": "order.amount", "op": ">=", "value": 1000}]}],
        "default": "cs"}
    assert route.run(FakeContext(order=sample_order(amount=5000)), config).output == {"matched": 0, "port": "finance"}
    assert route.run(FakeContext(order=sample_order(channel="app")), config).port == "tech"
    assert route.run(FakeContext(order=sample_order()), config).output == {"matched": None, "port": "cs"}
