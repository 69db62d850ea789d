"""Computing a checked formula (see nodes/formula.py for what formulas may say).

The evaluator walks the tree the checker accepted; it never calls Python's eval. Money is
computed in Decimal, so 0.1 + 0.2 is 0.3 and rounding 2.675 to 2 places gives 2.68. Every
intermediate result is bounded, and a missing field or a type mismatch fails with the field's name.
"""

from __future__ import annotations

import ast
import math
from decimal import (
    ROUND_FLOOR,
    ROUND_HALF_UP,
    Context,
    Decimal,
    DivisionByZero,
    InvalidOperation,
    Overflow,
    localcontext,
)
from typing import Any

from nodes.base import NodeError
from nodes.formula import ITEM, MAX_DIGITS, MAX_EXPONENT, Formula, field_path

MAX_MAGNITUDE = Decimal(10) ** 24
MAX_ITEMS = 10_000
# Traps turn silent infinities and NaNs into errors; precision is ample for money.
_DECIMAL = Context(prec=28, traps=[InvalidOperation, DivisionByZero, Overflow])


class FieldMissing(NodeError):
    """A field the formula reads is absent; ``coalesce`` moves on to its next argument."""


def evaluate(formula: Formula, scope: dict) -> Any:
    """The formula's value: a number (int or float), a bool, a text or None."""
    with localcontext(_DECIMAL):
        try:
            value = _Evaluator(formula.source, scope).value(formula.tree)
        except ArithmeticError as exc:  # Decimal's traps: overflow, invalid operation
            raise NodeError(f"{formula.source}: cannot compute ({type(exc).__name__})") from exc
    if isinstance(value, (list, dict)):
        raise NodeError(f"{formula.source} gives a {'list' if isinstance(value, list) else 'record'}, "
                        "not a value; use sum(...), count(...) or name one field")
    return to_plain(value)


