"""Safe arithmetic for the ``compute`` node: a whitelist over Python's ``ast``, computed in Decimal.

What an operator may write:
  numbers        12, 0.15, 1e3            text     "douyin_live" (to compare with)
  fields         order.amount, order.fees.commission, order.items[0].price, event.payload.x,
                 vars.profit, or just ``profit`` (a var computed earlier, here or in a node before)
  arithmetic     + - * / // % ** and unary minus, parentheses
  logic          == != < <= > >=, and, or, not, ``a if condition else b``
  functions      round(x) / round(x, 2)  half-up rounding     abs(x)
                 min(a, b, ...) / max(a, b, ...), or min(list) / max(list)
                 sum(list), or sum(order.items, item.cost * item.qty): the second argument is
                 computed once per item, with ``item`` naming it          count(list)
                 coalesce(a, b, ...): the first that exists and is not null, e.g.
                 coalesce(order.fees.influencer_share, 0)

Nothing else: no attribute access outside field references, no other calls, no comprehensions,
no lambdas. This module parses and checks (never executing anything); nodes/formula_eval.py
computes a checked formula.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

MAX_LENGTH = 1000
MAX_NODES = 200
MAX_EXPONENT = 100
MAX_TEXT = 200
MAX_DIGITS = 10

ROOTS = ("order", "event", "vars")
ITEM = "item"
# name -> (fewest, most) arguments; None = no upper bound
FUNCTIONS: dict[str, tuple[int, int | None]] = {
    "round": (1, 2), "abs": (1, 1), "min": (1, None), "max": (1, None),
    "sum": (1, 2), "count": (1, 1), "coalesce": (1, None),
}
RESERVED = frozenset((*ROOTS, ITEM, *FUNCTIONS))

_BINOPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//", ast.Mod: "%", ast.Pow: "**"}
_COMPARE = {ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">="}
_REFUSED = {
    ast.Lambda: "lambda", ast.ListComp: "comprehensions", ast.SetComp: "comprehensions",
    ast.DictComp: "comprehensions", ast.GeneratorExp: "comprehensions", ast.JoinedStr: "f-strings",
    ast.NamedExpr: "':='", ast.Dict: "dicts", ast.List: "lists", ast.Tuple: "tuples", ast.Set: "sets",
    ast.Starred: "'*' unpacking", ast.Slice: "slices", ast.Await: "await",
}


class FormulaError(ValueError):
    """The formula's text is refused (syntax, a forbidden construct, a limit)."""


@dataclass(frozen=True)
class Formula:
    source: str
    tree: ast.expr
    var_refs: frozenset[str]  # vars this formula reads (bare names and vars.x)


def check_formula(source: Any) -> str | None:
    """Why ``source`` is not a valid formula, or None."""
    try:
        parse(source)
    except FormulaError as exc:
        return str(exc)
    return None


@lru_cache(maxsize=1024)
def _parse_text(source: str) -> Formula:
    if len(source) > MAX_LENGTH:
        raise FormulaError(f"formula is {len(source)} characters long; at most {MAX_LENGTH} are allowed")
    text = source.strip()
    if not text:
        raise FormulaError("formula is empty")
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        where = f" at column {exc.offset}" if exc.offset else ""
        raise FormulaError(f"syntax error{where}: {exc.msg}") from None
    except (ValueError, RecursionError, MemoryError) as exc:
        raise FormulaError(f"cannot read the formula: {exc}") from None
    size = sum(1 for _ in ast.walk(tree))
    if size > MAX_NODES:
        raise FormulaError(f"formula is too complex ({size} parts; at most {MAX_NODES})")
    refs: set[str] = set()
    _Checker(text, refs).check(tree.body, in_item=False)
    return Formula(text, tree.body, frozenset(refs))


def parse(source: Any) -> Formula:
    if not isinstance(source, str):
        raise FormulaError("a formula must be text")
    return _parse_text(source)


def field_path(node: ast.expr) -> list[str | int] | None:
    """``order.items[0].price`` as ["order", "items", 0, "price"]; None if ``node`` is no field."""
    parts: list[str | int] = []
    while True:
        if isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        elif isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant) \
                and type(node.slice.value) in (int, str):
            parts.append(node.slice.value)
            node = node.value
        elif isinstance(node, ast.Name):
            parts.append(node.id)
            return parts[::-1]
        else:
            return None


