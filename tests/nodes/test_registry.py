"""The catalogue: every node type the product promises, each declared well enough to draw its form."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from nodes import registry
from tests.nodes.fakes import config_errors

CATALOGUE = {
    "trigger.order_event", "trigger.order_stale", "trigger.webhook", "trigger.schedule",
    "trigger.connector_health", "trigger.run_failed", "condition", "route", "compute", "wait", "dedupe",
    "approval", "assign", "call_api", "notify", "update_order", "switch_connector",
}
FORMATS = {"template", "field-ref", "password", "json", "formula", "date-time"}
ALL = registry.all_types()
IDS = [t.type for t in ALL]

# The settings DESIGN.md publishes: each must stay valid, with the same meaning.
CONTRACT = [
    ("trigger.order_event", {"events": ["order.created"], "source": "taobao"}),
    ("trigger.webhook", {"key": "pay-result", "secret": "s", "payload_schema": {"type": "object"}}),
    ("trigger.order_stale", {"status": "pending", "minutes": 15}),
    ("condition", {"match": "all", "rules": [{"field": "order.amount", "op": ">", "value": 1000},
                                             {"match": "any", "rules": [{"field": "order.region", "op": "=",
                                                                         "value": "east"}]}]}),
    ("route", {"routes": [{"port": "finance", "match": "all",
                           "rules": [{"field": "order.amount", "op": ">", "value": 1}]}], "default": "cs"}),
    ("compute", {"vars": {"profit": "order.amount - order.cost_total"}}),
    ("update_order", {"status": "on_hold", "add_tags": ["x"], "remove_tags": ["y"], "flag": "red", "hold": True}),
    ("assign", {"queue": "finance", "title": "t", "priority": "high", "sla_minutes": 30}),
    ("approval", {"queue": "cs", "title": "t", "timeout_minutes": 120}),
    ("call_api", {"method": "POST", "url": "https://x.example", "headers": {"A": "b"}, "body": {"a": 1},
                  "timeout_s": 10, "retry": {"max_attempts": 3, "on_status": [502, 503]}}),
    ("notify", {"channel": "in_app", "to": "ops", "message": "m"}),
    ("wait", {"minutes": 30}),
    ("wait", {"until": "2026-11-11T09:00:00+08:00"}),
    ("trigger.schedule", {"cron": "0 9 * * *", "timezone": "Asia/Shanghai"}),
    ("trigger.connector_health", {"connector": "alipay", "consecutive_failures": 3}),
    ("dedupe", {"window_minutes": 10}),
    ("switch_connector", {"group": "payment", "to": "backup"}),
    ("trigger.run_failed", {"flows": [1, 2]}),
    ("trigger.run_failed", {}),
]


def test_the_catalogue_is_complete_and_has_nothing_else():
    assert set(IDS) == CATALOGUE
    assert len(IDS) == len(CATALOGUE)


def test_every_module_is_listed_explicitly_and_exists():
    root = Path(registry.__file__).parent
    for name in registry.NODE_MODULES:
        assert (root / f"{name.split('.')[1]}.py").exists(), name


@pytest.mark.parametrize("type_name, config", CONTRACT, ids=[f"{t}-{i}" for i, (t, _) in enumerate(CONTRACT)])
def test_published_settings_stay_valid(type_name, config):
    assert config_errors(type_name, config) == []


@pytest.mark.parametrize("node_type", ALL, ids=IDS)
def test_declaration_is_complete(node_type):
    assert node_type.title and node_type.description and node_type.icon
    assert len(node_type.help) > 40, "help text is shown in the editor"
    Draft202012Validator.check_schema(node_type.config_schema)
    assert node_type.config_schema.get("type") == "object"
    assert node_type.is_trigger or node_type.run is not None
    assert node_type.is_trigger == (node_type.matches is not None)
    assert node_type.is_trigger != node_type.has_input
    json.dumps(node_type.describe())  # the palette is served as JSON


def _properties(schema: dict, path: str = ""):
    for name, sub in (schema.get("properties") or {}).items():
        yield f"{path}{name}", sub
        if sub.get("type") == "object" and "properties" in sub:
            yield from _properties(sub, f"{path}{name}.")


@pytest.mark.parametrize("node_type", ALL, ids=IDS)
def test_every_setting_has_a_title_a_known_format_and_a_valid_default(node_type):
    for path, prop in _properties(node_type.config_schema):
        assert prop.get("title"), f"{node_type.type}.{path} has no title for its form field"
        assert prop.get("format") in (None, *FORMATS), f"{node_type.type}.{path}: format {prop.get('format')}"
        if "default" in prop:
            errors = list(Draft202012Validator(prop).iter_errors(prop["default"]))
            assert not errors, f"{node_type.type}.{path}: default {prop['default']!r} is not valid"


@pytest.mark.parametrize("node_type", ALL, ids=IDS)
def test_check_hook_is_safe_on_any_config(node_type):
    """The validator may call it on drafts the schema refuses: it must answer, never raise."""
    for garbage in ({}, {"vars": "x", "cron": 5, "timezone": [], "until": 3, "address": "x", "headers": 1},
                    {"vars": {"a": 1}, "until": "", "body": {"a": ["{{ x }"]}}):
        problems = node_type.check_config(garbage)
        assert all(isinstance(p.path, tuple) and isinstance(p.message, str) for p in problems)


def test_modules_stay_small():
    root = Path(registry.__file__).parent
    sizes = {p.name: len(p.read_text().splitlines()) for p in root.glob("*.py")}
    assert max(sizes.values()) <= 400, sizes


def test_route_ports_come_from_its_config():
    route = registry.get("route")
    assert route.output_ports({"routes": [{"port": "finance"}, {"port": "tech"}], "default": "cs"}) == \
        ["finance", "tech", "cs"]
    assert registry.get("wait").output_ports({"event": "order.packed"}) == ["out", "timed_out"]
    assert registry.get("wait").output_ports({"minutes": 5}) == ["out"]
