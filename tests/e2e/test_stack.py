"""End to end: a real `orderflow web` (gunicorn) and a real `orderflow worker` process, over HTTP."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import pytest
import requests

from tests.conftest import load_flow, order_event

pytestmark = pytest.mark.slow


def publish(stack, definition: dict) -> int:
    created = requests.post(f"{stack.url}/api/v1/flows", json=definition, headers=stack.auth, timeout=10)
    assert created.status_code == 201, created.text
    flow_id = created.json()["id"]
    published = requests.post(f"{stack.url}/api/v1/flows/{flow_id}/publish", headers=stack.auth, timeout=10)
    assert published.status_code == 200, published.text
    return flow_id


def test_event_to_succeeded_run_and_refusals(live_stack):
    stack = live_stack
    publish(stack, load_flow("high_value"))
    event = order_event("E2E-1", amount=2500, event_id="e2e-1")
    answer = requests.post(f"{stack.url}/api/v1/events", json=event, headers=stack.auth, timeout=10)
    assert answer.status_code == 202
    body = answer.json()
    assert body["duplicate"] is False and len(body["runs"]) == 1
    run = stack.wait_run(body["runs"][0])
    assert run["status"] == "succeeded"
    assert [s["node_id"] for s in run["steps"]] == ["t1", "c1", "a1"]
    assert [s["port"] for s in run["steps"]] == ["out", "true", "out"]

    again = requests.post(f"{stack.url}/api/v1/events", json=event, headers=stack.auth, timeout=10).json()
    assert again["duplicate"] is True and again["runs"] == body["runs"]
    time.sleep(0.5)
    runs = requests.get(f"{stack.url}/api/v1/runs", headers=stack.auth, timeout=10).json()
    assert runs["total"] == 1

    tasks = requests.get(f"{stack.url}/api/v1/tasks?queue=finance&status=open", headers=stack.auth, timeout=10).json()
    assert [t["order_id"] for t in tasks["items"]] == ["E2E-1"]

    def post(data, headers=stack.auth):
        return requests.post(f"{stack.url}/api/v1/events", data=data,
                             headers={**headers, "Content-Type": "application/json"}, timeout=10)

    r = post("{broken")
    assert r.status_code == 400 and r.json()["details"][0]["path"] == "$"
    r = post(json.dumps({**order_event(), "type": "order.teleported"}))
    assert r.status_code == 400 and r.json()["details"][0]["path"] == "$.type"
    missing = order_event()
    del missing["source"]
    r = post(json.dumps(missing))
    assert r.status_code == 400 and r.json()["details"][0]["path"] == "$.source"
    r = post(json.dumps(order_event()), headers={"Authorization": "Bearer wrong"})
    assert r.status_code == 401 and r.json()["error"]


def test_signed_webhook_end_to_end(live_stack):
    stack = live_stack
    publish(stack, load_flow("webhook_payment"))
    body = json.dumps({"order": {"id": "WH-1", "amount": 10}}).encode()
    stamp = str(int(time.time()))
    signature = "sha256=" + hmac.new(b"s3cret", stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    headers = {"X-OrderFlow-Timestamp": stamp, "X-OrderFlow-Signature": signature, "Content-Type": "application/json"}
    answer = requests.post(f"{stack.url}/hooks/pay-result", data=body, headers=headers, timeout=10)
    assert answer.status_code == 202
    assert stack.wait_run(answer.json()["runs"][0])["status"] == "succeeded"
    order = requests.get(f"{stack.url}/api/v1/orders/WH-1", headers=stack.auth, timeout=10).json()
    assert order["status"] == "paid" and order["version"] == 2
    bad = {**headers, "X-OrderFlow-Signature": "sha256=" + "0" * 64}
    r = requests.post(f"{stack.url}/hooks/pay-result", data=body, headers=bad, timeout=10)
    assert r.status_code == 401 and r.json()["details"][0]["path"] == "X-OrderFlow-Signature"


def test_events_wait_in_the_inbox_while_no_worker_runs(tmp_path, redis_url):
    """The 202 means stored: with the worker down, the run waits; a worker started later runs it."""
    from tests.conftest import LiveStack

    stack = LiveStack(tmp_path, redis_url, workers=0)
    try:
        publish(stack, load_flow("high_value"))
        run_id = requests.post(f"{stack.url}/api/v1/events", json=order_event("LATE-1", amount=1),
                               headers=stack.auth, timeout=10).json()["runs"][0]
        time.sleep(1)
        assert requests.get(f"{stack.url}/api/v1/runs/{run_id}", headers=stack.auth, timeout=10).json()["status"] == "queued"
        stack.start("worker-late", "worker")
        assert stack.wait_run(run_id)["status"] == "succeeded"
    finally:
        stack.stop()
