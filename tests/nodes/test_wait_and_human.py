"""Nodes that make the run wait: wait, approval; and assign, which creates a task but does not wait."""

from __future__ import annotations

from datetime import timedelta

import pytest

from nodes import registry
from nodes.base import NodeError
from tests.nodes.fakes import NOW, FakeContext, config_errors, sample_order

WAIT = registry.get("wait")
APPROVAL = registry.get("approval")
ASSIGN = registry.get("assign")


# ------------------------------------------------------------------ wait

def test_wait_minutes_suspends_until_then_and_resumes_on_out():
    result = WAIT.run(FakeContext(), {"minutes": 30})
    assert result.port is None
    assert result.suspend.reason == "wait"
    assert result.suspend.resume_at == NOW + timedelta(minutes=30)
    assert result.suspend.timeout_port == "out" and result.suspend.wait_event is None


def test_wait_until_a_time_in_any_zone():
    result = WAIT.run(FakeContext(), {"until": "2026-11-11T18:00:00+08:00"})
    assert result.suspend.resume_at == NOW + timedelta(hours=9)  # NOW is 09:00 in Shanghai


def test_wait_until_a_time_from_the_order():
    ctx = FakeContext(order=sample_order(promised_at="2026-11-12T01:00:00Z"))
    result = WAIT.run(ctx, {"until": "{{ order.promised_at }}"})
    assert result.suspend.resume_at == NOW + timedelta(days=1)


def test_wait_until_a_past_time_continues_at_once():
    result = WAIT.run(FakeContext(), {"until": "2026-11-10T00:00:00Z"})
    assert result.suspend is None and result.port == "out" and result.output["waited"] is False


def test_wait_until_garbage_fails_clearly():
    with pytest.raises(NodeError, match="not an ISO-8601 time"):
        WAIT.run(FakeContext(order=sample_order(promised_at="soon")), {"until": "{{ order.promised_at }}"})


def test_wait_for_an_event_with_a_timeout_port():
    result = WAIT.run(FakeContext(), {"event": "order.packed", "timeout_minutes": 60})
    suspend = result.suspend
    assert (suspend.reason, suspend.wait_event, suspend.timeout_port) == ("wait", "order.packed", "timed_out")
    assert suspend.resume_at == NOW + timedelta(minutes=60)
    assert WAIT.output_ports({"event": "order.packed"}) == ["out", "timed_out"]


def test_waiting_for_an_order_event_needs_an_order():
    with pytest.raises(NodeError, match="needs an order"):
        WAIT.run(FakeContext(order=None), {"event": "order.packed"})


def test_wait_for_an_event_times_out_after_a_day_by_default():
    assert WAIT.run(FakeContext(), {"event": "order.packed"}).suspend.resume_at == NOW + timedelta(days=1)


@pytest.mark.parametrize("config", [{"minutes": 30}, {"until": "2026-11-12T00:00:00Z"}, {"event": "order.packed"}])
def test_wait_dry_run_reports_and_continues_on_out(config):
    result = WAIT.run(FakeContext(dry_run=True), config)
    assert result.suspend is None and result.port == "out"
    assert result.output["dry_run"] is True and "would_wait" in result.output


def test_wait_settings():
    assert config_errors("wait", {}) and config_errors("wait", {"minutes": 5, "event": "order.packed"})
    assert config_errors("wait", {"minutes": 0}) and config_errors("wait", {"event": "order.eaten"})
    assert config_errors("wait", {"event": "order.packed", "timeout_minutes": 60}) == []
    assert [e.split(":")[0] for e in config_errors("wait", {"until": "next tuesday"})] == ["until"]
    assert [e.split(":")[0] for e in config_errors("wait", {"until": "{{ order.x "})] == ["until"]
    assert config_errors("wait", {"until": "{{ order.promised_at }}"}) == []


# ------------------------------------------------------------------ approval

APPROVAL_CONFIG = {"queue": "cs", "title": "Approve address change for {{ order.id }}", "timeout_minutes": 120,
                   "message": "New city: {{ order.address.city }}", "priority": "high"}


def test_approval_creates_a_task_and_waits_for_it():
    ctx = FakeContext()
    result = APPROVAL.run(ctx, APPROVAL_CONFIG)
    assert ctx.tasks.created == [{"kind": "approval", "queue": "cs", "title": "Approve address change for A100",
                                  "priority": "high", "due_at": NOW + timedelta(minutes=120), "assignee": None,
                                  "details": {"message": "New city: Hangzhou"}}]
    suspend = result.suspend
    assert (suspend.reason, suspend.task_id, suspend.timeout_port) == ("approval", 101, "timed_out")
    assert suspend.resume_at == NOW + timedelta(minutes=120)
    assert result.port is None and result.output["task_id"] == 101
    assert APPROVAL.output_ports({}) == ["approved", "rejected", "timed_out"]


def test_approval_without_timeout_waits_for_a_person_only():
    ctx = FakeContext()
    result = APPROVAL.run(ctx, {"queue": "finance", "title": "Review", "assignee": "{{ order.customer.name }}"})
    assert result.suspend.resume_at is None and ctx.tasks.created[0]["due_at"] is None
    assert ctx.tasks.created[0]["assignee"] == "Li Lei"


@pytest.mark.parametrize("port", ["approved", "rejected", "timed_out"])
def test_approval_dry_run_creates_nothing_and_takes_the_chosen_port(port):
    result = APPROVAL.run(FakeContext(dry_run=True), {**APPROVAL_CONFIG, "dry_run_port": port})
    assert result.suspend is None and result.port == port
    assert result.output["would_create_task"]["title"] == "Approve address change for A100"


def test_approval_dry_run_assumes_approved_by_default():
    assert APPROVAL.run(FakeContext(dry_run=True), {"queue": "cs", "title": "t"}).port == "approved"


# ------------------------------------------------------------------ assign

def test_assign_creates_a_task_with_sla_and_escalation_and_goes_on():
    ctx = FakeContext()
    config = {"queue": "finance", "title": "Pending order {{ order.id }}", "priority": "urgent", "sla_minutes": 30,
              "escalate_to": "finance-lead@example.com", "escalate_channel": "email"}
    result = ASSIGN.run(ctx, config)
    assert result.port == "out" and result.suspend is None
    assert ctx.tasks.created == [{"kind": "task", "queue": "finance", "title": "Pending order A100",
                                  "priority": "urgent", "due_at": NOW + timedelta(minutes=30), "assignee": None,
                                  "details": {"escalate_to": "finance-lead@example.com", "escalate_channel": "email"}}]
    assert result.output["task_id"] == 101


def test_assign_defaults():
    ctx = FakeContext()
    ASSIGN.run(ctx, {"queue": "cs", "title": "t"})
    assert ctx.tasks.created[0] | {"title": None} == {"kind": "task", "queue": "cs", "title": None,
                                                      "priority": "normal", "due_at": None, "assignee": None,
                                                      "details": {}}


def test_assign_dry_run_creates_nothing():
    result = ASSIGN.run(FakeContext(dry_run=True), {"queue": "cs", "title": "Order {{ order.id }}", "sla_minutes": 5})
    assert result.port == "out" and result.output["would_create_task"]["title"] == "Order A100"


def test_assign_escalation_needs_an_sla():
    assert [e.split(":")[0] for e in config_errors("assign", {"queue": "cs", "title": "t", "escalate_to": "x"})] \
        == ["escalate_to"]
    assert config_errors("assign", {"queue": "cs", "title": "t", "escalate_to": "x", "sla_minutes": 5}) == []
    assert config_errors("assign", {"queue": "Finance Team", "title": "t"})
