"""A plain Context for node tests: in-memory services that record what nodes asked of them.

``FakeContext(dry_run=True)`` swaps every side-effecting service for ``Refused``, which fails
the test on any call, so a node that forgets to check ``dry_run`` cannot pass. The read-only
``recent_orders`` service stays available, as the runtime's does.

``FakeRecentOrders`` and ``FakeConnectors`` are also reference implementations of the
``RecentOrders`` and ``Connectors`` protocols in nodes/base.py.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from jsonschema import Draft202012Validator

from nodes import registry
from nodes.base import CONNECTORS, RECENT_ORDERS, HttpResponse, NodeError
from nodes.dedupe import fingerprint

NOW = datetime(2026, 11, 11, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai on the sales night


def sample_order(**changes: Any) -> dict:
    order = {
        "id": "A100", "status": "pending", "amount": 100.0, "currency": "CNY", "channel": "douyin_live",
        "tags": ["source=douyin_live/influencer"], "region": "east",
        "customer": {"id": "C-1", "name": "Li Lei", "phone": "13800000001"},
        "address": {"name": "Li Lei", "phone": "13800000001", "province": "Zhejiang", "city": "Hangzhou",
                    "district": "Xihu", "line1": "1 Wensan Rd", "postcode": "310000"},
        "items": [{"sku": "TEA-1", "name": "Tea set", "qty": 1, "price": 100.0, "cost": 40.0}],
        "fees": {"commission": 0.1, "shipping_subsidy": 5, "influencer_share": 8},
        "created_at": (NOW - timedelta(minutes=3)).isoformat(), "status_since": (NOW - timedelta(minutes=3)).isoformat(),
        "version": 1, "flags": [], "hold": False, "locked": False,
    }
    order.update(changes)
    return order


class Refused:
    """Stands in for a side-effecting service during a dry run."""

    def __init__(self, name: str):
        self._name = name

    def __getattr__(self, attr: str):
        def refuse(*args, **kwargs):
            raise AssertionError(f"dry run called {self._name}.{attr}: a side effect")
        return refuse


@dataclass
class FakeOrders:
    orders: dict[str, dict] = field(default_factory=dict)
    updates: list[tuple[str, dict, str]] = field(default_factory=list)

    def update(self, order_id: str, changes: Mapping[str, Any], *, reason: str) -> dict:
        order = self.orders.setdefault(order_id, {"id": order_id, "version": 1, "tags": [], "flags": []})
        if "address" in changes and order.get("locked"):
            raise NodeError(f"order {order_id} is locked (packed): address change refused")
        self.updates.append((order_id, copy.deepcopy(dict(changes)), reason))
        if "status" in changes:
            order["status"] = changes["status"]
        order["tags"] = [t for t in order.get("tags", []) + list(changes.get("add_tags", []))
                         if t not in changes.get("remove_tags", [])]
        if changes.get("flag"):
            order["flags"] = [*order.get("flags", []), changes["flag"]]
        if "hold" in changes:
            order["hold"] = bool(changes["hold"])
        if "address" in changes:
            order["address"] = {**(order.get("address") or {}), **changes["address"]}
        order["version"] += 1
        return copy.deepcopy(order)


@dataclass
class FakeHttp:
    """Answers from ``replies`` in turn (an HttpResponse, or an exception to raise); then 200 {}."""

    replies: list[HttpResponse | Exception] = field(default_factory=list)
    requests: list[dict] = field(default_factory=list)

    def request(self, method: str, url: str, *, headers: Mapping[str, str], json: Any,
                timeout: float) -> HttpResponse:
        self.requests.append({"method": method, "url": url, "headers": dict(headers), "json": json,
                              "timeout": timeout})
        reply = self.replies.pop(0) if self.replies else reply_with(200, {})
        if isinstance(reply, Exception):
            raise reply
        return reply


def reply_with(status: int, body: Any = None) -> HttpResponse:
    return HttpResponse(status=status, headers={}, body=body, elapsed_ms=12.0)


@dataclass
class FakeNotifier:
    sent: list[dict] = field(default_factory=list)

    def send(self, channel: str, to: str, message: str, payload: Mapping[str, Any] | None = None) -> dict:
        self.sent.append({"channel": channel, "to": to, "message": message, "payload": dict(payload or {})})
        return {"notification_id": len(self.sent)}


@dataclass
class FakeTasks:
    created: list[dict] = field(default_factory=list)

    def create(self, *, kind: str, queue: str, title: str, priority: str, due_at: datetime | None,
               assignee: str | None = None, details: Mapping[str, Any] | None = None) -> int:
        self.created.append({"kind": kind, "queue": queue, "title": title, "priority": priority,
                             "due_at": due_at, "assignee": assignee, "details": dict(details or {})})
        return 100 + len(self.created)


def _created(order: Mapping[str, Any]) -> datetime:
    moment = datetime.fromisoformat(str(order["created_at"]))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass
class FakeRecentOrders:
    """Orders placed at most ``window_minutes`` before this one, with the same fingerprint."""

    orders: list[dict] = field(default_factory=list)
    calls: list[tuple] = field(default_factory=list)

    def similar(self, order: Mapping[str, Any], window_minutes: float, keys: list[str]) -> list[str]:
        self.calls.append((order["id"], window_minutes, list(keys)))
        mine, placed = fingerprint(order, keys), _created(order)
        since = placed - timedelta(minutes=window_minutes)
        return [o["id"] for o in self.orders
                if o["id"] != order["id"] and fingerprint(o, keys) == mine
                and (since <= _created(o) < placed or (_created(o) == placed and str(o["id"]) < str(order["id"])))]


@dataclass
class FakeConnectors:
    groups: dict[str, dict] = field(default_factory=lambda: {
        "payment": {"active": "alipay", "backup": "wechat_pay", "members": ["alipay", "wechat_pay", "unionpay"]}})
    log: list[tuple[str, str, str]] = field(default_factory=list)

    def switch(self, group: str, to: str, reason: str) -> dict:
        if group not in self.groups:
            raise NodeError(f"no connector group {group!r}")
        entry = self.groups[group]
        target = entry["backup"] if to == "backup" else to
        if target not in entry["members"]:
            raise NodeError(f"{target!r} is not a connector of {group!r}")
        previous, entry["active"] = entry["active"], target
        self.log.append((group, target, reason))
        return {"group": group, "active": target, "previous": previous}


READ_ONLY_SERVICES = {RECENT_ORDERS}


@dataclass
class FakeContext:
    order: dict | None = field(default_factory=sample_order)
    event: dict = field(default_factory=lambda: {"type": "order.created", "source": "taobao", "payload": {}})
    vars: dict = field(default_factory=dict)
    run_id: int | None = 7
    node_id: str = "n1"
    dry_run: bool = False
    clock: datetime = NOW
    secrets: dict = field(default_factory=dict)
    orders: Any = field(default_factory=FakeOrders)
    http: Any = field(default_factory=FakeHttp)
    notifier: Any = field(default_factory=FakeNotifier)
    tasks: Any = field(default_factory=FakeTasks)
    services: dict = field(default_factory=lambda: {RECENT_ORDERS: FakeRecentOrders(), CONNECTORS: FakeConnectors()})

    def __post_init__(self) -> None:
        if self.dry_run:
            self.orders, self.http = Refused("orders"), Refused("http")
            self.notifier, self.tasks = Refused("notifier"), Refused("tasks")

    def now(self) -> datetime:
        return self.clock

    def secret(self, name: str) -> str | None:
        return self.secrets.get(name)

    def service(self, name: str) -> Any:
        if name not in self.services:
            raise NodeError(f"no service {name!r}")
        if self.dry_run and name not in READ_ONLY_SERVICES:
            return Refused(name)
        return self.services[name]


def config_errors(type_name: str, config: dict) -> list[str]:
    """What validation would say about a node's settings: schema errors, then the node's own check."""
    node_type = registry.get(type_name)
    errors = [f"{'.'.join(map(str, e.absolute_path)) or '$'}: {e.message}"
              for e in Draft202012Validator(node_type.config_schema).iter_errors(config)]
    return errors + [f"{'.'.join(map(str, p.path))}: {p.message}" for p in node_type.check_config(config)]
