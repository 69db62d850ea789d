"""Nodes acting on orders and connectors: dedupe, update_order, switch_connector."""

from __future__ import annotations

from datetime import timedelta

import pytest

from nodes import registry
from nodes.base import NodeError
from nodes.dedupe import fingerprint, key_values
from tests.nodes.fakes import NOW, FakeContext, FakeOrders, FakeRecentOrders, config_errors, sample_order

DEDUPE = registry.get("dedupe")
UPDATE = registry.get("update_order")
SWITCH = registry.get("switch_connector")


def placed(minutes_ago: float, **changes) -> dict:
    return sample_order(**{"created_at": (NOW - timedelta(minutes=minutes_ago)).isoformat(), **changes})


# ------------------------------------------------------------------ dedupe

def ctx_with_history(order: dict, history: list[dict], **kwargs) -> FakeContext:
    ctx = FakeContext(order=order, **kwargs)
    ctx.services["recent_orders"].orders.extend(history)
    return ctx


def test_same_customer_same_items_within_the_window_is_a_duplicate():
    first = placed(6, id="A1")
    second = placed(1, id="A2")
    result = DEDUPE.run(ctx_with_history(second, [first]), {"window_minutes": 10})
    assert result.port == "duplicate"
    assert result.output == {"window_minutes": 10, "keys": ["customer.id", "items"], "duplicate": True,
                             "checked": True, "matches": ["A1"], "match_count": 1}


def test_the_first_of_two_is_unique():
    first, second = placed(6, id="A1"), placed(1, id="A2")
    assert DEDUPE.run(ctx_with_history(first, [first, second]), {"window_minutes": 10}).port == "unique"


@pytest.mark.parametrize("other", [
    placed(11, id="OLD"),                                                              # outside the window
    placed(2, id="B", customer={"id": "C-2"}),                                         # another customer
    placed(2, id="C", items=[{"sku": "TEA-1", "qty": 2, "price": 100, "cost": 40}]),   # another quantity
    placed(2, id="D", items=[{"sku": "MUG-1", "qty": 1, "price": 100, "cost": 40}]),   # another item
])
def test_different_orders_are_unique(other):
    assert DEDUPE.run(ctx_with_history(placed(0, id="NEW"), [other]), {"window_minutes": 10}).port == "unique"


def test_items_compare_by_sku_and_quantity_in_any_order():
    a = placed(0, items=[{"sku": "X", "qty": 1, "price": 5}, {"sku": "Y", "qty": 2, "name": "y"}])
    b = placed(0, items=[{"sku": "Y", "qty": 1}, {"sku": "X", "qty": 1, "price": 4}, {"sku": "Y", "qty": 1}])
    assert fingerprint(a) == fingerprint(b)
    assert key_values(a)["items"] == [["X", 1], ["Y", 2]]


def test_ids_sent_as_numbers_or_text_are_the_same_customer():
    assert fingerprint(placed(0, customer={"id": 42})) == fingerprint(placed(0, customer={"id": "42"}))


def test_custom_keys_with_or_without_the_order_prefix():
    keys = ["order.customer.phone", "address.line1"]
    ctx = ctx_with_history(placed(0, id="N", customer={"id": "other", "phone": "13800000001"}), [placed(3, id="P")])
    result = DEDUPE.run(ctx, {"window_minutes": 5, "keys": keys})
    assert result.port == "duplicate" and result.output["keys"] == ["customer.phone", "address.line1"]
    assert ctx.services["recent_orders"].calls == [("N", 5, ["customer.phone", "address.line1"])]


def test_an_order_without_a_customer_is_not_compared():
    ctx = ctx_with_history(placed(0, customer={}), [placed(1, customer={})])
    result = DEDUPE.run(ctx, {"window_minutes": 10})
    assert result.port == "unique" and result.output["checked"] is False
    assert result.output["reason"] == "the order has no customer.id"
    assert ctx.services["recent_orders"].calls == []


def test_dedupe_dry_run_reads_but_changes_nothing():
    ctx = ctx_with_history(placed(0, id="A2"), [placed(3, id="A1")], dry_run=True)
    result = DEDUPE.run(ctx, {})
    assert result.port == "duplicate" and result.output["dry_run"] is True and result.output["window_minutes"] == 10


def test_dedupe_needs_an_order_and_a_lookup():
    with pytest.raises(NodeError, match="needs an order"):
        DEDUPE.run(FakeContext(order=None), {})
    with pytest.raises(NodeError, match="no service 'recent_orders'"):
        DEDUPE.run(FakeContext(services={}), {})


def test_the_fake_lookup_breaks_ties_by_id():
    lookup = FakeRecentOrders([placed(1, id="A1"), placed(1, id="A2")])
    assert lookup.similar(placed(1, id="A2"), 10, ["customer.id", "items"]) == ["A1"]
    assert lookup.similar(placed(1, id="A1"), 10, ["customer.id", "items"]) == []


