"""The compute node: named formulas into vars, in dependency order, with rounding and clear errors."""

from __future__ import annotations

import pytest

from nodes import registry
from nodes.base import NodeError
from tests.nodes.fakes import FakeContext, config_errors, sample_order

COMPUTE = registry.get("compute")
PROFIT = ("order.amount - sum(order.items, item.cost * item.qty) - order.amount * order.fees.commission"
          " - order.fees.influencer_share + order.fees.shipping_subsidy")


def order_for_margin(**changes):
    return sample_order(**{"amount": 99, "items": [{"sku": "TEA-1", "qty": 1, "price": 99, "cost": 41.3}],
                           "fees": {"commission": 0.12, "influencer_share": 7.5, "shipping_subsidy": 3}, **changes})


def test_profit_and_margin_with_rounding():
    ctx = FakeContext(order=order_for_margin())
    result = COMPUTE.run(ctx, {"vars": {"profit": PROFIT, "margin": "profit / order.amount"}, "round": 2})
    assert result.port == "out"
    assert result.vars == {"profit": 41.32, "margin": 0.42}
    assert result.output == {"vars": {"profit": 41.32, "margin": 0.42}}


def test_formulas_run_in_dependency_order_whatever_the_key_order():
    """PostgreSQL's JSONB does not keep key order, so 'margin' may come back before 'profit'."""
    ctx = FakeContext(order=order_for_margin())
    config = {"vars": {"margin": "round(profit / order.amount, 4)", "loss": "margin < -0.05", "profit": PROFIT}}
    assert COMPUTE.run(ctx, config).vars == {"profit": 41.32, "margin": 0.4174, "loss": False}


def test_loss_circuit_breaker_inputs():
    ctx = FakeContext(order=order_for_margin(amount=40))
    result = COMPUTE.run(ctx, {"vars": {"profit": PROFIT, "margin": "profit / order.amount",
                                        "hold": "margin < -0.05"}, "round": 3})
    assert result.vars["profit"] == -10.6 and result.vars["margin"] == -0.265 and result.vars["hold"] is True


def test_vars_from_earlier_nodes_and_self_reference():
    ctx = FakeContext(vars={"attempt": 2, "base": 10})
    result = COMPUTE.run(ctx, {"vars": {"attempt": "attempt + 1", "double": "vars.base * 2"}})
    assert result.vars == {"attempt": 3, "double": 20}
    assert ctx.vars == {"attempt": 2, "base": 10}  # the engine merges result.vars; the node does not


def test_missing_field_names_the_var_and_the_field():
    ctx = FakeContext(order=sample_order(fees={}))
    with pytest.raises(NodeError) as caught:
        COMPUTE.run(ctx, {"vars": {"ok": "1 + 1", "share": "order.fees.influencer_share * 2"}})
    assert str(caught.value) == "vars.share: order.fees.influencer_share is missing"
    assert caught.value.output == {"computed": {"ok": 2}}
    assert not caught.value.retryable


def test_type_mismatch_is_an_error():
    ctx = FakeContext(order=sample_order(amount="n/a"))
    with pytest.raises(NodeError, match="vars.x: order.amount is the text 'n/a', not a number"):
        COMPUTE.run(ctx, {"vars": {"x": "order.amount * 2"}})


def test_a_cycle_fails_the_step():
    with pytest.raises(NodeError, match="circle: a, b"):
        COMPUTE.run(FakeContext(), {"vars": {"a": "b + 1", "b": "a + 1"}})


def test_dry_run_computes_the_same():
    config = {"vars": {"profit": PROFIT}, "round": 2}
    assert COMPUTE.run(FakeContext(order=order_for_margin(), dry_run=True), config).vars == {"profit": 41.32}


def test_round_zero_gives_whole_numbers_half_up():
    assert COMPUTE.run(FakeContext(), {"vars": {"x": "2.5", "y": "-2.5"}, "round": 0}).vars == {"x": 3, "y": -3}


def test_check_reports_syntax_errors_with_their_path():
    problems = COMPUTE.check_config({"vars": {"profit": "order.amount 2", "ok": "1", "bad": "open('x')",
                                              "tail": "order.amount -"}})
    assert [(p.path, p.message.split(":")[0]) for p in problems] == [
        (("vars", "profit"), "syntax error at column 14"), (("vars", "bad"), "unknown function open; allowed"),
        (("vars", "tail"), "syntax error")]


def test_check_reports_cycles_and_reserved_names():
    assert [p.path for p in COMPUTE.check_config({"vars": {"a": "b", "b": "a"}})] == [("vars",)]
    problems = COMPUTE.check_config({"vars": {"order": "1", "sum": "2"}})
    assert [p.path for p in problems] == [("vars", "order"), ("vars", "sum")]
    assert "reserved" in problems[0].message


def test_schema():
    assert config_errors("compute", {"vars": {}}) and config_errors("compute", {})
    assert config_errors("compute", {"vars": {"2x": "1"}})
    assert config_errors("compute", {"vars": {"x": "1"}, "round": 11})
    assert config_errors("compute", {"vars": {"x": "1"}, "round": 2}) == []
