"""Triggers: which events start a flow, as pure functions over (config, event)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from nodes import registry
from nodes.schedule import SCHEDULE_EVENT, next_fire
from nodes.triggers import CONNECTOR_EVENT, RUN_FAILED_EVENT, STALE_EVENT, health_matches, stale_due_at, still_stale
from tests.nodes.fakes import config_errors


def matches(type_name: str, config: dict, event: dict) -> bool:
    return registry.get(type_name).matches(config, event)


# ------------------------------------------------------------------ order events and webhooks

def test_order_event_by_type_source_and_condition():
    config = {"events": ["order.created", "payment.failed"], "source": "taobao",
              "condition": {"match": "all", "rules": [{"field": "order.amount", "op": ">", "value": 1000}]}}
    event = {"type": "order.created", "source": "taobao", "order": {"id": "A", "amount": 5000}}
    assert matches("trigger.order_event", config, event)
    assert not matches("trigger.order_event", config, {**event, "type": "order.packed"})
    assert not matches("trigger.order_event", config, {**event, "source": "douyin"})
    assert not matches("trigger.order_event", config, {**event, "order": {"id": "A", "amount": 5}})
    assert matches("trigger.order_event", {"events": ["order.created"]}, {**event, "source": "douyin"})


def test_webhook_by_key():
    assert matches("trigger.webhook", {"key": "pay-result"}, {"hook_key": "pay-result"})
    assert not matches("trigger.webhook", {"key": "pay-result"}, {"hook_key": "other"})
    assert config_errors("trigger.webhook", {"key": "a b"})


# ------------------------------------------------------------------ order stays in a status

SINCE = datetime(2026, 11, 11, 1, 0, tzinfo=UTC)
STALE = {"status": "pending", "minutes": 15}


def stale_event(order_status="pending", order_since=SINCE, fired_at=SINCE + timedelta(minutes=15), **payload):
    return {"type": STALE_EVENT, "occurred_at": fired_at.isoformat(),
            "order": {"id": "A", "status": order_status, "status_since": order_since.isoformat()},
            "payload": {"status": "pending", "since": SINCE.isoformat(), "minutes": 15, **payload}}


def test_stale_timer_is_due_n_minutes_after_entering_the_status():
    assert stale_due_at(STALE, SINCE) == SINCE + timedelta(minutes=15)


def test_stale_fires_for_an_order_still_pending_since_that_moment():
    assert matches("trigger.order_stale", STALE, stale_event())
    assert matches("trigger.order_stale", STALE, stale_event(fired_at=SINCE + timedelta(hours=3)))  # a late sweep


def test_stale_does_not_fire_for_an_order_that_moved_on():
    assert not matches("trigger.order_stale", STALE, stale_event(order_status="paid"))


def test_stale_does_not_fire_for_an_order_that_left_and_came_back():
    """Back in pending since a later moment: its own, later timer will decide."""
    assert not matches("trigger.order_stale", STALE, stale_event(order_since=SINCE + timedelta(minutes=10)))


def test_stale_does_not_fire_early_or_for_another_flows_timer():
    assert not matches("trigger.order_stale", STALE, stale_event(fired_at=SINCE + timedelta(minutes=14)))
    assert not matches("trigger.order_stale", STALE, stale_event(minutes=60))  # a 60-minute flow's timer
    assert not matches("trigger.order_stale", STALE, {**stale_event(), "type": "order.created"})
    assert not matches("trigger.order_stale", {"status": "paid", "minutes": 15}, stale_event())


def test_still_stale_tolerates_serialisation_of_status_since():
    order = {"status": "pending", "status_since": "2026-11-11T01:00:00.000400"}  # naive = UTC, extra digits
    assert still_stale(STALE, order, "2026-11-11T01:00:00Z", SINCE + timedelta(minutes=15))
    assert not still_stale(STALE, {"status": "pending"}, SINCE, SINCE + timedelta(days=1))


# ------------------------------------------------------------------ schedule

@pytest.mark.parametrize("config, after, expected", [
    ({"cron": "0 9 * * *", "timezone": "Asia/Shanghai"}, "2026-11-11T00:00:00Z", "2026-11-11T01:00:00+00:00"),
    ({"cron": "0 9 * * *", "timezone": "Asia/Shanghai"}, "2026-11-11T01:00:00Z", "2026-11-12T01:00:00+00:00"),
    ({"cron": "0 9 * * *"}, "2026-11-11T00:00:00Z", "2026-11-11T09:00:00+00:00"),  # UTC by default
    ({"cron": "*/15 * * * *", "timezone": "UTC"}, "2026-11-11T10:07:00Z", "2026-11-11T10:15:00+00:00"),
    ({"cron": "0 18 * * 1-5", "timezone": "Asia/Shanghai"}, "2026-11-13T10:00:00Z", "2026-11-16T10:00:00+00:00"),
    # New York's clocks go forward on Sunday 8 March 2026: 9:00 is 14:00 UTC before it, 13:00 UTC from it
    ({"cron": "0 9 * * *", "timezone": "America/New_York"}, "2026-03-07T15:00:00Z", "2026-03-08T13:00:00+00:00"),
    ({"cron": "0 9 * * *", "timezone": "America/New_York"}, "2026-03-06T15:00:00Z", "2026-03-07T14:00:00+00:00"),
])
def test_next_fire(config, after, expected):
    fired = next_fire(config, datetime.fromisoformat(after.replace("Z", "+00:00")))
    assert fired.isoformat() == expected and fired.tzinfo == UTC


def test_next_fire_takes_naive_times_as_utc():
    assert next_fire({"cron": "30 * * * *"}, datetime(2026, 1, 1, 10, 0)) == datetime(2026, 1, 1, 10, 30, tzinfo=UTC)


def test_schedule_matches_its_tick():
    assert matches("trigger.schedule", {"cron": "0 9 * * *"}, {"type": SCHEDULE_EVENT, "payload": {}})
    assert not matches("trigger.schedule", {"cron": "0 9 * * *"}, {"type": "order.created"})


@pytest.mark.parametrize("config, where", [
    ({"cron": "61 9 * * *"}, "cron"),
    ({"cron": "0 9 * *"}, "cron"),
    ({"cron": "* * * * * *"}, "cron"),       # six fields would fire every second
    ({"cron": "0 0 31 2 *"}, "cron"),        # 31 February never comes
    ({"cron": "hello"}, "cron"),
    ({"cron": "0 9 * * *", "timezone": "Mars/Olympus"}, "timezone"),
    ({"cron": "0 9 * * *", "timezone": "../../etc/passwd"}, "timezone"),
])
def test_schedule_check_refuses_bad_lines_and_zones(config, where):
    problems = registry.get("trigger.schedule").check_config(config)
    assert [p.path for p in problems] == [(where,)]
    assert config_errors("trigger.schedule", config)


def test_schedule_check_accepts_good_ones():
    assert config_errors("trigger.schedule", {"cron": "*/5 8-20 * * 1-5", "timezone": "Europe/Berlin"}) == []


# ------------------------------------------------------------------ connector health

def test_connector_health_fires_once_when_the_streak_reaches_n():
    config = {"connector": "alipay", "consecutive_failures": 3}
    assert [health_matches(config, "alipay", n) for n in range(1, 6)] == [False, False, True, False, False]
    assert not health_matches(config, "wechat_pay", 3)
    assert health_matches({"connector": "*", "consecutive_failures": 3}, "wechat_pay", 3)
    assert health_matches({"connector": "alipay"}, "alipay", 3)  # 3 by default


def test_connector_health_reads_the_event():
    event = {"type": CONNECTOR_EVENT, "payload": {"connector": "alipay", "group": "payment",
                                                  "consecutive_failures": 3, "kind": "missing_callback"}}
    assert matches("trigger.connector_health", {"connector": "alipay", "consecutive_failures": 3}, event)
    assert not matches("trigger.connector_health", {"connector": "alipay"}, {**event, "type": "order.created"})
    assert not matches("trigger.connector_health", {"connector": "alipay"}, {"type": CONNECTOR_EVENT})


# ------------------------------------------------------------------ run failed

def failed(flow_id=4, trigger_type="trigger.order_event"):
    return {"type": RUN_FAILED_EVENT, "payload": {"run_id": 9, "flow_id": flow_id, "flow_version": 2,
                                                  "node_id": "api", "error": "503", "trigger_type": trigger_type}}


def test_run_failed_for_all_or_some_flows():
    assert matches("trigger.run_failed", {}, failed())
    assert matches("trigger.run_failed", {"flows": []}, failed())
    assert matches("trigger.run_failed", {"flows": [4, 5]}, failed())
    assert matches("trigger.run_failed", {"flows": [4]}, failed(flow_id="4"))
    assert not matches("trigger.run_failed", {"flows": [5]}, failed())
    assert not matches("trigger.run_failed", {}, {"type": "order.created"})


def test_a_failing_failure_handler_does_not_feed_itself():
    assert not matches("trigger.run_failed", {}, failed(trigger_type="trigger.run_failed"))


def test_trigger_schemas():
    assert config_errors("trigger.order_stale", {"status": "pending", "minutes": 0})
    assert config_errors("trigger.order_stale", {"status": "pending"})
    assert config_errors("trigger.connector_health", {"connector": "ali pay"})
    assert config_errors("trigger.connector_health", {"connector": "*"}) == []
    assert config_errors("trigger.run_failed", {"flows": ["x"]})
