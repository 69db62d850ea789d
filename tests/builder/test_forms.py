"""Settings forms drawn from node type schemas, and posted forms read back into configs.

The round-trip tests walk every node type in the registry, so a new node type is covered the
day it is registered: whatever its schema uses must survive render -> browser submit -> parse.
"""

from __future__ import annotations

import copy
import itertools
import json

import pytest
from flask import Flask
from markupsafe import escape

from builder import ROOT, editor
from builder.form_parse import BadAction, apply_action, parse_form
from builder.forms import build_fields, default_config, kind_of, type_of, variants_of
from nodes import registry
from nodes.fields import KNOWN_ORDER_FIELDS
from tests.builder.formdata import submitted

ALL_TYPES = registry.all_types()
TYPE_IDS = [f"{t.type}@{t.version}" for t in ALL_TYPES]
_unique = itertools.count(1)


@pytest.fixture(scope="module")
def jinja():
    app = Flask(__name__, template_folder=str(ROOT / "templates"))
    with app.app_context():
        template = app.jinja_env.from_string(
            '{% import "editor/_fields.html" as ui %}{% for f in fields %}{{ ui.render(f) }}{% endfor %}')
        yield template


def render(jinja, schema: dict, config: dict, **kwargs) -> str:
    return jinja.render(fields=build_fields(schema, config, **kwargs))


def sample(schema: dict, depth: int = 0):
    """A value for every property a schema declares, of the type the schema asks for."""
    kind = kind_of(schema)
    if kind == "select":
        return schema["enum"][-1]
    if kind == "password":
        return f"secret-{next(_unique)}"
    if kind == "text":
        return f"text {depth} {{{{ order.id }}}}" if schema.get("format") == "template" else f"value-{next(_unique)}"
    if kind == "number":
        return 3 if type_of(schema) == "integer" else 2.5
    if kind in ("checkbox", "tristate"):
        return True
    if kind == "multi":
        return list(schema["items"]["enum"][:2])
    if kind == "list":
        return [7, 9] if type_of(schema["items"]) in ("integer", "number") else ["a", "b"]
    if kind == "srows":
        return ["order.amount", "order.region"]
    if kind == "json":
        return {"a": [1, "b"], "c": None}
    if kind == "loose":
        return 1000
    if kind == "object":
        return {key: sample(sub, depth + 1) for key, sub in schema["properties"].items()}
    if kind == "rows":
        return [sample(v, depth + 1) for v in variants_of(schema["items"])] if depth < 4 else []
    if kind == "map":
        return {"k1": sample(schema["additionalProperties"], depth + 1)}
    raise AssertionError(f"no sample for kind {kind}")


def with_kept(parsed, original: dict) -> dict:
    config = copy.deepcopy(parsed.config)
    for keys in parsed.kept:
        target, source = config, original
        for key in keys[:-1]:
            target, source = target.setdefault(key, {}), source[key]
        target[keys[-1]] = source[keys[-1]]
    return config


def secrets_in(schema: dict, value, found: list) -> list:
    kind = kind_of(schema)
    if kind == "password" and isinstance(value, str):
        found.append(value)
    elif kind == "object" and isinstance(value, dict):
        for key, sub in schema["properties"].items():
            secrets_in(sub, value.get(key), found)
    return found


@pytest.mark.parametrize("node_type", ALL_TYPES, ids=TYPE_IDS)
def test_every_setting_survives_render_submit_parse(jinja, node_type):
    schema = node_type.config_schema
    config = sample(schema)
    page = render(jinja, schema, config)
    parsed = parse_form(schema, submitted(page))
    assert parsed.errors == []
    assert with_kept(parsed, config) == config
    for secret in secrets_in(schema, config, []):
        assert secret not in page  # a stored secret is never sent back


@pytest.mark.parametrize("node_type", ALL_TYPES, ids=TYPE_IDS)
def test_defaults_are_drawn_and_read_back(jinja, node_type):
    schema = node_type.config_schema
    defaults = default_config(schema)
    for key, sub in schema.get("properties", {}).items():
        if "default" in sub:
            assert defaults[key] == sub["default"]
    parsed = parse_form(schema, submitted(render(jinja, schema, defaults)))
    assert parsed.config == defaults


