"""Rules of the form field-op-value, combined in nested all/any groups.

Comparison is typed: numbers compare as numbers, ISO timestamps as times, the rest as strings;
a rule comparing a number with a word is an error, not a silent False.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from nodes.base import FIELD_REF, NodeError
from nodes.fields import MISSING, as_time, resolve

OPERATORS = ("=", "!=", ">", ">=", "<", "<=", "in", "not in", "contains", "starts with",
             "is empty", "is not empty", "between", "older than")
UNARY = ("is empty", "is not empty")

RULE_SCHEMA: dict = {
    "type": "object", "title": "Rule", "required": ["field", "op"], "additionalProperties": False,
    "properties": {
        "field": FIELD_REF,
        "op": {"type": "string", "title": "Operator", "enum": list(OPERATORS), "default": "="},
        "value": {"title": "Value", "description": "A number, text, list (for in / between) or minutes (older than)"},
    },
}


def group_schema(depth: int = 2) -> dict:
    """An all/any group of rules; groups nest ``depth`` levels."""
    items: dict = RULE_SCHEMA
    if depth > 1:
        items = {"anyOf": [RULE_SCHEMA, group_schema(depth - 1)], "title": "Rule or group"}
    return {
        "type": "object", "title": "Rule group", "required": ["rules"],
        "properties": {
            "match": {"type": "string", "title": "Match", "enum": ["all", "any"], "default": "all",
                      "description": "all: every rule must hold; any: one is enough"},
            "rules": {"type": "array", "title": "Rules", "items": items, "default": []},
        },
    }


def _as_number(v: Any) -> float | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, (int, float)):
        return float(v)
    if isinstance(v, str):
        try:
            return float(v)
        except ValueError:
            return None
    return None


def _coerce_pair(left: Any, right: Any, field: str) -> tuple[Any, Any]:
    """Both sides as numbers, or both as times, or both as strings; else a type error."""
    ln, rn = _as_number(left), _as_number(right)
    if ln is not None and rn is not None:
        return ln, rn
    if isinstance(left, (int, float)) and not isinstance(left, bool) or \
            isinstance(right, (int, float)) and not isinstance(right, bool):
        raise NodeError(f"{field}: cannot compare {left!r} with {right!r} (number against text)")
    lt, rt = as_time(left), as_time(right)
    if lt is not None and rt is not None:
        return lt, rt
    if isinstance(left, (dict, list)) or isinstance(right, (dict, list)):
        raise NodeError(f"{field}: cannot order {type(left).__name__} against {type(right).__name__}")
    return str(left), str(right)


def _equal(left: Any, right: Any) -> bool:
    ln, rn = _as_number(left), _as_number(right)
    if ln is not None and rn is not None:
        return ln == rn
    lt, rt = as_time(left), as_time(right)
    if lt is not None and rt is not None:  # 19:40+08:00 and 11:40Z are the same moment
        return lt == rt
    return left == right or (isinstance(left, (str, int, float, bool)) and str(left) == str(right)
                             and not isinstance(left, bool) and not isinstance(right, bool))


def evaluate_rule(rule: dict, scope: dict, now: datetime) -> bool:
    field, op, value = rule["field"], rule["op"], rule.get("value")
    left = resolve(field, scope, MISSING)
    if op == "is empty":
        return left is MISSING or left in (None, "", [], {})
    if op == "is not empty":
        return not (left is MISSING or left in (None, "", [], {}))
    if left is MISSING or left is None:
        return op in ("!=", "not in")  # a missing field equals nothing
    if op == "=":
        return _equal(left, value)
    if op == "!=":
        return not _equal(left, value)
    if op in (">", ">=", "<", "<="):
        a, b = _coerce_pair(left, value, field)
        return {">": a > b, ">=": a >= b, "<": a < b, "<=": a <= b}[op]
    if op in ("in", "not in"):
        if not isinstance(value, list):
            raise NodeError(f"{field}: '{op}' needs a list of values")
        found = any(_equal(left, v) for v in value) or (
            isinstance(left, list) and any(_equal(x, v) for x in left for v in value))
        return found if op == "in" else not found
    if op == "contains":
        if isinstance(left, list):
            return any(_equal(x, value) for x in left)
        return str(value) in str(left)
    if op == "starts with":
        return str(left).startswith(str(value))
    if op == "between":
        if not (isinstance(value, list) and len(value) == 2):
            raise NodeError(f"{field}: 'between' needs [low, high]")
        lo, x = _coerce_pair(value[0], left, field)
        x2, hi = _coerce_pair(left, value[1], field)
        return lo <= x and x2 <= hi
    if op == "older than":
        minutes = _as_number(value)
        t = as_time(left)
        if minutes is None or t is None:
            raise NodeError(f"{field}: 'older than' needs a timestamp field and a number of minutes")
        return now - t > timedelta(minutes=minutes)
    raise NodeError(f"{field}: unknown operator {op!r}")


def evaluate_group(group: dict, scope: dict, now: datetime) -> bool:
    results = (evaluate_group(r, scope, now) if "rules" in r else evaluate_rule(r, scope, now)
               for r in group.get("rules", []))
    return all(results) if group.get("match", "all") == "all" else any(results)