class _Checker:
    """Refuses everything not on the whitelist, before anything is evaluated."""

    def __init__(self, source: str, refs: set[str]):
        self.source, self.refs = source, refs

    def fail(self, node: ast.AST, message: str) -> FormulaError:
        column = getattr(node, "col_offset", None)
        return FormulaError(f"{message} (at column {column + 1})" if column is not None else message)

    def check(self, node: ast.expr, in_item: bool) -> None:
        if isinstance(node, ast.Constant):
            value = node.value
            if type(value) in (int, float, bool):
                return
            if isinstance(value, str):
                if len(value) > MAX_TEXT:
                    raise self.fail(node, f"text longer than {MAX_TEXT} characters")
                return
            raise self.fail(node, f"{type(value).__name__} values are not allowed")
        if isinstance(node, ast.Name):
            return self._name(node, in_item)
        if isinstance(node, (ast.Attribute, ast.Subscript)):
            return self._field(node, in_item)
        if isinstance(node, ast.BinOp):
            if type(node.op) not in _BINOPS:
                raise self.fail(node, "only + - * / // % ** are allowed")
            if isinstance(node.op, ast.Pow) and isinstance(node.right, ast.Constant) \
                    and isinstance(node.right.value, (int, float)) and abs(node.right.value) > MAX_EXPONENT:
                raise self.fail(node, f"exponent {node.right.value} is above the limit of {MAX_EXPONENT}")
            self.check(node.left, in_item)
            return self.check(node.right, in_item)
        if isinstance(node, ast.UnaryOp):
            if not isinstance(node.op, (ast.USub, ast.UAdd, ast.Not)):
                raise self.fail(node, "only -x, +x and not x are allowed")
            return self.check(node.operand, in_item)
        if isinstance(node, ast.BoolOp):
            for value in node.values:
                self.check(value, in_item)
            return None
        if isinstance(node, ast.Compare):
            if any(type(op) not in _COMPARE for op in node.ops):
                raise self.fail(node, "only == != < <= > >= compare values")
            for value in (node.left, *node.comparators):
                self.check(value, in_item)
            return None
        if isinstance(node, ast.IfExp):
            for value in (node.test, node.body, node.orelse):
                self.check(value, in_item)
            return None
        if isinstance(node, ast.Call):
            return self._call(node, in_item)
        what = _REFUSED.get(type(node), type(node).__name__)
        raise self.fail(node, f"{what} are not allowed in a formula" if what.endswith("s")
                        else f"{what} is not allowed in a formula")

    def _name(self, node: ast.Name, in_item: bool) -> None:
        name = node.id
        if name in FUNCTIONS:
            raise self.fail(node, f"{name} is a function: write {name}(...)")
        if name in ROOTS or name == ITEM:
            raise self.fail(node, f"'{name}' alone is not a value; name a field such as {name}.amount")
        if name.startswith("_"):
            raise self.fail(node, f"names starting with '_' are not allowed ({name})")
        self.refs.add(name)

    def _field(self, node: ast.expr, in_item: bool) -> None:
        path = field_path(node)
        if path is None or path[0] not in (*ROOTS, ITEM) or len(path) < 2:
            if isinstance(node, ast.Subscript):
                raise self.fail(node, "[...] is only allowed on fields, with a number or a quoted key")
            raise self.fail(node, "attribute access is only allowed on fields such as order.amount, "
                                  "event.payload.x or vars.profit")
        if path[0] == ITEM and not in_item:
            raise self.fail(node, "'item' only exists inside sum(list, ...)")
        for part in path[1:]:
            if isinstance(part, str) and part.startswith("_"):
                raise self.fail(node, f"field names starting with '_' are not allowed ({part})")
        if path[0] == "vars" and isinstance(path[1], str):
            self.refs.add(path[1])

    def _call(self, node: ast.Call, in_item: bool) -> None:
        if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
            shown = ast.get_source_segment(self.source, node.func) or "this"
            raise self.fail(node, f"unknown function {shown}; allowed: {', '.join(sorted(FUNCTIONS))}")
        name = node.func.id
        if node.keywords:
            raise self.fail(node, f"{name}() takes its arguments by position only")
        low, high = FUNCTIONS[name]
        count = len(node.args)
        if count < low or (high is not None and count > high):
            wanted = f"{low}" if low == high else f"{low} to {high}" if high else f"at least {low}"
            raise self.fail(node, f"{name}() takes {wanted} argument(s), got {count}")
        for index, arg in enumerate(node.args):
            self.check(arg, in_item=in_item or (name == "sum" and index == 1))
