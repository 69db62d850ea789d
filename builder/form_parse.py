"""Posted settings forms back into a node config, typed by the node type's JSON Schema.

The counterpart of ``builder.forms``: same names, same kinds. A value that cannot be typed (a word
in a number field, broken JSON) is kept as the raw text and reported, so the validator pins it on
the node and nothing the user typed is lost. Row edits (add, remove, move up) are applied to the
parsed config, and the form is drawn again from the result.
"""

from __future__ import annotations

import copy
import json
import math
from dataclasses import dataclass, field
from typing import Any

from werkzeug.datastructures import MultiDict

from builder.forms import MISSING, PREFIX, default_config, kind_of, pick_variant, type_of, variants_of

MAX_ROWS = 500


class BadAction(ValueError):
    """A row action naming no row of the form."""


@dataclass
class Parsed:
    config: dict
    errors: list[dict] = field(default_factory=list)  # [{"path", "message"}]: values that could not be typed
    kept: list[list] = field(default_factory=list)  # secrets left blank: keep the stored value at these keys

    def error_map(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for e in self.errors:
            out.setdefault(e["path"], []).append(e["message"])
        return out


@dataclass
class _Ctx:
    form: MultiDict
    errors: list[dict]
    kept: list[list]

    def error(self, path: str, message: str) -> None:
        self.errors.append({"path": path, "message": message})


def parse_form(schema: dict, form: MultiDict) -> Parsed:
    ctx = _Ctx(form, [], [])
    config = _object(schema, PREFIX, "$", [], ctx)
    return Parsed(config, ctx.errors, ctx.kept)


def _object(schema: dict, name: str, path: str, keys: list, ctx: _Ctx) -> dict:
    out: dict = {}
    extra = ctx.form.get(f"{name}.__extra")
    if extra is not None and extra.strip():
        try:
            loaded = json.loads(extra)
        except ValueError as exc:
            ctx.error(path, f"Other settings: not valid JSON ({exc})")
            loaded = None
        if isinstance(loaded, dict):
            out.update(loaded)
        elif loaded is not None:
            ctx.error(path, "Other settings must be a JSON object")
    required = set(schema.get("required") or ())
    for key, sub in (schema.get("properties") or {}).items():
        if isinstance(sub, dict):
            value = _value(sub, f"{name}.{key}", f"{path}.{key}", [*keys, key], key in required, ctx)
            if value is not MISSING:
                out[key] = value
    return out


def _value(schema: dict, name: str, path: str, keys: list, required: bool, ctx: _Ctx) -> Any:
    form = ctx.form
    if form.get(f"{name}.__as") == "json":
        return _json(form.get(name), path, ctx)
    kind = kind_of(schema)
    raw = form.get(name)
    if kind == "list" and raw is not None and not raw.strip():
        return _nothing(schema, required, [])
    if kind in ("text", "select", "tristate", "number", "list", "json", "loose") and (raw is None or not raw.strip()):
        return MISSING
    if kind == "text":
        return raw.strip()
    if kind == "password":
        if raw:
            return raw
        if f"{name}.__set" in form and f"{name}.__clear" not in form:
            ctx.kept.append(keys)
        return MISSING
    if kind == "number":
        return _number(raw.strip(), type_of(schema) == "integer", path, ctx)
    if kind == "checkbox":
        return name in form
    if kind == "tristate":
        return {"true": True, "false": False}.get(raw, raw)
    if kind == "select":
        return _choice(schema["enum"], raw, path, ctx)
    if kind == "multi":
        if f"{name}.__present" not in form:
            return MISSING
        chosen = set(form.getlist(name))
        values = [v for v in schema["items"]["enum"] if str(v) in chosen]
        return values or _nothing(schema, required, [])
    if kind == "list":
        return _list(schema["items"], raw, path, ctx)
    if kind == "json":
        return _json(raw, path, ctx)
    if kind == "loose":
        try:
            return json.loads(raw)
        except ValueError:
            return raw.strip()
    if kind == "object":
        if not required and f"{name}.__enabled" not in form:
            return MISSING
        return _object(schema, name, path, keys, ctx)
    if kind == "rows":
        return _rows(schema, name, path, keys, required, ctx)
    if kind == "srows":
        count = _count(name, ctx)
        if count is None:
            return MISSING
        values = [_value(schema["items"], f"{name}.{i}", f"{path}[{i}]", [*keys, i], False, ctx) for i in range(count)]
        values = [v for v in values if v is not MISSING]
        return values or _nothing(schema, required, [])
    if kind == "map":
        return _map(schema, name, path, keys, required, ctx)
    return MISSING


def _nothing(schema: dict, required: bool, empty: Any) -> Any:
    """An emptied list or table: kept empty when required or when empty is its default, else unset."""
    return empty if required or schema.get("default", MISSING) == empty else MISSING


def _number(raw: str, integer: bool, path: str, ctx: _Ctx) -> Any:
    try:
        return int(raw)
    except ValueError:
        pass
    if not integer:
        try:
            value = float(raw)
            if math.isfinite(value):
                return value
        except ValueError:
            pass
    ctx.error(path, f"{raw!r} is not {'a whole number' if integer else 'a number'}")
    return raw


def _choice(enum: list, raw: str, path: str, ctx: _Ctx) -> Any:
    for option in enum:
        if str(option) == raw:
            return option
    ctx.error(path, f"{raw!r} is not one of the choices")
    return raw


def _list(items: dict, raw: str, path: str, ctx: _Ctx) -> Any:
    parts = [p.strip() for p in raw.split(",") if p.strip()]
    if type_of(items) in ("integer", "number"):
        return [_number(p, type_of(items) == "integer", f"{path}[{i}]", ctx) for i, p in enumerate(parts)]
    return parts or MISSING


def _json(raw: str | None, path: str, ctx: _Ctx) -> Any:
    if raw is None or not raw.strip():
        return MISSING
    try:
        return json.loads(raw)
    except ValueError as exc:
        ctx.error(path, f"not valid JSON: {exc}")
        return raw


def _count(name: str, ctx: _Ctx) -> int | None:
    raw = ctx.form.get(f"{name}.__count")
    if raw is None:
        return None
    return min(int(raw), MAX_ROWS) if raw.isdigit() else 0


def _rows(schema: dict, name: str, path: str, keys: list, required: bool, ctx: _Ctx) -> Any:
    count = _count(name, ctx)
    if count is None:
        return MISSING
    variants = variants_of(schema["items"])
    rows = []
    for i in range(count):
        raw = ctx.form.get(f"{name}.{i}.__variant", "0")
        k = int(raw) if raw.isdigit() and int(raw) < len(variants) else 0
        rows.append(_object(variants[k], f"{name}.{i}", f"{path}[{i}]", [*keys, i], ctx))
    return rows or _nothing(schema, required, [])


def _map(schema: dict, name: str, path: str, keys: list, required: bool, ctx: _Ctx) -> Any:
    count = _count(name, ctx)
    if count is None:
        return MISSING
    value_schema = schema["additionalProperties"]
    out: dict = {}
    for i in range(count):
        key = (ctx.form.get(f"{name}.{i}.__key") or "").strip()
        value = _value(value_schema, f"{name}.{i}.__value", f"{path}.{key}", [*keys, key], False, ctx)
        if not key:
            if value is not MISSING:
                ctx.error(f"{path}[{i}]", "a name is needed for this value")
            continue
        if key in out:
            ctx.error(f"{path}.{key}", f"{key!r} appears twice")
            continue
        out[key] = "" if value is MISSING else value
    return out or _nothing(schema, required, {})


# ---------------------------------------------------------------- row actions


def _name_keys(name: str) -> list:
    parts = name.split(".")
    if parts[0] != PREFIX:
        raise BadAction(f"{name!r} is not a settings field")
    return [int(p) if p.isdigit() else p for p in parts[1:]]


def _locate(schema: dict, config: dict, keys: list) -> tuple[dict, Any]:
    """The schema and the value at ``keys``, choosing each row's alternative from its value."""
    value: Any = config
    for key in keys:
        if isinstance(key, int):
            if not isinstance(value, list) or key >= len(value):
                raise BadAction("no such row")
            variants = variants_of(schema.get("items") or {})
            schema, value = variants[pick_variant(variants, value[key])], value[key]
        else:
            schema = (schema.get("properties") or {}).get(key)
            if not isinstance(schema, dict) or not isinstance(value, dict):
                raise BadAction(f"no field {key!r}")
            empty = {"rows": list, "srows": list, "map": dict, "object": dict}.get(kind_of(schema))
            value = value.setdefault(key, empty()) if empty else value.get(key)
    return schema, value


def apply_action(schema: dict, config: dict, action: str) -> tuple[dict, dict[str, int]]:
    """Apply ``add:<name>[:<alternative>]``, ``remove:<name>.<i>`` or ``up:<name>.<i>``.

    Returns the new config and, for key/value lists, how many blank rows to draw (a dict cannot
    hold a row whose name is still empty).
    """
    verb, _, rest = action.partition(":")
    target, _, arg = rest.partition(":")
    config = copy.deepcopy(config)
    keys = _name_keys(target)
    if verb == "add":
        sub, container = _locate(schema, config, keys)
        if kind_of(sub) in ("map", "srows"):
            return config, {target: 1}  # a blank row is drawn, not stored: an empty value means "not set"
        if kind_of(sub) != "rows" or not isinstance(container, list):
            raise BadAction(f"{target!r} has no rows to add to")
        variants = variants_of(sub["items"])
        k = int(arg) if arg.isdigit() and int(arg) < len(variants) else 0
        container.append(default_config(variants[k]))
        return config, {}
    if verb in ("remove", "up") and keys and isinstance(keys[-1], int):
        index = keys[-1]
        sub, container = _locate(schema, config, keys[:-1])
        if isinstance(container, dict) and kind_of(sub) == "map":
            items = list(container.items())
            if index >= len(items):
                raise BadAction("no such row")
            if verb == "remove":
                del items[index]
            elif index > 0:
                items[index - 1], items[index] = items[index], items[index - 1]
            container.clear()
            container.update(items)
            return config, {}
        if not isinstance(container, list) or index >= len(container):
            if kind_of(sub) in ("srows",) and isinstance(container, list):
                return config, {}  # a blank row that was never stored: drawing again drops it
            raise BadAction("no such row")
        if verb == "remove":
            del container[index]
        elif index > 0:
            container[index - 1], container[index] = container[index], container[index - 1]
        return config, {}
    raise BadAction(f"unknown action {action!r}")