@pytest.mark.parametrize("node_type", ALL_TYPES, ids=TYPE_IDS)
def test_labels_required_marks_and_help_text(jinja, node_type):
    schema = node_type.config_schema
    page = render(jinja, schema, {})
    required = set(schema.get("required", ()))
    for key, sub in schema.get("properties", {}).items():
        title = sub.get("title") or key.replace("_", " ").capitalize()
        assert str(escape(title)) in page
        if sub.get("description"):
            assert str(escape(sub["description"])) in page
        marker = f'data-path="$.{key}"'
        assert marker in page
        chunk = page.split(marker, 1)[1].split("data-path=", 1)[0]
        assert ('class="req"' in chunk) == (key in required), key


def test_enum_is_a_select_with_its_default_chosen(jinja):
    schema = registry.get("condition").config_schema
    page = render(jinja, schema, {})
    assert '<select id="f-cfg-match" name="cfg.match">' in page
    assert '<option value="all" selected>all</option>' in page and '<option value="any" >any</option>' in page
    assert parse_form(schema, submitted(page, **{"cfg.match": "any"})).config["match"] == "any"
    bad = parse_form(schema, submitted(page, **{"cfg.match": "most"}))
    assert bad.errors == [{"path": "$.match", "message": "'most' is not one of the choices"}]
    assert bad.config["match"] == "most"  # kept, so the validator pins it and nothing typed is lost


def test_array_of_enums_is_checkboxes(jinja):
    schema = registry.get("trigger.order_event").config_schema
    page = render(jinja, schema, {"events": ["order.created", "payment.failed"]})
    assert page.count('type="checkbox" name="cfg.events"') == len(schema["properties"]["events"]["items"]["enum"])
    assert parse_form(schema, submitted(page)).config["events"] == ["order.created", "payment.failed"]
    form = submitted(page)
    form.setlist("cfg.events", [])
    assert parse_form(schema, form).config["events"] == []  # all unticked: empty, and the validator says so


def test_condition_rules_with_nested_groups_round_trip_and_edit(jinja):
    schema = registry.get("condition").config_schema
    config = {"match": "all", "rules": [
        {"field": "order.amount", "op": ">", "value": 1000},
        {"match": "any", "rules": [{"field": "order.channel", "op": "=", "value": "taobao"},
                                   {"field": "order.tags", "op": "contains", "value": "vip"}]}]}
    page = render(jinja, schema, config)
    assert 'name="cfg.rules.1.__variant" value="1"' in page  # the second row is drawn as a group
    assert 'name="cfg.rules.1.rules.0.field"' in page
    assert parse_form(schema, submitted(page)).config == config
    added, _ = apply_action(schema, config, "add:cfg.rules.1.rules:0")
    assert added["rules"][1]["rules"][-1] == {"op": "="}
    grouped, _ = apply_action(schema, config, "add:cfg.rules:1")
    assert grouped["rules"][-1] == {"match": "all", "rules": []}
    removed, _ = apply_action(schema, config, "remove:cfg.rules.0")
    assert removed["rules"] == config["rules"][1:]
    moved, _ = apply_action(schema, config, "up:cfg.rules.1")
    assert moved["rules"] == config["rules"][::-1]
    assert config["rules"][0]["op"] == ">"  # actions never change the config they are given
    for action in ("remove:cfg.rules.9", "add:cfg.match", "explode:cfg.rules", "add:other.rules"):
        with pytest.raises(BadAction):
            apply_action(schema, config, action)


