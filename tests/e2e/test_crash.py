"""A worker killed with SIGKILL in the middle of a run: another worker completes the run from its
last committed step, and no committed step is recorded twice."""

from __future__ import annotations

import signal
import threading
import time

import pytest
from werkzeug import Response

from tests.conftest import LiveStack, order_event

pytestmark = pytest.mark.slow


def test_sigkill_mid_run_resumes_from_last_committed_step(tmp_path, redis_url, httpserver):
    arrived = threading.Event()
    keys = []

    def slow_carrier(request):
        keys.append(request.headers.get("Idempotency-Key"))
        arrived.set()
        if len(keys) == 1:
            time.sleep(5)  # the first worker dies while waiting for this answer
        return Response('{"ok": true}', status=200, content_type="application/json")

    httpserver.expect_request("/label").respond_with_handler(slow_carrier)
    stack = LiveStack(tmp_path, redis_url, ORDERFLOW_RUN_LEASE_S="2", ORDERFLOW_SWEEP_S="0.5")
    try:
        stack.publish({"schema_version": 1, "name": "label", "nodes": [
            {"id": "t", "type": "trigger.order_event", "config": {"events": ["order.created"]}},
            {"id": "c", "type": "condition", "config": {"rules": [{"field": "order.amount", "op": ">", "value": 0}]}},
            {"id": "api", "type": "call_api", "config": {"url": httpserver.url_for("/label"), "timeout_s": 30}},
            {"id": "u", "type": "update_order", "config": {"add_tags": ["labelled"]}}],
            "edges": [{"from": "t", "to": "c"}, {"from": "c", "port": "true", "to": "api"}, {"from": "api", "to": "u"}]})
        run_id = stack.api("POST", "/api/v1/events", json=order_event("K-1", amount=10)).json()["runs"][0]
        assert arrived.wait(15), "the worker never called the carrier"
        stack.kill("worker0", signal.SIGKILL)  # the worker and the scheduler process it forked
        stack.processes["worker0"].wait(5)
        mid = stack.api("GET", f"/api/v1/runs/{run_id}").json()
        assert mid["status"] == "running" and [s["node_id"] for s in mid["steps"]] == ["t", "c"]

        stack.start("worker1", "worker")
        stack.start("scheduler", "scheduler", "--interval", "0.5")
        run = stack.wait_run(run_id, timeout=30)
        assert run["status"] == "succeeded"
        assert [(s["seq"], s["node_id"], s["status"]) for s in run["steps"]] == [
            (1, "t", "succeeded"), (2, "c", "succeeded"), (3, "api", "succeeded"), (4, "u", "succeeded")]
        assert len(keys) == 2 and keys[0] == keys[1] == f"orderflow-{run_id}-api"  # the carrier can dedupe the repeat
        assert stack.api("GET", "/api/v1/orders/K-1").json()["tags"] == ["labelled"]
    finally:
        stack.stop()
