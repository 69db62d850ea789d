"""The safe evaluator: what formulas compute, and everything they refuse."""

from __future__ import annotations

import ast
import builtins

import pytest

from nodes.base import NodeError
from nodes.formula import MAX_LENGTH, check_formula, parse
from nodes.formula_eval import evaluate

SCOPE = {
    "order": {"amount": 99, "cost_total": 41.3, "channel": "douyin_live", "note": "abc", "hold": False,
              "paid_at": None, "qty_text": "3",
              "items": [{"sku": "A", "cost": 10, "qty": 2}, {"sku": "B", "cost": "5.5", "qty": 1}],
              "fees": {"commission": 0.12, "influencer_share": 7.5, "shipping_subsidy": 3}},
    "event": {"payload": {"rate": 0.5}},
    "vars": {"profit": 41.32},
}


def calc(source: str, scope: dict = SCOPE):
    return evaluate(parse(source), scope)


@pytest.mark.parametrize("source, expected", [
    ("1 + 2 * 3", 7),
    ("(1 + 2) * 3", 9),
    ("-order.amount + 100", 1),
    ("0.1 + 0.2", 0.3),
    ("order.amount - order.cost_total", 57.7),
    ("order.fees.commission * order.amount", 11.88),
    ("7 / 2", 3.5),
    ("-7 // 2", -4),
    ("-7 % 3", 2),
    ("2 ** 10", 1024),
    ("round(2.675, 2)", 2.68),
    ("round(-2.5)", -3),
    ("round(1234.5, -2)", 1200),
    ("abs(order.amount - 100)", 1),
    ("min(order.amount, 50, 70)", 50),
    ("max(order.amount, 150)", 150),
    ("sum(order.items, item.cost * item.qty)", 25.5),
    ("count(order.items)", 2),
    ("max(order.items[0].cost, order.items[1].cost)", 10),
    ("order.items[1]['cost'] * 2", 11),
    ("coalesce(order.fees.missing, order.paid_at, 0)", 0),
    ("coalesce(order.fees.influencer_share, 0)", 7.5),
    ("profit / order.amount", 41.32 / 99),
    ("vars.profit * 2", 82.64),
    ("event.payload.rate * 4", 2),
    ("order.qty_text * 2", 6),
    ("order.amount > 50 and order.channel == 'douyin_live'", True),
    ("not order.hold", True),
    ("0.2 if order.channel == 'douyin_live' else 0.1", 0.2),
    ("'big' if order.amount >= 1000 else 'small'", "small"),
    ("1 < order.amount <= 99", True),
    ("order.channel != 'taobao'", True),
    ("order.amount == 'abc'", False),
])
def test_computes(source, expected):
    result = calc(source)
    assert result == pytest.approx(expected) if isinstance(expected, float) else result == expected
    assert type(result) is type(expected) or isinstance(expected, float) and isinstance(result, (int, float))


def test_the_issue_profit_and_margin_example():
    """profit = price - cost - price*commission - influencer_share + subsidy; margin = profit/price."""
    profit = calc("order.amount - order.cost_total - order.amount * order.fees.commission"
                  " - order.fees.influencer_share + order.fees.shipping_subsidy")
    assert profit == 41.32  # exactly: Decimal arithmetic, no 41.319999999
    margin = calc("round(profit / order.amount, 4)", {**SCOPE, "vars": {"profit": profit}})
    assert margin == 0.4174


def test_whole_results_are_ints_and_the_rest_floats():
    assert calc("4 / 2") == 2 and isinstance(calc("4 / 2"), int)
    assert isinstance(calc("1 / 4"), float)