def test_field_refs_offer_the_known_order_fields(jinja):
    schema = registry.get("condition").config_schema
    page = render(jinja, schema, {"rules": [{"field": "order.amount", "op": ">", "value": 1}]})
    assert 'name="cfg.rules.0.field"' in page and 'list="known-fields"' in page
    app = Flask(__name__, template_folder=str(ROOT / "templates"))
    app.register_blueprint(editor.bp)
    with app.test_request_context():
        from flask import render_template

        whole = render_template("editor/_settings.html", flow={"id": 1}, node={"id": "c1", "type": "condition"},
                                node_type=registry.get("condition"), fields=build_fields(schema, {}), glyph="?",
                                readonly=False, config_json="{}", known_fields=KNOWN_ORDER_FIELDS,
                                known_fields_id="known-fields")
    assert '<datalist id="known-fields">' in whole
    for name in ("order.amount", "order.channel", "order.region", "order.status", "order.address.city"):
        assert f'<option value="{name}">' in whole


def test_free_values_read_as_json_or_text(jinja):
    schema = registry.get("condition").config_schema
    page = render(jinja, schema, {"rules": [{"field": "order.amount", "op": "=", "value": 1}]})
    cases = {"1000": 1000, "taobao": "taobao", '"123"': "123", '["a", "b"]': ["a", "b"], "true": True, "2.5": 2.5}
    for typed, expected in cases.items():
        config = parse_form(schema, submitted(page, **{"cfg.rules.0.value": typed})).config
        assert config["rules"][0]["value"] == expected
        again = render(jinja, schema, config)
        assert parse_form(schema, submitted(again)).config == config  # "123" stays a string


def test_numbers_are_typed_and_bad_ones_kept_with_an_error(jinja):
    schema = registry.get("trigger.order_stale").config_schema
    page = render(jinja, schema, {"status": "pending", "minutes": 15})
    assert parse_form(schema, submitted(page, **{"cfg.minutes": "30"})).config["minutes"] == 30
    parsed = parse_form(schema, submitted(page, **{"cfg.minutes": "half an hour"}))
    assert parsed.config["minutes"] == "half an hour"
    assert parsed.errors == [{"path": "$.minutes", "message": "'half an hour' is not a whole number"}]
    number = registry.get("call_api").config_schema
    page = render(jinja, number, {"url": "https://x.example"})
    assert parse_form(number, submitted(page, **{"cfg.timeout_s": "2.5"})).config["timeout_s"] == 2.5
    assert parse_form(number, submitted(page, **{"cfg.timeout_s": ""})).config.get("timeout_s") is None


def test_json_fields_and_bad_json(jinja):
    schema = registry.get("call_api").config_schema
    page = render(jinja, schema, {"url": "https://x.example", "body": {"id": "{{ order.id }}"}})
    assert "textarea" in page and "&#34;id&#34;" in page or "&quot;id&quot;" in page
    parsed = parse_form(schema, submitted(page, **{"cfg.body": '{"id": '}))
    assert parsed.config["body"] == '{"id": ' and parsed.errors[0]["path"] == "$.body"
    assert parse_form(schema, submitted(page, **{"cfg.body": "[1, 2]"})).config["body"] == [1, 2]


def test_headers_are_name_value_rows(jinja):
    schema = registry.get("call_api").config_schema
    config = {"url": "https://x.example", "headers": {"X-Shop": "taobao", "Authorization": "{{ secret('erp') }}"}}
    page = render(jinja, schema, config)
    assert 'name="cfg.headers.__count" value="2"' in page
    assert parse_form(schema, submitted(page)).config["headers"] == config["headers"]
    _, extra = apply_action(schema, config, "add:cfg.headers")
    assert extra == {"cfg.headers": 1}
    page = render(jinja, schema, config, extra_rows=extra)
    assert 'name="cfg.headers.__count" value="3"' in page
    blank = parse_form(schema, submitted(page))
    assert blank.config["headers"] == config["headers"]  # a blank row is not a header
    dup = parse_form(schema, submitted(page, **{"cfg.headers.2.__key": "X-Shop", "cfg.headers.2.__value": "jd"}))
    assert dup.errors == [{"path": "$.headers.X-Shop", "message": "'X-Shop' appears twice"}]
    nameless = parse_form(schema, submitted(page, **{"cfg.headers.2.__value": "jd"}))
    assert nameless.errors[0]["message"] == "a name is needed for this value"
    removed, _ = apply_action(schema, config, "remove:cfg.headers.0")
    assert removed["headers"] == {"Authorization": "{{ secret('erp') }}"}


