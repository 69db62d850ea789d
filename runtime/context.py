"""The context a node runs with: the order, the event, vars, and the services of this run."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from nodes.base import NodeError
from nodes.triggers import ADDRESS_CHANGED
from runtime import orders
from runtime.http_client import GuardedHttp
from runtime.notifier import Notifier
from runtime.tasks import TaskInbox


def _utcnow() -> datetime:
    return datetime.now(UTC)


class RefusalRecorded(NodeError):
    """The step fails, but what it wrote to say why (an audit entry) stays."""


class RunOrders:
    """The ``Orders`` service: changes are versions attributed to the run."""

    def __init__(self, run_id: int | None, on_change, announce_address: bool):
        self.run_id, self.on_change, self.announce_address = run_id, on_change, announce_address

    def update(self, order_id: str, changes: Mapping[str, Any], *, reason: str) -> dict:
        try:
            order = orders.update(order_id, changes, actor=f"run:{self.run_id}", reason=reason, run_id=self.run_id,
                                  announce_address=self.announce_address)
        except orders.AddressLocked as exc:
            raise RefusalRecorded(str(exc)) from exc
        except orders.OrderError as exc:
            raise NodeError(str(exc)) from exc
        snapshot = order.to_dict()
        self.on_change(snapshot)
        return snapshot


class Refused:
    """Stands in for every service in a dry run: a node that forgets to check dry_run fails loudly."""

    def __getattr__(self, name):
        def refuse(*args, **kwargs):
            raise NodeError("dry run: this node tried a side effect")
        return refuse


@dataclass
class RunContext:
    """``order_box`` holds the run's current order snapshot, shared by the run's nodes so a
    node sees what the node before it changed."""

    run_id: int | None
    node_id: str
    event: dict
    vars: dict
    order_box: dict
    dry_run: bool = False
    flow_id: int | None = None
    http_client: GuardedHttp | None = None
    secrets: Mapping[str, str] = field(default_factory=dict)
    clock: Any = None
    services: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.dry_run:
            self.orders = self.http = self.notifier = self.tasks = Refused()
            return
        # a run started by an address change does not announce the changes it makes (no loops)
        self.orders = RunOrders(self.run_id, self._order_changed, self.event.get("type") != ADDRESS_CHANGED)
        self.http = self.http_client or GuardedHttp(())
        self.notifier = Notifier(self.run_id)
        self.tasks = TaskInbox(run_id=self.run_id, flow_id=self.flow_id, node_id=self.node_id,
                               order_id=(self.order or {}).get("id"))

    @property
    def order(self) -> dict | None:
        return self.order_box.get("order")

    def _order_changed(self, snapshot: dict) -> None:
        self.order_box["order"] = snapshot

    def now(self) -> datetime:
        return self.clock() if self.clock else _utcnow()

    def secret(self, name: str) -> str | None:
        value = self.secrets.get(name) or os.environ.get(f"ORDERFLOW_SECRET_{name.upper()}")
        if value is None:
            raise NodeError(f"secret {name!r} is not defined")
        return value

    def service(self, name: str) -> Any:
        if name not in self.services:
            raise NodeError(f"no service {name!r} here" + (" (dry run)" if self.dry_run else ""))
        return self.services[name]