def to_plain(value: Any) -> Any:
    """Decimal back to JSON numbers: whole values as int, the rest as float."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def round_half_up(value: Decimal, digits: int) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)


class _Evaluator:
    def __init__(self, source: str, scope: dict, item: Any = None):
        self.source, self.scope, self.item = source, scope, item

    def shown(self, node: ast.AST) -> str:
        return ast.get_source_segment(self.source, node) or "value"

    def number(self, value: Any, node: ast.AST) -> Decimal:
        value = _from_data(value)  # list entries reach here as raw JSON numbers
        if isinstance(value, Decimal):
            return value
        if isinstance(value, bool) or value is None or isinstance(value, (list, dict)):
            kind = "empty" if value is None else "true/false" if isinstance(value, bool) else type(value).__name__
            raise NodeError(f"{self.shown(node)} is {kind}, not a number")
        if isinstance(value, str):
            try:
                number = Decimal(value.strip())
            except InvalidOperation:
                raise NodeError(f"{self.shown(node)} is the text {value!r}, not a number") from None
            if not number.is_finite():
                raise NodeError(f"{self.shown(node)} is {value!r}, not a finite number")
            return number
        raise NodeError(f"{self.shown(node)} is {value!r}, not a number")

    def checked(self, result: Decimal, node: ast.AST) -> Decimal:
        if abs(result) > MAX_MAGNITUDE:
            raise NodeError(f"{self.shown(node)} is too large (above 1e24)")
        return result

    def value(self, node: ast.expr) -> Any:
        if isinstance(node, ast.Constant):
            return _from_data(node.value)
        if isinstance(node, ast.Name):  # a var computed earlier
            return self.field(["vars", node.id], node)
        if isinstance(node, (ast.Attribute, ast.Subscript)):
            return self.field(field_path(node), node)
        if isinstance(node, ast.BinOp):
            return self.binop(node)
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.Not):
                return not self.truth(node.operand)
            operand = self.number(self.value(node.operand), node.operand)
            return -operand if isinstance(node.op, ast.USub) else operand
        if isinstance(node, ast.BoolOp):
            if isinstance(node.op, ast.And):
                return all(self.truth(v) for v in node.values)
            return any(self.truth(v) for v in node.values)
        if isinstance(node, ast.Compare):
            return self.compare(node)
        if isinstance(node, ast.IfExp):
            return self.value(node.body) if self.truth(node.test) else self.value(node.orelse)
        if isinstance(node, ast.Call):
            return self.call(node)
        raise NodeError(f"{self.shown(node)} cannot be computed")  # the checker makes this unreachable

    def field(self, path: list, node: ast.AST) -> Any:
        current: Any = self.item if path[0] == ITEM else self.scope.get(path[0])
        for part in path[1:]:
            if isinstance(current, dict) and isinstance(part, str) and part in current:
                current = current[part]
            elif isinstance(current, list) and isinstance(part, int) and part < len(current):
                current = current[part]
            else:
                raise FieldMissing(f"{self.shown(node)} is missing")
        return _from_data(current)

    def truth(self, node: ast.expr) -> bool:
        value = self.value(node)
        if not isinstance(value, bool):
            raise NodeError(f"{self.shown(node)} is not a condition (true/false); compare it, e.g. x > 0")
        return value

    def binop(self, node: ast.BinOp) -> Decimal:
        a = self.number(self.value(node.left), node.left)
        b = self.number(self.value(node.right), node.right)
        op = type(node.op)
        if op in (ast.Div, ast.FloorDiv, ast.Mod) and b == 0:
            raise NodeError(f"{self.shown(node)}: division by zero ({self.shown(node.right)} is 0)")
        if op is ast.Pow and abs(b) > MAX_EXPONENT:
            raise NodeError(f"{self.shown(node)}: exponent {b} is above the limit of {MAX_EXPONENT}")
        if op is ast.Add:
            result = a + b
        elif op is ast.Sub:
            result = a - b
        elif op is ast.Mult:
            result = a * b
        elif op is ast.Div:
            result = a / b
        elif op is ast.Pow:
            result = a ** b
        else:  # Python's floor semantics, which Decimal's // and % do not follow for negatives
            quotient = (a / b).to_integral_value(rounding=ROUND_FLOOR)
            result = quotient if op is ast.FloorDiv else a - b * quotient
        return self.checked(result, node)

    def compare(self, node: ast.Compare) -> bool:
        left = self.value(node.left)
        for op, right_node in zip(node.ops, node.comparators, strict=True):
            right = self.value(right_node)
            if not _compare_pair(type(op), left, right, lambda: self.shown(node)):
                return False
            left = right
        return True

    def call(self, node: ast.Call) -> Any:
        name, args = node.func.id, node.args
        if name == "coalesce":
            for arg in args:
                try:
                    value = self.value(arg)
                except FieldMissing:
                    continue
                if value is not None:
                    return value
            raise NodeError(f"{self.shown(node)}: every argument is missing or empty")
        if name == "count":
            return Decimal(len(self.items(args[0])))
        if name == "sum":
            items = self.items(args[0])
            if len(args) == 1:
                return self.checked(sum((self.number(x, args[0]) for x in items), Decimal(0)), node)
            per_item = [_Evaluator(self.source, self.scope, item).value(args[1]) for item in items]
            return self.checked(sum((self.number(x, args[1]) for x in per_item), Decimal(0)), node)
        if name in ("min", "max"):
            if len(args) == 1:
                values = [self.number(x, args[0]) for x in self.items(args[0])]
                if not values:
                    raise NodeError(f"{self.shown(node)}: the list is empty")
            else:
                values = [self.number(self.value(a), a) for a in args]
            return min(values) if name == "min" else max(values)
        if name == "abs":
            return abs(self.number(self.value(args[0]), args[0]))
        # round
        digits = 0
        if len(args) == 2:
            d = self.number(self.value(args[1]), args[1])
            if d != d.to_integral_value() or not -MAX_DIGITS <= d <= MAX_DIGITS:
                raise NodeError(f"{self.shown(node)}: digits must be a whole number from "
                                f"-{MAX_DIGITS} to {MAX_DIGITS}")
            digits = int(d)
        return round_half_up(self.number(self.value(args[0]), args[0]), digits)

    def items(self, node: ast.expr) -> list:
        value = self.value(node)
        if not isinstance(value, list):
            raise NodeError(f"{self.shown(node)} is not a list")
        if len(value) > MAX_ITEMS:
            raise NodeError(f"{self.shown(node)} has over {MAX_ITEMS} entries")
        return value


def _from_data(value: Any) -> Any:
    """Numbers from JSON as Decimal (floats through their shortest text, so 0.1 stays 0.1)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return value
    if isinstance(value, float) and not math.isfinite(value):
        raise NodeError(f"{value} is not a finite number")
    return Decimal(value) if isinstance(value, int) else Decimal(repr(value))


def _compare_pair(op: type, left: Any, right: Any, shown) -> bool:
    if isinstance(left, Decimal) or isinstance(right, Decimal):
        a, b = _numeric(left), _numeric(right)
        if a is None or b is None:
            if op in (ast.Eq, ast.NotEq):
                return (op is ast.NotEq)
            raise NodeError(f"{shown()}: cannot compare {to_plain(left)!r} with {to_plain(right)!r} "
                            "(a number against text)")
    elif type(left) is type(right) and isinstance(left, (str, bool)) or op in (ast.Eq, ast.NotEq):
        a, b = left, right
    else:
        raise NodeError(f"{shown()}: cannot order {left!r} against {right!r}")
    if op is ast.Eq:
        return a == b
    if op is ast.NotEq:
        return a != b
    if isinstance(a, bool) or isinstance(b, bool):
        raise NodeError(f"{shown()}: true/false cannot be ordered")
    return {ast.Lt: a < b, ast.LtE: a <= b, ast.Gt: a > b, ast.GtE: a >= b}[op]


def _numeric(value: Any) -> Decimal | None:
    if isinstance(value, Decimal):
        return value
    if isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            return None
        return number if number.is_finite() else None
    return None