def test_secrets_are_masked_kept_replaced_or_removed(jinja):
    schema = registry.get("trigger.webhook").config_schema
    config = {"key": "pay-result", "secret": "s3cret-value"}
    page = render(jinja, schema, config)
    assert "s3cret-value" not in page
    assert 'type="password"' in page and 'name="cfg.secret.__set"' in page and "stored" in page
    kept = parse_form(schema, submitted(page))
    assert "secret" not in kept.config and kept.kept == [["secret"]]
    assert parse_form(schema, submitted(page, **{"cfg.secret": "new"})).config["secret"] == "new"
    cleared = parse_form(schema, submitted(page, **{"cfg.secret.__clear": "1"}))
    assert "secret" not in cleared.config and cleared.kept == []
    fresh = render(jinja, schema, {"key": "pay-result"})
    assert "__set" not in fresh and parse_form(schema, submitted(fresh)).kept == []


def test_templates_get_a_hint(jinja):
    schema = registry.get("assign").config_schema
    page = render(jinja, schema, default_config(schema))
    assert 'data-format="template"' in page and "{{ order.id }}" in page and "Template:" in page


def test_optional_object_is_switched_on_and_off(jinja):
    schema = registry.get("call_api").config_schema
    page = render(jinja, schema, {"url": "https://x.example"})
    assert 'name="cfg.retry.__enabled"' in page
    assert "retry" not in parse_form(schema, submitted(page)).config
    on = parse_form(schema, submitted(page, **{"cfg.retry.__enabled": "1", "cfg.retry.max_attempts": "5"}))
    assert on.config["retry"]["max_attempts"] == 5


def test_boolean_without_default_has_three_states(jinja):
    schema = registry.get("update_order").config_schema
    page = render(jinja, schema, {})
    for typed, expected in (("", None), ("true", True), ("false", False)):
        assert parse_form(schema, submitted(page, **{"cfg.hold": typed})).config.get("hold") == expected


def test_stored_values_the_schema_cannot_draw_are_kept_as_json(jinja):
    schema = registry.get("trigger.order_event").config_schema
    config = {"events": "order.created", "legacy_flag": {"x": 1}}
    page = render(jinja, schema, config)
    assert 'name="cfg.events.__as" value="json"' in page and 'name="cfg.__extra"' in page
    assert parse_form(schema, submitted(page)).config == config


def test_route_rows_and_ports_follow_the_config(jinja):
    route = registry.get("route")
    config = {"routes": [{"port": "finance", "match": "all", "rules": [{"field": "order.amount", "op": ">", "value": 1000}]}],
              "default": "cs"}
    page = render(jinja, route.config_schema, config)
    parsed = parse_form(route.config_schema, submitted(page, **{"cfg.routes.0.port": "big"}))
    assert route.output_ports(parsed.config) == ["big", "cs"]


def test_every_schema_kind_the_node_types_use_is_drawn_as_an_input(jinja):
    """No node type falls back to a raw JSON box for a field it declares, except free JSON fields."""
    for node_type in ALL_TYPES:
        for field in build_fields(node_type.config_schema, sample(node_type.config_schema)):
            assert not field.fallback, (node_type.type, field.name)
    kinds = set()

    def walk(schema):
        kind = kind_of(schema)
        kinds.add(kind)
        for sub in (schema.get("properties") or {}).values() if kind == "object" else ():
            walk(sub)
        for variant in variants_of(schema["items"]) if kind == "rows" else ():
            walk(variant)

    for node_type in ALL_TYPES:
        walk(node_type.config_schema)
    assert {"text", "number", "select", "multi", "rows", "loose", "password", "json", "map", "object"} <= kinds


def test_the_parsed_form_is_json(jinja):
    for node_type in ALL_TYPES:
        schema = node_type.config_schema
        json.dumps(parse_form(schema, submitted(render(jinja, schema, sample(schema)))).config)
