"""The boards: stuck orders by status x age, the profit heatmap, connectors; API and pages."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from runtime import connectors
from runtime.db import db, utcnow
from runtime.models import Order

DAY1, DAY2 = datetime(2026, 3, 1, 10, 0), datetime(2026, 3, 2, 23, 59)


def add_order(order_id: str, **fields) -> Order:
    order = Order(id=order_id, **{"tags": [], "items": [], "flags": [], "extra": {}, **fields})
    db.session.add(order)
    db.session.commit()
    return order


def aged(order_id: str, status: str, minutes: float) -> Order:
    return add_order(order_id, status=status, status_since=utcnow() - timedelta(minutes=minutes))


def test_stuck_board_counts_unfinished_orders_by_status_and_age(client, auth):
    for n, minutes in enumerate((2, 14, 16, 59, 61, 239, 241, 1439, 1441, 10000)):
        aged(f"P{n}", "pending", minutes)
    aged("A1", "paid", 30)
    aged("A2", "paid", 30)
    aged("S1", "shipped", 5000)  # finished orders are never stuck
    aged("C1", "cancelled", 5)
    assert client.get("/api/v1/boards/stuck").status_code == 401
    board = client.get("/api/v1/boards/stuck", headers=auth).json
    assert [b["label"] for b in board["buckets"]] == ["<15m", "15-60m", "1-4h", "4-24h", ">24h"]
    assert board["buckets"][1] == {"label": "15-60m", "from_minutes": 15, "to_minutes": 60}
    assert board["buckets"][-1]["to_minutes"] is None
    pending, paid = board["statuses"]
    assert pending["status"] == "pending" and pending["total"] == 10
    assert pending["counts"] == {"<15m": 2, "15-60m": 2, "1-4h": 2, "4-24h": 2, ">24h": 2}
    assert (paid["status"], paid["total"]) == ("paid", 2)
    assert paid["counts"] == {"<15m": 0, "15-60m": 2, "1-4h": 0, "4-24h": 0, ">24h": 0}
    assert board["total"] == 12 and "shipped" in board["excluded_statuses"]
    assert pending["oldest_since"] < paid["oldest_since"]


def test_stuck_board_of_an_empty_shop(client, auth):
    assert client.get("/api/v1/boards/stuck", headers=auth).json["statuses"] == []


def seed_sales() -> None:
    tea = {"sku": "TEA", "name": "Tea set", "qty": 1, "price": 100.0, "cost": 40.0}
    cup = {"sku": "CUP", "name": "Cup", "qty": 2, "price": 25.0, "cost": 5.0}
    add_order("D1", status="paid", created_at=DAY1, channel="taobao", amount=100.0, items=[tea],
              fees={"commission": 0.05, "shipping_subsidy": 0, "influencer_share": 0})
    add_order("D2", status="pending", created_at=DAY1 + timedelta(hours=3), channel="taobao", amount=150.0,
              items=[tea, cup], fees={"commission": 0.05})
    add_order("D3", status="paid", created_at=DAY1, channel="douyin_live", amount=80.0, items=[tea],
              fees={"commission": 0.05, "influencer_share": 0.2, "shipping_subsidy": 4})
    add_order("D4", status="shipped", created_at=DAY2, channel="taobao", amount=None, items=[cup], fees=None)
    add_order("X1", status="cancelled", created_at=DAY1, channel="taobao", amount=999.0, items=[tea])
    add_order("X2", status="paid", created_at=DAY2 + timedelta(minutes=2), channel="taobao", amount=50.0, items=[cup])
    add_order("Z1", status="paid", created_at=DAY1, channel=None, amount=0.0, items=[])


def test_profit_by_day_and_channel(client, auth):
    seed_sales()
    answer = client.get("/api/v1/boards/profit?from=2026-03-01&to=2026-03-02&by=day,channel", headers=auth)
    assert answer.status_code == 200 and list(answer.json) == ["cells"]
    assert answer.json["cells"] == [
        # D3: 80 - 40 - 80 * 0.25 + 4 = 24
        {"day": "2026-03-01", "channel": "douyin_live", "orders": 1, "revenue": 80.0, "profit": 24.0, "margin": 0.3},
        # D1: 100 - 40 - 5 = 55; D2: 150 - 50 - 7.5 = 92.5; the cancelled X1 is left out
        {"day": "2026-03-01", "channel": "taobao", "orders": 2, "revenue": 250.0, "profit": 147.5, "margin": 0.59},
        {"day": "2026-03-01", "channel": None, "orders": 1, "revenue": 0.0, "profit": 0.0, "margin": None},
        # D4 has no amount: its items' 2 x 25; X2 was created after the 2nd
        {"day": "2026-03-02", "channel": "taobao", "orders": 1, "revenue": 50.0, "profit": 40.0, "margin": 0.8},
    ]
    only_first = client.get("/api/v1/boards/profit?from=2026-03-01&to=2026-03-01", headers=auth).json["cells"]
    assert {c["day"] for c in only_first} == {"2026-03-01"} and len(only_first) == 3


def test_profit_by_product_and_channel_splits_orders_over_their_items(client, auth):
    seed_sales()
    cells = client.get("/api/v1/boards/profit?from=2026-03-01&to=2026-03-02&by=product,channel",
                       headers=auth).json["cells"]
    by_key = {(c["product"], c["channel"]): c for c in cells}
    # D2's 150 splits 100:50 as its items' list prices; TEA on taobao = D1 + D2's tea line
    assert by_key[("TEA", "taobao")] == {"product": "TEA", "channel": "taobao", "orders": 2, "revenue": 200.0,
                                         "profit": 110.0, "margin": 0.55}
    assert by_key[("CUP", "taobao")] == {"product": "CUP", "channel": "taobao", "orders": 2, "revenue": 100.0,
                                         "profit": 77.5, "margin": 0.775}
    assert by_key[("TEA", "douyin_live")]["profit"] == 24.0
    assert by_key[(None, None)]["orders"] == 1
    assert [c["product"] for c in cells] == ["CUP", "TEA", "TEA", None]


@pytest.mark.parametrize("query, path", [
    ("by=channel", "by"),
    ("by=day", "by"),
    ("from=2026-13-01", "from"),
    ("to=yesterday", "to"),
    ("from=2026-03-05&to=2026-03-01", "from"),
    ("from=2025-01-01&to=2026-03-01", "to"),
])
def test_profit_board_refuses_bad_parameters_naming_them(client, auth, query, path):
    answer = client.get(f"/api/v1/boards/profit?{query}", headers=auth)
    assert answer.status_code == 400 and answer.json["details"][0]["path"] == path


def test_profit_board_defaults_to_the_last_seven_days(client, auth):
    add_order("NOW1", status="paid", created_at=utcnow(), channel="pdd", amount=79.0,
              items=[{"sku": "TEA", "qty": 1, "price": 79.0, "cost": 90.0}], fees={"commission": 0.02})
    add_order("OLD1", status="paid", created_at=utcnow() - timedelta(days=8), channel="pdd", amount=79.0)
    cells = client.get("/api/v1/boards/profit", headers=auth).json["cells"]
    assert cells == [{"day": utcnow().date().isoformat(), "channel": "pdd", "orders": 1, "revenue": 79.0,
                      "profit": -12.58, "margin": -0.1592}]


def test_board_pages(client, admin_session):
    aged("P1", "pending", 30)
    seed_sales()
    connectors.upsert("alipay", group="payment", role="primary", active=True)
    connectors.upsert("wechat_pay", group="payment", role="backup", active=False)
    connectors.record("alipay", False, "no payment callback for order P1")
    db.session.commit()

    stuck = client.get("/boards/stuck").data.decode()
    assert 'href="/orders?status=pending"' in stuck and 'id="stuck-board"' in stuck
    assert client.get("/boards").headers["Location"].endswith("/boards/stuck")

    page = client.get("/boards/profit?from=2026-03-01&to=2026-03-02").data.decode()
    assert 'id="profit-heatmap"' in page and "douyin_live" in page and "2026-03-02" in page
    assert 'class="num heat m-good"' in page and "59.0%" in page and "(no channel)" in page
    products = client.get("/boards/profit?from=2026-03-01&to=2026-03-02&by=product,channel").data.decode()
    assert "<th>TEA</th>" in products and "<th>Product</th>" in products
    bad = client.get("/boards/profit?from=2026-03-05&to=2026-03-01")
    assert bad.status_code == 400 and "from must not be after to" in bad.data.decode()
    assert 'class="invalid"' in bad.data.decode()

    board = client.get("/boards/connectors").data.decode()
    assert "alipay" in board and "wechat_pay" in board and "no payment callback for order P1" in board
    assert "standby" in board


def test_loss_cells_are_coloured_as_losses(client, admin_session):
    add_order("L1", status="paid", created_at=DAY1, channel="pdd", amount=79.0,
              items=[{"sku": "TEA", "qty": 1, "price": 79.0, "cost": 90.0}])
    page = client.get("/boards/profit?from=2026-03-01&to=2026-03-01").data.decode()
    assert 'class="num heat m-loss"' in page and "-13.9%" in page
