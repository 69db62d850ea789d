"""Run semantics with a real `orderflow worker` process on real Redis: waits, approvals, timers,
schedules, connector failover, retries and the SSRF guard. One web + worker pair serves the module;
each scenario has its own event source or status so flows do not see each other's events."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import order_event

pytestmark = pytest.mark.slow


def trigger(source: str, *events: str) -> dict:
    return {"id": "t", "type": "trigger.order_event", "config": {"events": list(events) or ["order.created"],
                                                                 "source": source}}


def flow(name: str, nodes: list[dict], edges: list[tuple]) -> dict:
    return {"schema_version": 1, "name": name, "nodes": nodes,
            "edges": [{"from": e[0], "to": e[-1], **({"port": e[1]} if len(e) == 3 else {})} for e in edges]}


def post(stack, event: dict) -> dict:
    answer = stack.api("POST", "/api/v1/events", json=event)
    assert answer.status_code == 202, answer.text
    return answer.json()


def steps(run: dict) -> list[tuple]:
    return [(s["node_id"], s["status"], s["port"]) for s in run["steps"]]


def test_wait_suspends_without_a_worker_and_resumes(shared_stack):
    stack = shared_stack
    stack.publish(flow("wait", [trigger("wait-src"),
                                {"id": "w", "type": "wait", "config": {"until": "{{ event.payload.resume_at }}"}},
                                {"id": "u", "type": "update_order", "config": {"add_tags": ["woke"]}}],
                       [("t", "w"), ("w", "u")]))
    resume_at = (datetime.now(UTC) + timedelta(seconds=2)).isoformat()
    event = {**order_event("W-1"), "source": "wait-src", "resume_at": resume_at}
    run_id = post(stack, event)["runs"][0]
    waiting = stack.wait_run(run_id, statuses=("waiting",))
    assert steps(waiting)[-1] == ("w", "waiting", None)
    done = stack.wait_run(run_id, timeout=15)
    assert done["status"] == "succeeded"
    assert steps(done) == [("t", "succeeded", "out"), ("w", "succeeded", "out"), ("u", "succeeded", "out")]
    assert "woke" in stack.api("GET", "/api/v1/orders/W-1").json()["tags"]


def test_approval_resolved_through_the_api(shared_stack):
    stack = shared_stack
    stack.publish(flow("approval", [
        trigger("approval-src"),
        {"id": "a", "type": "approval", "config": {"queue": "risk", "title": "Approve {{ order.id }}"}},
        {"id": "yes", "type": "update_order", "config": {"add_tags": ["approved"]}},
        {"id": "no", "type": "update_order", "config": {"hold": True}}],
        [("t", "a"), ("a", "approved", "yes"), ("a", "rejected", "no")]))
    run_id = post(stack, {**order_event("AP-1", amount=90000), "source": "approval-src"})["runs"][0]
    stack.wait_run(run_id, statuses=("waiting",))
    tasks = stack.api("GET", "/api/v1/tasks?queue=risk&status=open").json()["items"]
    assert [(t["kind"], t["order_id"], t["run_id"], t["title"]) for t in tasks] == [
        ("approval", "AP-1", run_id, "Approve AP-1")]
    bad = stack.api("POST", f"/api/v1/tasks/{tasks[0]['id']}/resolve", json={"decision": "maybe"})
    assert bad.status_code == 400 and bad.json()["details"][0]["path"] == "decision"
    ok = stack.api("POST", f"/api/v1/tasks/{tasks[0]['id']}/resolve", json={"decision": "approve", "comment": "fine"})
    assert ok.status_code == 200 and ok.json()["status"] == "done"
    run = stack.wait_run(run_id)
    assert steps(run)[1:] == [("a", "succeeded", "approved"), ("yes", "succeeded", "out")]
    again = stack.api("POST", f"/api/v1/tasks/{tasks[0]['id']}/resolve", json={"decision": "reject"})
    assert again.status_code == 409


def test_stale_trigger_fires_for_a_still_pending_order_only(shared_stack):
    stack = shared_stack
    flow_id = stack.publish(flow("stale", [
        {"id": "t", "type": "trigger.order_stale", "config": {"status": "awaiting_stock", "minutes": 15}},
        {"id": "f", "type": "update_order", "config": {"flag": "red"}},
        {"id": "a", "type": "assign", "config": {"queue": "ops", "title": "Stuck: {{ order.id }}"}}],
        [("t", "f"), ("f", "a")]))
    post(stack, order_event("ST-1", status="awaiting_stock", event_id="st-1"))
    post(stack, order_event("ST-2", status="awaiting_stock", event_id="st-2"))
    post(stack, order_event("ST-2", event_type="order.status_changed", status="paid", event_id="st-2b"))
    deadline = time.monotonic() + 10
    while stack.api("GET", "/api/v1/orders/ST-2").json().get("status") != "paid" and time.monotonic() < deadline:
        time.sleep(0.1)
    # the controllable clock: both orders entered their status 20 minutes ago
    stack.sql("UPDATE orders SET status_since = datetime('now', '-20 minutes') WHERE id IN ('ST-1', 'ST-2')")
    stack.sweep()
    stack.sweep()  # a second pass (or the timer itself) must not fire again
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        runs = stack.api("GET", f"/api/v1/runs?flow={flow_id}").json()["items"]
        if runs and all(r["status"] == "succeeded" for r in runs):
            break
        time.sleep(0.2)
    assert [r["order_id"] for r in runs] == ["ST-1"]
    assert stack.api("GET", "/api/v1/orders/ST-1").json()["flags"] == ["red"]
    assert stack.api("GET", "/api/v1/orders/ST-2").json()["flags"] == []


def test_cron_schedule_fires_once_per_tick(shared_stack):
    stack = shared_stack
    flow_id = stack.publish(flow("daily report", [
        {"id": "t", "type": "trigger.schedule", "config": {"cron": "0 9 * * *", "timezone": "Asia/Shanghai"}},
        {"id": "n", "type": "notify", "config": {"channel": "in_app", "to": "ops", "message": "daily report"}}],
        [("t", "n")]))
    stack.sweep()  # the first pass only notes the publish time
    assert stack.api("GET", f"/api/v1/runs?flow={flow_id}").json()["total"] == 0
    # the controllable clock: pretend the last tick was two days ago
    stack.sql("UPDATE settings SET value = ? WHERE key = ?", '"' + (datetime.now(UTC) - timedelta(days=2)).isoformat()
              .replace("+00:00", "Z") + '"', f"cron:{flow_id}:1")
    stack.sweep()
    stack.sweep()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        runs = stack.api("GET", f"/api/v1/runs?flow={flow_id}").json()["items"]
        if runs and runs[0]["status"] == "succeeded":
            break
        time.sleep(0.2)
    assert len(runs) == 1 and runs[0]["status"] == "succeeded"


def test_connector_failover_after_three_missing_callbacks(shared_stack):
    stack = shared_stack
    for name, role in (("alipay", "primary"), ("alipay_backup", "backup")):
        r = stack.api("POST", "/api/v1/connectors", json={"name": name, "group": "payment", "role": role,
                                                          "callback_timeout_s": 1})
        assert r.status_code == 200, r.text
    flow_id = stack.publish(flow("failover", [
        {"id": "t", "type": "trigger.connector_health", "config": {"connector": "alipay", "consecutive_failures": 3}},
        {"id": "s", "type": "switch_connector", "config": {"group": "payment", "to": "backup"}},
        {"id": "n", "type": "notify", "config": {"channel": "in_app", "to": "ops",
                                                 "message": "switched {{ event.payload.connector }}"}}],
        [("t", "s"), ("s", "n")]))
    paid = order_event("PAY-0", payment_channel="alipay", event_id="pay-0")
    post(stack, paid)
    post(stack, {**order_event("PAY-0", event_type="payment.succeeded"), "event_id": "pay-0-ok"})
    for n in range(1, 5):
        post(stack, order_event(f"PAY-{n}", payment_channel="alipay", event_id=f"pay-{n}"))
    time.sleep(2.5)  # the callbacks are now overdue
    stack.sweep()
    stack.sweep()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        runs = stack.api("GET", f"/api/v1/runs?flow={flow_id}").json()["items"]
        if runs and runs[0]["status"] in ("succeeded", "failed"):
            break
        time.sleep(0.2)
    assert len(runs) == 1 and runs[0]["status"] == "succeeded", runs  # once per streak, not per miss
    board = {c["name"]: c for c in stack.api("GET", "/api/v1/boards/connectors").json()["items"]}
    assert board["alipay"]["active"] is False and board["alipay_backup"]["active"] is True
    assert board["alipay"]["consecutive_failures"] == 4


def test_call_api_retries_503_then_succeeds_with_one_idempotency_key(shared_stack, httpserver):
    stack = shared_stack
    calls = []

    def answer(request):
        from werkzeug import Response

        calls.append(request.headers.get("Idempotency-Key"))
        return Response('{"tracking_no": "SF123"}' if len(calls) > 2 else "busy",
                        status=200 if len(calls) > 2 else 503, content_type="application/json")

    httpserver.expect_request("/shipments").respond_with_handler(answer)
    stack.publish(flow("carrier", [
        trigger("retry-src"),
        {"id": "c", "type": "call_api", "config": {
            "method": "POST", "url": httpserver.url_for("/shipments"), "body": {"order": "{{ order.id }}"},
            "retry": {"max_attempts": 3, "backoff_s": 0.2, "on_status": [503]},
            "response_vars": {"tracking": "body.tracking_no"}}},
        {"id": "u", "type": "update_order", "config": {"add_tags": ["{{ vars.tracking }}"]}}],
        [("t", "c"), ("c", "u")]))
    run = stack.wait_run(post(stack, {**order_event("CA-1"), "source": "retry-src"})["runs"][0])
    assert run["status"] == "succeeded"
    assert [(s["node_id"], s["status"]) for s in run["steps"]] == [
        ("t", "succeeded"), ("c", "retrying"), ("c", "retrying"), ("c", "succeeded"), ("u", "succeeded")]
    assert len(calls) == 3 and len(set(calls)) == 1 and calls[0] == f"orderflow-{run['id']}-c"
    assert run["vars"]["tracking"] == "SF123"


def test_call_api_guard_refuses_internal_addresses(shared_stack):
    stack = shared_stack
    stack.publish(flow("ssrf", [
        trigger("ssrf-src"),
        {"id": "c", "type": "call_api", "config": {"method": "GET", "url": "{{ event.payload.target }}"}}],
        [("t", "c")]))
    for target in ("http://169.254.169.254/latest/meta-data/", "http://10.11.12.13/admin", "http://[::ffff:10.0.0.1]/"):
        run_id = post(stack, {**order_event(), "source": "ssrf-src", "target": target})["runs"][0]
        run = stack.wait_run(run_id)
        assert run["status"] == "failed" and run["failed_node"] == "c"
        assert "refused" in run["steps"][-1]["error"], run["steps"][-1]
