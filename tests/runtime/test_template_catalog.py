"""The built-in templates: valid, laid out, dry-run along the paths they promise; seeding; the
profit formula the loss breaker and the profit board share."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta

import pytest
from jsonschema import Draft202012Validator

from nodes import compute
from nodes.base import RECENT_ORDERS
from runtime import engine, templates_catalog
from runtime.context import RunContext
from runtime.db import db
from runtime.definition import trigger_of, validate_flow
from runtime.dryrun import ORDER_DEFAULTS, MemoryRecorder, dry_run
from runtime.profit import COMPUTE_FORMULAS, order_profit
from runtime.template_models import FlowTemplate

NOW = datetime(2026, 11, 11, 12, 0, tzinfo=UTC)
SLUGS = ("pending_too_long", "payment_failover", "address_change", "loss_circuit_breaker", "high_value_review",
         "duplicate_guard", "payment_file_backfill")
ADDRESS = {"name": "Li Lei", "phone": "13800000001", "province": "Zhejiang", "city": "Hangzhou",
           "district": "Xihu", "line1": "8 New Rd", "postcode": "310000"}


def definition(slug: str) -> dict:
    return copy.deepcopy(next(t for t in templates_catalog.builtin_templates() if t["slug"] == slug)["definition"])


def order(**fields) -> dict:
    return {"id": "S-1", "amount": 200.0, "channel": "taobao", "region": "east",
            "created_at": (NOW - timedelta(minutes=30)).isoformat(), **fields}


def walk(slug: str, sample: dict, **kwargs) -> dict:
    return dry_run(definition(slug), sample, now=NOW, **kwargs)


class FoundOrders:
    def __init__(self, ids: list[str]):
        self.ids = ids

    def similar(self, order, window_minutes, keys):
        return self.ids


def rehearse(flow: dict, sample: dict, payload: dict | None = None, services: dict | None = None) -> list[str]:
    """A dry run with a chosen event payload and read-only services (dry_run() takes neither)."""
    graph = engine.Graph(flow)
    box = {"order": {**ORDER_DEFAULTS, **sample}}
    event = {"id": None, "type": "webhook", "source": "test", "event_id": None, "payload": payload or {},
             "order": box["order"]}
    state, recorder = engine.RunState(frontier=[graph.trigger]), MemoryRecorder()
    outcome = engine.execute(graph, state, recorder, lambda node_id, st: RunContext(
        run_id=None, node_id=node_id, event=event, vars=st.vars, order_box=box, dry_run=True,
        clock=lambda: NOW, services=services or {}), sleep=lambda s: None)
    assert outcome.status == "succeeded", outcome.error
    return [s.node_id for s in recorder.steps]


def test_the_catalog_holds_the_seven_templates_in_gallery_order():
    entries = templates_catalog.builtin_templates()
    assert tuple(e["slug"] for e in entries) == SLUGS
    for entry in entries:
        assert entry["title"] and len(entry["description"]) > 80 and entry["category"]
        assert entry["definition"]["name"] == entry["title"]


@pytest.mark.parametrize("slug", SLUGS)
def test_every_template_is_valid_and_laid_out_left_to_right(slug):
    flow = definition(slug)
    assert validate_flow(flow) == []
    nodes = {n["id"]: n for n in flow["nodes"]}
    positions = [(n["ui"]["x"], n["ui"]["y"]) for n in nodes.values()]
    assert len(set(positions)) == len(positions), "two nodes on the same spot"
    for edge in flow["edges"]:
        assert nodes[edge["from"]]["ui"]["x"] < nodes[edge["to"]]["ui"]["x"], edge
    assert all(n.get("name") for n in nodes.values())


@pytest.mark.parametrize("sample, team", [
    (order(amount=1500.0), "a_finance"),
    (order(channel="app"), "a_tech"),
    (order(region="overseas"), "a_ops"),
    (order(), "a_cs"),
])
def test_pending_too_long_flags_red_and_routes_to_the_owning_team(sample, team):
    result = walk("pending_too_long", {**sample, "status": "pending"})
    assert result["status"] == "succeeded" and result["path"] == ["t1", "u1", "r1", team]
    assert result["steps"][1]["output"]["would_change"]["flag"] == "red"
    assert trigger_of(definition("pending_too_long"))["config"] == {"status": "pending", "minutes": 15}


def test_payment_failover_switches_to_the_backup_and_tells_ops():
    result = walk("payment_failover", order())
    assert result["path"] == ["t1", "s1", "n1", "a1"]
    assert result["steps"][1]["output"]["would_switch"]["to"] == "backup"
    assert result["steps"][2]["output"]["would_send"]["to"] == "ops"


def test_address_change_syncs_the_carrier():
    result = walk("address_change", order(address=ADDRESS), event_type="order.address_changed")
    assert result["path"] == ["t1", "api1", "u_synced"]
    request = result["steps"][1]["output"]["would_send"]
    assert request["url"].startswith("https://carrier.example.com/")
    assert request["headers"]["Idempotency-Key"] == "address-S-1-v1"
    assert request["headers"]["Authorization"] == "Bearer ***"  # the secret is never shown
    assert request["json"]["consignee"]["line1"] == "8 New Rd"
    assert trigger_of(definition("address_change"))["config"]["events"] == ["order.address_changed"]


def test_loss_circuit_breaker_holds_orders_below_minus_five_percent():
    losing = order(amount=100.0, items=[{"sku": "TEA", "qty": 1, "price": 100.0, "cost": 80.0}],
                   fees={"commission": 0.1, "influencer_share": 0.2, "shipping_subsidy": 2})
    result = walk("loss_circuit_breaker", losing)
    assert result["vars"]["margin"] == -0.08
    assert result["path"] == ["t1", "p1", "c1", "u1", "n1", "a1"]
    assert result["steps"][3]["output"]["would_change"] == {"hold": True, "flag": "red", "add_tags": ["loss-risk"]}
    thin = {**losing, "fees": {"commission": 0.1, "influencer_share": 0.1}}  # margin exactly 0
    assert walk("loss_circuit_breaker", thin)["path"] == ["t1", "p1", "c1"]


@pytest.mark.parametrize("port, tail", [("approved", ["u_release"]), ("rejected", ["u_reject", "a_cs"]),
                                        ("timed_out", ["a_overdue"])])
def test_high_value_orders_wait_for_finance(port, tail):
    flow = definition("high_value_review")
    next(n for n in flow["nodes"] if n["id"] == "ap1")["config"]["dry_run_port"] = port
    result = dry_run(flow, order(amount=8000.0), now=NOW)
    assert result["path"] == ["t1", "c1", "u_hold", "ap1", *tail]
    assert result["steps"][3]["output"]["would_create_task"]["queue"] == "finance"
    assert dry_run(flow, order(amount=5000.0), now=NOW)["path"] == ["t1", "c1"]


def test_duplicate_guard_flags_holds_and_hands_to_cs():
    flow = definition("duplicate_guard")
    repeat = order(customer={"id": "C-1"}, items=[{"sku": "TEA", "qty": 1}])
    assert rehearse(flow, repeat, services={RECENT_ORDERS: FoundOrders(["S-0"])}) == ["t1", "d1", "u1", "a1"]
    assert rehearse(flow, repeat, services={RECENT_ORDERS: FoundOrders([])}) == ["t1", "d1"]
    # dry_run() offers no order lookup; an order without a customer never counts as a duplicate
    assert walk("duplicate_guard", order())["path"] == ["t1", "d1"]
    changes = dry_run(flow, order(), now=NOW)["steps"]
    assert changes[-1]["port"] == "unique"
    update = next(n for n in flow["nodes"] if n["id"] == "u1")["config"]
    assert update["flag"] == "yellow" and update["hold"] is True and update["add_tags"]


def test_payment_backfill_marks_pending_orders_paid_once_and_flags_failures():
    flow = definition("payment_file_backfill")
    row = {"order": {"id": "S-1"}, "payment": {"result": "succeeded", "transaction_id": "T-9"}}
    assert rehearse(flow, order(status="pending"), row) == ["t1", "c_ok", "c_pending", "u_paid"]
    assert rehearse(flow, order(status="paid"), row) == ["t1", "c_ok", "c_pending"]  # the callback came first
    failed = {**row, "payment": {"result": "failed"}}
    assert rehearse(flow, order(), failed) == ["t1", "c_ok", "u_failed", "a_finance"]
    assert walk("payment_file_backfill", order())["path"] == ["t1", "c_ok", "u_failed", "a_finance"]
    schema = Draft202012Validator(trigger_of(flow)["config"]["payload_schema"])
    assert list(schema.iter_errors(row)) == []
    renamed = {"order": {"id": "S-1"}, "payment": {"status": "SUCCESS"}}  # the gateway changed its format
    assert [e.message for e in schema.iter_errors(renamed)] == ["'result' is a required property"]


PROFIT_SAMPLES = [
    {"amount": 100.0, "items": [{"sku": "A", "qty": 1, "price": 120.0, "cost": 60.0}],
     "fees": {"commission": 0.05, "influencer_share": 0.1, "shipping_subsidy": 5}},
    {"amount": None, "items": [{"sku": "A", "qty": 2, "price": 30.0, "cost": 10.0}, {"sku": "B", "price": 15.5}],
     "fees": None},
    {"amount": 50.0, "items": [], "fees": {"commission": 0.2}},
    {"amount": 99.0, "items": [{"sku": "A", "qty": 3, "price": 33.0, "cost": 40.0}],
     "fees": {"commission": 0.08, "influencer_share": 0.2, "shipping_subsidy": 0}},
]


@pytest.mark.parametrize("sample", PROFIT_SAMPLES)
def test_the_loss_breaker_computes_profit_as_the_board_does(sample):
    node = next(n for n in definition("loss_circuit_breaker")["nodes"] if n["type"] == "compute")
    assert node["config"]["vars"] == COMPUTE_FORMULAS
    box = {"order": {"id": "P", **sample}}
    ctx = RunContext(run_id=None, node_id="p1", event={}, vars={}, order_box=box, dry_run=True)
    computed = compute.run(ctx, node["config"]).vars
    figures = order_profit(sample["amount"], sample["items"], sample["fees"])
    assert computed["revenue"] == pytest.approx(figures.revenue)
    assert computed["profit"] == pytest.approx(figures.profit, abs=1e-4)
    assert sum(line.revenue for line in figures.lines) == pytest.approx(figures.revenue)
    assert sum(line.profit for line in figures.lines) == pytest.approx(figures.profit)


def test_profit_formula_by_hand():
    figures = order_profit(100.0, PROFIT_SAMPLES[0]["items"], PROFIT_SAMPLES[0]["fees"])
    assert (figures.revenue, figures.profit) == (100.0, pytest.approx(100 - 60 - 5 - 10 + 5))
    split = order_profit(90.0, [{"sku": "A", "qty": 2, "price": 30.0, "cost": 10.0},
                                {"sku": "B", "qty": 1, "price": 40.0, "cost": 25.0}], {"shipping_subsidy": 10})
    a, b = split.lines
    # the 10% discount and the subsidy are split 60:40, as the items' list prices are
    assert (a.product, a.revenue, a.profit) == ("A", pytest.approx(54.0), pytest.approx(54 - 20 + 6))
    assert (b.product, b.revenue, b.profit) == ("B", pytest.approx(36.0), pytest.approx(36 - 25 + 4))


def test_seeding_is_idempotent_and_refreshes_changed_builtins(app):
    assert templates_catalog.seed_builtin_templates() == 7
    assert templates_catalog.seed_builtin_templates() == 0
    row = FlowTemplate.query.filter_by(slug="pending_too_long").one()
    row.title, row.definition = "Edited", {"schema_version": 1, "name": "x", "nodes": [], "edges": []}
    db.session.commit()
    assert templates_catalog.seed_builtin_templates() == 1
    db.session.refresh(row)
    assert row.title == "Pending too long" and validate_flow(row.definition) == []
    assert FlowTemplate.query.count() == 7 and all(t.builtin for t in FlowTemplate.query)


def test_published_templates_leave_webhook_secrets_out(app):
    flow = definition("payment_file_backfill")
    flow["nodes"][0]["config"]["secret"] = "s3cr3t"
    template, removed = templates_catalog.publish(title="Backfill, signed", description="", category="payment",
                                                  definition=flow, user="alice")
    assert removed == ["$.nodes[0].config.secret"]
    db.session.refresh(template)
    assert "secret" not in template.definition["nodes"][0]["config"]
    assert flow["nodes"][0]["config"]["secret"] == "s3cr3t"  # the caller's flow is untouched
    broken = {**flow, "edges": []}
    with pytest.raises(templates_catalog.InvalidTemplate) as caught:
        templates_catalog.publish(title="Broken", description="", category="payment", definition=broken, user="a")
    assert any("cannot be reached" in p["message"] for p in caught.value.problems)