def test_dedupe_settings():
    assert config_errors("dedupe", {"window_minutes": 0}) and config_errors("dedupe", {"keys": []})
    assert config_errors("dedupe", {"keys": ["customer id"]})
    assert config_errors("dedupe", {"window_minutes": 10, "keys": ["customer.id", "items"]}) == []


# ------------------------------------------------------------------ update_order

def test_update_order_status_tags_flag_and_hold():
    ctx = FakeContext()
    config = {"status": "on_hold", "add_tags": ["loss"], "flag": "red", "hold": True, "reason": "margin below -5%"}
    result = UPDATE.run(ctx, config)
    changes = {"status": "on_hold", "add_tags": ["loss"], "flag": "red", "hold": True}
    assert ctx.orders.updates == [("A100", changes, "margin below -5%")]
    assert result.output == {"changed": True, "changes": changes, "order_version": 2}


def test_release_is_a_change_too():
    ctx = FakeContext()
    UPDATE.run(ctx, {"hold": False})
    assert ctx.orders.updates[0][1] == {"hold": False}
    assert "run 7, node n1" in ctx.orders.updates[0][2]


def test_address_from_a_field_with_overrides():
    new = {"name": "Li Lei", "city": "Ningbo", "line1": "9 Zhongshan Rd", "postcode": 315000, "note": "ignored"}
    ctx = FakeContext(event={"type": "order.address_change_requested", "payload": {"address": new}})
    UPDATE.run(ctx, {"address_from": "event.payload.address", "address": {"district": "{{ 'Haishu' }}", "name": ""}})
    assert ctx.orders.updates[0][1] == {"address": {"name": "Li Lei", "phone": "13800000001", "province": "Zhejiang",
                                                    "city": "Ningbo", "district": "Haishu", "line1": "9 Zhongshan Rd",
                                                    "postcode": "315000"}}  # phone, province kept from the order


def test_address_change_of_a_locked_order_is_the_steps_error():
    orders = FakeOrders({"A100": {"id": "A100", "version": 3, "locked": True}})
    ctx = FakeContext(order=sample_order(locked=True), orders=orders)
    with pytest.raises(NodeError, match="locked"):
        UPDATE.run(ctx, {"address": {"city": "Ningbo"}})
    assert orders.updates == []


def test_missing_address_source_fails_clearly():
    with pytest.raises(NodeError, match="event.payload.address is missing"):
        UPDATE.run(FakeContext(), {"address_from": "event.payload.address"})
    with pytest.raises(NodeError, match="not an address"):
        UPDATE.run(FakeContext(event={"payload": {"address": "Ningbo"}}), {"address_from": "event.payload.address"})


def test_update_order_dry_run_changes_nothing_and_says_a_lock_would_refuse():
    result = UPDATE.run(FakeContext(order=sample_order(locked=True), dry_run=True),
                        {"add_tags": ["x"], "address": {"city": "{{ order.address.city }}-new"}})
    assert result.output["would_change"]["add_tags"] == ["x"]
    assert result.output["would_change"]["address"]["city"] == "Hangzhou-new"
    assert result.output["would_change"]["address"]["line1"] == "1 Wensan Rd"
    assert "locked" in result.output["would_be_refused"]


def test_nothing_to_change():
    ctx = FakeContext()
    assert UPDATE.run(ctx, {"add_tags": [], "status": ""}).output == {"changed": False}
    assert ctx.orders.updates == []


def test_update_order_settings():
    assert config_errors("update_order", {"address": {"street": "x"}})
    assert config_errors("update_order", {"flag": "purple"})
    assert [e.split(":")[0] for e in config_errors("update_order", {"address": {"city": "{{ x"}})] == ["address.city"]


# ------------------------------------------------------------------ switch_connector

def test_switch_to_the_backup():
    ctx = FakeContext(event={"type": "connector.failure", "payload": {"connector": "alipay"}})
    result = SWITCH.run(ctx, {"group": "payment", "to": "backup",
                              "reason": "{{ event.payload.connector }}: 3 callbacks missing"})
    assert result.output == {"switched": True, "group": "payment", "active": "wechat_pay", "previous": "alipay",
                             "reason": "alipay: 3 callbacks missing"}
    assert ctx.services["connectors"].log == [("payment", "wechat_pay", "alipay: 3 callbacks missing")]


def test_switch_to_a_named_connector_and_to_the_active_one():
    ctx = FakeContext()
    assert SWITCH.run(ctx, {"group": "payment", "to": "unionpay"}).output["active"] == "unionpay"
    assert SWITCH.run(ctx, {"group": "payment", "to": "unionpay"}).output["switched"] is False


def test_switch_errors_come_from_the_service():
    with pytest.raises(NodeError, match="no connector group"):
        SWITCH.run(FakeContext(), {"group": "carrier"})


def test_switch_dry_run_switches_nothing():
    result = SWITCH.run(FakeContext(dry_run=True), {"group": "payment"})
    assert result.output == {"dry_run": True, "would_switch": {"group": "payment", "to": "backup",
                                                               "reason": "flow run 7, node n1"}}
