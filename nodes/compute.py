"""``compute``: named formulas into ``vars`` (estimated profit, margin, fees), with rounding.

A formula may use the vars computed before it. The order comes from the formulas' references,
not from the order of the keys, because a stored definition (PostgreSQL JSONB) does not keep
key order.
"""

from __future__ import annotations

from decimal import Decimal

from nodes.base import ConfigProblem, Context, NodeError, NodeType, Result, scope_of
from nodes.formula import MAX_DIGITS, MAX_LENGTH, RESERVED, FormulaError, parse
from nodes.formula_eval import evaluate, round_half_up

VAR_NAME = r"^[A-Za-z][A-Za-z0-9_]{0,63}$"


def evaluation_order(formulas: dict[str, str]) -> list[str]:
    """Names in an order where each formula comes after the vars of this node it reads.

    A formula reading its own name reads the value from before this node (``count = count + 1``).
    Raises FormulaError on a syntax error or a cycle.
    """
    depends = {name: (parse(source).var_refs & formulas.keys()) - {name} for name, source in formulas.items()}
    ordered: list[str] = []
    placed: set[str] = set()
    while len(ordered) < len(formulas):
        ready = [n for n in formulas if n not in placed and depends[n] <= placed]
        if not ready:
            stuck = sorted(n for n in formulas if n not in placed)
            raise FormulaError(f"these formulas depend on each other in a circle: {', '.join(stuck)}")
        ordered.append(ready[0])  # one at a time keeps the written order among independent formulas
        placed.add(ready[0])
    return ordered


def run(ctx: Context, config: dict) -> Result:
    formulas = config.get("vars") or {}
    digits = config.get("round")
    try:
        order = evaluation_order(formulas)
    except FormulaError as exc:
        raise NodeError(f"compute: {exc}") from exc
    scope = scope_of(ctx)
    scope["vars"] = dict(ctx.vars)
    computed: dict = {}
    for name in order:
        try:
            value = evaluate(parse(formulas[name]), scope)
        except NodeError as exc:
            raise NodeError(f"vars.{name}: {exc}", output={"computed": computed}) from exc
        if digits is not None and isinstance(value, (int, float)) and not isinstance(value, bool):
            value = _rounded(value, digits)
        computed[name] = scope["vars"][name] = value
    return Result("out", {"vars": computed}, vars=computed)


def _rounded(value: int | float, digits: int) -> int | float:
    rounded = round_half_up(Decimal(repr(value)) if isinstance(value, float) else Decimal(value), digits)
    return int(rounded) if digits <= 0 else float(rounded)


def check(config: dict) -> list[ConfigProblem]:
    formulas = config.get("vars")
    if not isinstance(formulas, dict):
        return []
    problems = []
    for name, source in formulas.items():
        if name in RESERVED:
            problems.append(ConfigProblem(("vars", name), f"{name!r} is a reserved word; pick another name"))
        try:
            parse(source)
        except FormulaError as exc:
            problems.append(ConfigProblem(("vars", name), str(exc)))
    if not problems:
        try:
            evaluation_order(formulas)
        except FormulaError as exc:
            problems.append(ConfigProblem(("vars",), str(exc)))
    return problems


HELP = """Each line computes one value into vars, e.g.
  profit = order.amount - sum(order.items, item.cost * item.qty) - order.amount * order.fees.commission
  margin = profit / order.amount
Later steps read them as vars.profit. Use + - * / // % ** and parentheses; fields such as
order.amount or order.fees.commission; vars computed earlier by name; functions round(x, 2),
abs, min, max, sum(list) or sum(list, item.x * item.y), count(list), and coalesce(field, 0)
for a field that may be missing; comparisons and 'a if condition else b'. A missing field or
text where a number belongs fails the step with the field's name. Rounding is half up."""

COMPUTE = NodeType(
    type="compute", title="Compute", category="logic", icon="calculator",
    description="Calculates values such as estimated profit and margin into vars",
    help=HELP,
    config_schema={
        "type": "object", "required": ["vars"], "additionalProperties": False,
        "properties": {
            "vars": {"type": "object", "title": "Formulas", "minProperties": 1,
                     "description": "Name -> formula, e.g. profit -> order.amount - order.cost_total",
                     "propertyNames": {"pattern": VAR_NAME},
                     "additionalProperties": {"type": "string", "format": "formula", "minLength": 1,
                                              "maxLength": MAX_LENGTH},
                     "default": {"profit": "order.amount - sum(order.items, item.cost * item.qty)"}},
            "round": {"type": "integer", "title": "Round to decimals", "minimum": 0, "maximum": MAX_DIGITS,
                      "description": "Round every numeric result (half up); empty = keep full precision"},
        },
    },
    run=run,
    check=check,
)

NODE_TYPES = [COMPUTE]
