"""Settings forms drawn from a node type's JSON Schema, so a new node type needs no UI code.

``build_fields`` turns (schema, config) into a tree of ``Field`` objects that
``templates/editor/_fields.html`` renders; ``builder.form_parse`` reads the posted form back into
a config typed by the same schema. Input names are the config path joined by dots under ``cfg``
(``cfg.rules.0.field``); helper inputs carry a ``.__`` suffix (``cfg.rules.__count``), which no
schema property can produce. A stored value the schema cannot draw (wrong type, unknown keys) is
shown as JSON rather than dropped, so opening a form never loses what is stored.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

from nodes.fields import KNOWN_ORDER_FIELDS

PREFIX = "cfg"
MISSING: Any = type("Missing", (), {"__repr__": lambda self: "<missing>"})()
KNOWN_FIELDS_LIST = "known-fields"
SCALARS = ("string", "number", "integer", "boolean")
FORMULA_HINT = "Formula: arithmetic over fields, e.g. order.amount - order.fees.commission."
TEMPLATE_HINT = "Template: write {{ order.id }}, {{ order.amount }}, {{ vars.name }} to insert values."


@dataclass
class Field:
    kind: str  # text password number checkbox select tristate multi list srows json loose object rows map row pair
    name: str  # the input's name
    path: str  # JSON path inside the config, e.g. $.rules[0].field (problems use the same form)
    label: str
    help: str = ""
    required: bool = False
    value: Any = ""
    placeholder: str = ""
    fmt: str = ""
    hint: str = ""
    options: list[tuple[str, str]] = field(default_factory=list)
    suggestions: list[str] = field(default_factory=list)
    step: str = ""
    minimum: Any = None
    maximum: Any = None
    children: list[Field] = field(default_factory=list)
    rows: list[Field] = field(default_factory=list)
    variants: list[tuple[int, str]] = field(default_factory=list)
    variant: int = 0
    index: int = 0
    optional: bool = False
    enabled: bool = True
    is_set: bool = False
    fallback: bool = False  # drawn as JSON because the stored value does not fit the schema
    errors: list[str] = field(default_factory=list)

    @property
    def dom_id(self) -> str:
        return "f-" + self.name.replace(".", "-")


def type_of(schema: dict) -> str | None:
    t = schema.get("type")
    if isinstance(t, list):
        t = next((x for x in t if x != "null"), None)
    return t


def variants_of(items: dict) -> list[dict]:
    """The shapes an array item may take: its anyOf/oneOf alternatives, or itself."""
    alternatives = items.get("anyOf") or items.get("oneOf")
    return [v for v in alternatives if isinstance(v, dict)] if isinstance(alternatives, list) else [items]


def _object_like(schema: dict) -> bool:
    if "properties" in schema and type_of(schema) in ("object", None):
        return True
    alternatives = schema.get("anyOf") or schema.get("oneOf")
    return isinstance(alternatives, list) and all(isinstance(v, dict) and _object_like(v) for v in alternatives)


def kind_of(schema: dict) -> str:
    """How a schema is drawn. Anything not recognised becomes a JSON textarea, which fits any value."""
    if schema.get("format") == "json":
        return "json"
    t = type_of(schema)
    if "enum" in schema:
        return "select"
    if t == "string":
        return "password" if schema.get("format") == "password" else "text"
    if t in ("number", "integer"):
        return "number"
    if t == "boolean":
        return "checkbox" if "default" in schema else "tristate"
    if t == "array":
        items = schema.get("items")
        if isinstance(items, dict):
            if "enum" in items:
                return "multi"
            if type_of(items) in ("string", "number", "integer"):
                # a plain list reads best as "a, b, c"; items with a format get one input each
                return "srows" if items.get("format") not in (None, "json") else "list"
            if _object_like(items):
                return "rows"
        return "json"
    if t == "object" or (t is None and "properties" in schema):
        if schema.get("properties"):
            return "object"
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict) and (type_of(extra) in SCALARS or "enum" in extra):
            return "map"
        return "json"
    if t is None and not any(k in schema for k in ("anyOf", "oneOf", "allOf", "items", "const")):
        return "loose"
    return "json"


def pick_variant(variants: list[dict], value: Any) -> int:
    """The alternative a stored item belongs to: the first it is valid against, else the closest."""
    for i, variant in enumerate(variants):
        if Draft202012Validator(variant).is_valid(value):
            return i
    if not isinstance(value, dict):
        return 0
    scores = [(len(set(v.get("required", ())) & value.keys()) - len(set(v.get("required", ())) - value.keys()), -i)
              for i, v in enumerate(variants)]
    return -max(scores)[1]


def default_config(schema: dict) -> dict:
    """The config a freshly dropped node starts with: every default, and required objects filled."""
    out: dict = {}
    required = set(schema.get("required") or ())
    for key, sub in (schema.get("properties") or {}).items():
        if not isinstance(sub, dict):
            continue
        if "default" in sub:
            out[key] = copy.deepcopy(sub["default"])
        elif key in required and kind_of(sub) == "object":
            out[key] = default_config(sub)
    return out


def humanize(key: str) -> str:
    return key.replace("_", " ").strip().capitalize()


def loose_text(value: Any) -> str:
    """A free value as the user typed it: plain text stays plain, anything else as JSON."""
    if value is MISSING:
        return ""
    if isinstance(value, str):
        try:
            json.loads(value)
        except ValueError:
            return value
        return json.dumps(value, ensure_ascii=False)  # "123" stays a string on the way back
    return json.dumps(value, ensure_ascii=False)


def _json_text(value: Any) -> str:
    return "" if value is MISSING else json.dumps(value, indent=2, ensure_ascii=False)


def _listable(value: Any) -> bool:
    return isinstance(value, list) and all(
        isinstance(v, (str, int, float)) and not isinstance(v, bool) and "," not in str(v) and str(v).strip() == str(v)
        for v in value)


@dataclass
class _Ctx:
    errors: dict[str, list[str]]
    kept: set[str]
    extra_rows: dict[str, int]


def build_fields(schema: dict, config: dict | None, *, errors: dict[str, list[str]] | None = None,
                 kept: set[str] | None = None, extra_rows: dict[str, int] | None = None) -> list[Field]:
    """The fields of a settings form for ``config`` (a node's config) under ``schema``."""
    ctx = _Ctx(errors or {}, kept or set(), extra_rows or {})
    return _children(schema, config if isinstance(config, dict) else {}, PREFIX, "$", ctx)


def _children(schema: dict, value: dict, name: str, path: str, ctx: _Ctx) -> list[Field]:
    props = {k: s for k, s in (schema.get("properties") or {}).items() if isinstance(s, dict)}
    required = set(schema.get("required") or ())
    out = [_field(sub, value.get(key, MISSING), f"{name}.{key}", f"{path}.{key}", key, key in required, ctx)
           for key, sub in props.items()]
    unknown = {k: v for k, v in value.items() if k not in props}
    if unknown:
        out.append(Field("json", f"{name}.__extra", path, "Other settings", fallback=True,
                         help="Keys this node type does not declare; kept as they are until you remove them.",
                         value=json.dumps(unknown, indent=2, ensure_ascii=False)))
    return out


def _field(schema: dict, value: Any, name: str, path: str, key: str, required: bool, ctx: _Ctx) -> Field:
    kind = kind_of(schema)
    f = Field(kind, name, path, schema.get("title") or humanize(key), help=schema.get("description", ""),
              required=required, errors=list(ctx.errors.get(path, ())), fmt=schema.get("format", ""))
    default = schema.get("default", MISSING)
    builder = _BUILDERS.get(kind)
    if builder is None or not builder(f, schema, value, default, ctx):
        f.kind, f.fallback, f.value = "json", kind not in ("json", "loose") or f.fallback, _json_text(value)
        if default is not MISSING:
            f.placeholder = json.dumps(default, ensure_ascii=False)
    return f


def _text(f: Field, schema: dict, value: Any, default: Any, ctx: _Ctx) -> bool:
    if value is not MISSING and not isinstance(value, str):
        return False
    f.value = "" if value is MISSING else value
    examples = [str(e) for e in schema.get("examples", ()) if isinstance(e, (str, int, float))]
    f.placeholder = str(default) if default is not MISSING else (f"e.g. {examples[0]}" if examples else "")
    if f.fmt == "field-ref":
        f.suggestions = list(KNOWN_ORDER_FIELDS)
    elif examples:
        f.suggestions = examples
    if f.fmt == "template":
        f.hint = TEMPLATE_HINT
    elif f.fmt == "date-time":
        f.hint = "An ISO-8601 time, e.g. 2026-11-26T09:00:00+08:00"
    elif f.fmt == "formula":
        f.hint = FORMULA_HINT
    return True


def _password(f: Field, schema: dict, value: Any, default: Any, ctx: _Ctx) -> bool:
    if value is not MISSING and not isinstance(value, str):
        return False
    f.is_set = bool(value) if value is not MISSING else f.path in ctx.kept
    f.value = ""  # a stored secret is never sent back to the browser
    f.placeholder = "•••••• stored; type to replace" if f.is_set else ""
    return True


def _number(f: Field, schema: dict, value: Any, default: Any, ctx: _Ctx) -> bool:
    if value is not MISSING and (isinstance(value, bool) or not isinstance(value, (int, float))):
        return False
    f.value = "" if value is MISSING else str(value)
    f.placeholder = "" if default is MISSING else str(default)
    f.step = "1" if type_of(schema) == "integer" else "any"
    f.minimum, f.maximum = schema.get("minimum"), schema.get("maximum")
    return True


def _checkbox(f: Field, schema: dict, value: Any, default: Any, ctx: _Ctx) -> bool:
    if value is not MISSING and not isinstance(value, bool):
        return False
    f.value = value if value is not MISSING else bool(default)
    return True


def _tristate(f: Field, schema: dict, value: Any, default: Any, ctx: _Ctx) -> bool:
    if value is not MISSING and not isinstance(value, bool):
        return False
    f.options = [("", "(not set)"), ("true", "Yes"), ("false", "No")]
    f.value = "" if value is MISSING else ("true" if value else "false")
    return True


def _select(f: Field, schema: dict, value: Any, default: Any, ctx: _Ctx) -> bool:
    enum = schema["enum"]
    if value is not MISSING and value not in enum:
        if not isinstance(value, (str, int, float)):
            return False
        f.options.append((str(value), f"{value} (not allowed)"))
    chosen = value if value is not MISSING else default
    if default is MISSING:
        f.options.insert(0, ("", "(choose)" if f.required else "(not set)"))
    f.options += [(str(v), str(v)) for v in enum]
    f.value = "" if chosen is MISSING else str(chosen)
    return True


def _multi(f: Field, schema: dict, value: Any, default: Any, ctx: _Ctx) -> bool:
    enum = schema["items"]["enum"]
    chosen = value if value is not MISSING else (default if default is not MISSING else [])
    if not isinstance(chosen, list) or any(v not in enum for v in chosen):
        return False
    f.options = [(str(v), str(v)) for v in enum]
    f.value = [str(v) for v in chosen]
    return True


def _list(f: Field, schema: dict, value: Any, default: Any, ctx: _Ctx) -> bool:
    if value is not MISSING and not _listable(value):
        return False
    f.value = "" if value is MISSING else ", ".join(str(v) for v in value)
    f.placeholder = ", ".join(str(v) for v in default) if isinstance(default, list) else ""
    f.hint = "Separate values with commas."
    return True


def _srows(f: Field, schema: dict, value: Any, default: Any, ctx: _Ctx) -> bool:
    items = value if value is not MISSING else (default if isinstance(default, list) else [])
    if not isinstance(items, list):
        return False
    entries = [*items, *[MISSING] * ctx.extra_rows.get(f.name, 0)]
    for i, item in enumerate(entries):
        row = _field(schema["items"], MISSING if item in ("", None) else item, f"{f.name}.{i}", f"{f.path}[{i}]",
                     "item", False, ctx)
        row.label, row.index = f"{f.label} {i + 1}", i
        f.rows.append(row)
    return True


def _json(f: Field, schema: dict, value: Any, default: Any, ctx: _Ctx) -> bool:
    f.value = _json_text(value)
    f.placeholder = json.dumps(default, ensure_ascii=False) if default is not MISSING else ""
    f.hint = "JSON."
    return True


def _loose(f: Field, schema: dict, value: Any, default: Any, ctx: _Ctx) -> bool:
    f.value = loose_text(value)
    f.hint = "A number, text, or JSON such as [\"a\", \"b\"]."
    return True


def _object(f: Field, schema: dict, value: Any, default: Any, ctx: _Ctx) -> bool:
    if value is not MISSING and not isinstance(value, dict):
        return False
    f.optional = not f.required
    f.enabled = f.required or value is not MISSING
    f.children = _children(schema, value if isinstance(value, dict) else {}, f.name, f.path, ctx)
    return True


def _rows(f: Field, schema: dict, value: Any, default: Any, ctx: _Ctx) -> bool:
    items = value if value is not MISSING else (default if isinstance(default, list) else [])
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        return False
    variants = variants_of(schema["items"])
    base = schema["items"].get("title") or "item"
    f.variants = [(i, v.get("title") or base) for i, v in enumerate(variants)]
    for i, item in enumerate(items):
        k = pick_variant(variants, item)
        name, path = f"{f.name}.{i}", f"{f.path}[{i}]"
        f.rows.append(Field("row", name, path, f.variants[k][1], variant=k, index=i,
                            errors=list(ctx.errors.get(path, ())),
                            children=_children(variants[k], item, name, path, ctx)))
    return True


def _map(f: Field, schema: dict, value: Any, default: Any, ctx: _Ctx) -> bool:
    pairs = value if value is not MISSING else {}
    if not isinstance(pairs, dict):
        return False
    value_schema = schema["additionalProperties"]
    entries = [*pairs.items(), *[("", MISSING)] * ctx.extra_rows.get(f.name, 0)]
    for i, (key, item) in enumerate(entries):
        name = f"{f.name}.{i}"
        key_field = Field("text", f"{name}.__key", f"{f.path}.{key}", "Name", value=key, placeholder="name")
        value_field = _field(value_schema, item, f"{name}.__value", f"{f.path}.{key}", "value", False, ctx)
        value_field.label = value_schema.get("title") or "Value"
        f.rows.append(Field("pair", name, f"{f.path}.{key}", key, index=i, children=[key_field, value_field],
                            errors=list(ctx.errors.get(f"{f.path}.{key}", ())) if key else []))
    return True


_BUILDERS = {"text": _text, "password": _password, "number": _number, "checkbox": _checkbox,
             "tristate": _tristate, "select": _select, "multi": _multi, "list": _list, "srows": _srows, "json": _json,
             "loose": _loose, "object": _object, "rows": _rows, "map": _map}


def json_path(parts) -> str:
    path = "$"
    for p in parts:
        path += f"[{p}]" if isinstance(p, int) else f".{p}"
    return path


def config_errors(schema: dict, config: dict) -> dict[str, list[str]]:
    """Schema errors of a config keyed by the path of the field they concern (required -> that field)."""
    out: dict[str, list[str]] = {}
    for error in Draft202012Validator(schema).iter_errors(config):
        shown = best_match(error.context) if error.context else error
        parts = list(shown.absolute_path)
        if shown.validator == "required" and isinstance(shown.instance, dict):
            for key in shown.validator_value:
                if key not in shown.instance:
                    out.setdefault(json_path([*parts, key]), []).append("This field is required.")
            continue
        out.setdefault(json_path(parts), []).append(shown.message)
    return out