@pytest.mark.parametrize("source, why", [
    ("order.__class__", "'_'"),
    ("order.amount.__class__.__mro__", "'_'"),
    ("vars.__dict__", "'_'"),
    ("(1).real", "attribute access"),
    ("'abc'.upper()", "unknown function"),
    ("order.items.pop()", "unknown function"),
    ("__import__('os').system('id')", "unknown function"),
    ("open('/etc/passwd')", "unknown function"),
    ("eval('1')", "unknown function"),
    ("exec('x=1')", "unknown function"),
    ("getattr(order, 'x')", "unknown function"),
    ("_secret", "'_'"),
    ("2 ** 1000", "exponent"),
    ("lambda: 1", "lambda"),
    ("[x for x in order.items]", "comprehensions"),
    ("{'a': 1}", "dicts"),
    ("[1, 2]", "lists"),
    ("f'{order.amount}'", "f-strings"),
    ("(x := 1)", "':='"),
    ("round(1.5, ndigits=1)", "by position"),
    ("round(1, 2, 3)", "1 to 2 argument"),
    ("abs()", "1 argument"),
    ("item.cost", "inside sum"),
    ("order", "alone"),
    ("round", "is a function"),
    ("order.amount in [1, 2]", "only =="),
    ("order.amount is None", "only =="),
    ("None", "NoneType"),
    ("b'x'", "bytes"),
    ("1j", "complex"),
    ("order.items[order.amount]", "[...]"),
    ("order.items[0:2]", "[...]"),
    ("1 +", "syntax error"),
    ("", "empty"),
    ("a = 1", "syntax error"),
    ("x" * (MAX_LENGTH + 1), "characters long"),
    ("+".join(["1"] * 150), "too complex"),
    ("'" + "x" * 300 + "'", "text longer"),
])
def test_refuses(source, why):
    message = check_formula(source)
    assert message is not None and why in message, message
    with pytest.raises(ValueError):
        parse(source)


def test_refuses_non_text():
    assert "must be text" in check_formula(12)


@pytest.mark.parametrize("source, why", [
    ("order.cost_totl * 2", "order.cost_totl is missing"),
    ("order.fees.nope + 1", "order.fees.nope is missing"),
    ("margin * 2", "margin is missing"),
    ("order.note * 2", "order.note is the text 'abc', not a number"),
    ("order.channel + 1", "not a number"),
    ("order.hold + 1", "true/false, not a number"),
    ("order.paid_at + 1", "empty, not a number"),
    ("order.items + 1", "list, not a number"),
    ("order.amount / (order.amount - 99)", "division by zero"),
    ("order.amount % 0", "division by zero"),
    ("2 ** (order.amount * 2)", "exponent"),
    ("9 ** 9 ** 9", "exponent"),
    ("(order.amount).real + 1", "order.amount).real is missing"),
    ("10 ** 30", "too large"),
    ("order.amount > 'abc'", "cannot compare"),
    ("order.channel > true_var", "missing"),
    ("order.channel < order.hold", "cannot order"),
    ("order.items", "gives a list"),
    ("order.fees", "gives a record"),
    ("1 if order.amount else 2", "not a condition"),
    ("sum(order.amount)", "not a list"),
    ("sum(order.items, item.sku)", "not a number"),
    ("min(order.fees.none_here)", "missing"),
    ("coalesce(order.x, order.paid_at)", "every argument"),
    ("round(1.25, 1.5)", "whole number"),
    ("(-8) ** 0.5", "cannot compute"),
])
def test_fails_clearly_at_run_time(source, why):
    assert check_formula(source) is None  # valid text: the data is what is wrong
    with pytest.raises(NodeError) as caught:
        calc(source)
    assert why in str(caught.value)


def test_never_uses_eval_or_exec(monkeypatch):
    real_compile = builtins.compile

    def forbidden(*args, **kwargs):
        raise AssertionError("eval/exec called")

    def parse_only(source, filename, mode, flags=0, *args, **kwargs):
        if not flags & ast.PyCF_ONLY_AST:
            raise AssertionError("compiled to code, not just parsed")
        return real_compile(source, filename, mode, flags, *args, **kwargs)

    monkeypatch.setattr(builtins, "eval", forbidden)
    monkeypatch.setattr(builtins, "exec", forbidden)
    monkeypatch.setattr(builtins, "compile", parse_only)
    assert calc("round(sum(order.items, item.cost * item.qty) / 3, 2)") == 8.5
    assert check_formula("a + b * 2") is None


def test_references_are_known_before_evaluation():
    assert parse("profit / order.amount + vars.fee - round(x, 1)").var_refs == {"profit", "fee", "x"}
    assert parse("sum(order.items, item.cost)").var_refs == frozenset()
