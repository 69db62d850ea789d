"""Demo data for a first start: a login, an API token, published flows and a few orders."""

from __future__ import annotations

from datetime import timedelta

from runtime import accounts, flows, ingest
from runtime.db import db, iso, utcnow
from runtime.models import ApiToken, Flow, User

DEMO_FLOWS = [
    {
        "schema_version": 1,
        "name": "High-value order review",
        "description": "Orders over 1000 go to finance for a manual check; the rest are tagged auto-approved.",
        "nodes": [
            {"id": "t1", "type": "trigger.order_event", "config": {"events": ["order.created"]}, "ui": {"x": 40, "y": 120}},
            {"id": "c1", "type": "condition",
             "config": {"match": "all", "rules": [{"field": "order.amount", "op": ">", "value": 1000}]},
             "ui": {"x": 300, "y": 120}},
            {"id": "a1", "type": "assign",
             "config": {"queue": "finance", "title": "Review high-value order {{ order.id }}", "priority": "high",
                        "sla_minutes": 30}, "ui": {"x": 580, "y": 40}},
            {"id": "u1", "type": "update_order", "config": {"add_tags": ["auto-approved"]}, "ui": {"x": 580, "y": 220}},
        ],
        "edges": [{"from": "t1", "to": "c1"}, {"from": "c1", "port": "true", "to": "a1"},
                  {"from": "c1", "port": "false", "to": "u1"}],
    },
    {
        "schema_version": 1,
        "name": "Route payment failures",
        "description": "Failed payments go to the team that owns the channel.",
        "nodes": [
            {"id": "t1", "type": "trigger.order_event", "config": {"events": ["payment.failed"]}, "ui": {"x": 40, "y": 120}},
            {"id": "r1", "type": "route", "config": {
                "routes": [{"port": "finance", "match": "all", "rules": [{"field": "order.amount", "op": ">=", "value": 500}]},
                           {"port": "tech", "match": "any", "rules": [{"field": "order.channel", "op": "=", "value": "app"}]}],
                "default": "cs"}, "ui": {"x": 300, "y": 120}},
            {"id": "f1", "type": "assign", "config": {"queue": "finance", "title": "Payment failed: {{ order.id }}"}, "ui": {"x": 580, "y": 20}},
            {"id": "x1", "type": "assign", "config": {"queue": "tech", "title": "App payment failed: {{ order.id }}"}, "ui": {"x": 580, "y": 140}},
            {"id": "s1", "type": "update_order", "config": {"flag": "orange", "add_tags": ["payment-failed"]}, "ui": {"x": 580, "y": 260}},
        ],
        "edges": [{"from": "t1", "to": "r1"}, {"from": "r1", "port": "finance", "to": "f1"},
                  {"from": "r1", "port": "tech", "to": "x1"}, {"from": "r1", "port": "cs", "to": "s1"}],
    },
]

DEMO_ORDERS = [
    {"id": "DEMO-1001", "status": "pending", "amount": 1299.0, "currency": "CNY", "channel": "douyin_live",
     "tags": ["source=douyin_live/influencer"], "region": "east",
     "customer": {"id": "C-1", "name": "Li Lei", "phone": "13800000001"},
     "address": {"name": "Li Lei", "phone": "13800000001", "province": "Zhejiang", "city": "Hangzhou",
                 "district": "Xihu", "line1": "1 Wensan Rd", "postcode": "310000"},
     "items": [{"sku": "SKU-1", "name": "Tea set", "qty": 1, "price": 1299.0, "cost": 700.0}],
     "fees": {"commission": 0.05, "shipping_subsidy": 10, "influencer_share": 0.1}},
    {"id": "DEMO-1002", "status": "pending", "amount": 89.0, "currency": "CNY", "channel": "taobao",
     "tags": ["source=taobao"], "region": "south",
     "customer": {"id": "C-2", "name": "Han Meimei", "phone": "13800000002"},
     "address": {"name": "Han Meimei", "phone": "13800000002", "province": "Guangdong", "city": "Shenzhen",
                 "district": "Nanshan", "line1": "8 Keji Rd", "postcode": "518000"},
     "items": [{"sku": "SKU-2", "name": "Mug", "qty": 1, "price": 89.0, "cost": 30.0}],
     "fees": {"commission": 0.03, "shipping_subsidy": 0, "influencer_share": 0}},
]


def should_seed() -> bool:
    return db.session.query(Flow.id).first() is None


def seed_demo() -> list[str]:
    """Idempotent: users and flows are created once; returns lines to show the user."""
    lines = []
    if User.query.filter_by(name="admin").one_or_none() is None:
        accounts.create_user("admin", "admin", "admin")
        lines.append("login:    admin / admin (demo user; change it with `orderflow create-user admin --role admin`)")
    if ApiToken.query.filter_by(name="demo").one_or_none() is None:
        token = accounts.create_token("demo", "operator", prefix="of_demo_")
        lines.append(f"token:    {token} (demo API token, shown once)")
    db.session.commit()
    if Flow.query.count() == 0:
        for definition in DEMO_FLOWS:
            flows.publish(flows.create(definition, user="demo"), user="demo")
        lines.append(f"flows:    {len(DEMO_FLOWS)} demo flows published")
        for n, order in enumerate(DEMO_ORDERS):
            created = iso(utcnow() - timedelta(minutes=30 * (n + 1)))
            body = {"type": "order.created", "source": "demo", "event_id": f"demo-{order['id']}",
                    "occurred_at": created, "order": {**order, "created_at": created}}
            ingest.accept_order_event(body, repr(body).encode())
        lines.append(f"orders:   {len(DEMO_ORDERS)} demo order events queued")
    return lines
