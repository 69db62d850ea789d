"""Email notifications through a real (local) SMTP server."""

from __future__ import annotations

import pytest
from aiosmtpd.controller import Controller

from runtime.db import db
from runtime.models import Notification, Run
from tests.conftest import free_port, order_event, post_flow


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.rcpt_tos, envelope.content.decode()))
        return "250 OK"


@pytest.fixture
def smtp(monkeypatch):
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    monkeypatch.setenv("ORDERFLOW_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("ORDERFLOW_SMTP_PORT", str(controller.port))
    yield inbox
    controller.stop()


def test_notify_by_email(client, auth, run_jobs, smtp):
    post_flow(client, auth, {"schema_version": 1, "name": "mail", "nodes": [
        {"id": "t", "type": "trigger.order_event", "config": {"events": ["order.created"]}},
        {"id": "n", "type": "notify", "config": {"channel": "email", "to": "ops@example.com",
                                                 "subject": "Big order {{ order.id }}",
                                                 "message": "Order {{ order.id }}: {{ order.amount }}"}}],
        "edges": [{"from": "t", "to": "n"}]})
    run_id = client.post("/api/v1/events", json=order_event("EM-1", amount=4200), headers=auth).json["runs"][0]
    run_jobs()
    assert db.session.get(Run, run_id).status == "succeeded"
    (recipients, content), = smtp.messages
    assert recipients == ["ops@example.com"] and "Subject: Big order EM-1" in content and "Order EM-1: 4200\r\n" in content
    assert Notification.query.one().channel == "email"
