"""Integration: events in over HTTP, runs executed by an RQ worker on real Redis, on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

from runtime.db import db
from runtime.models import Event, Order, Run, Step, Task
from tests.conftest import load_flow, order_event, post_flow


def test_event_starts_a_run_that_walks_the_true_branch(client, auth, run_jobs):
    flow_id = post_flow(client, auth, load_flow("high_value"))
    response = client.post("/api/v1/events", json=order_event("A1", amount=1500), headers=auth)
    assert response.status_code == 202
    body = response.json
    assert body["duplicate"] is False and len(body["runs"]) == 1
    # the event and its queued run are committed before the answer
    assert db.session.get(Run, body["runs"][0]).status == "queued"
    run_jobs()
    run = client.get(f"/api/v1/runs/{body['runs'][0]}", headers=auth).json
    assert run["status"] == "succeeded" and run["flow_id"] == flow_id and run["flow_version"] == 1
    assert [s["node_id"] for s in run["steps"]] == ["t1", "c1", "a1"]
    assert run["steps"][1]["port"] == "true"
    task = Task.query.one()
    assert (task.queue, task.title, task.order_id, task.run_id) == ("finance", "Pending order A1", "A1", run["id"])


def test_false_branch_changes_the_order_as_a_new_version(client, auth, run_jobs):
    post_flow(client, auth, load_flow("high_value"))
    run_id = client.post("/api/v1/events", json=order_event("A2", amount=10), headers=auth).json["runs"][0]
    run_jobs()
    assert [s.node_id for s in Step.query.filter_by(run_id=run_id).order_by(Step.id)] == ["t1", "c1", "u1"]
    order = client.get("/api/v1/orders/A2", headers=auth).json
    assert order["tags"] == ["small"] and order["version"] == 2
    versions = client.get("/api/v1/orders/A2/versions", headers=auth).json
    assert [v["version"] for v in versions["items"]] == [1, 2]
    assert versions["audit"][-1]["actor"] == f"run:{run_id}"


def test_duplicate_event_starts_nothing(client, auth, run_jobs):
    post_flow(client, auth, load_flow("high_value"))
    event = order_event("A3", event_id="same-id")
    first = client.post("/api/v1/events", json=event, headers=auth).json
    second = client.post("/api/v1/events", json=event, headers=auth).json
    assert second["duplicate"] is True and second["runs"] == first["runs"]
    run_jobs()
    assert Run.query.count() == 1 and Event.query.count() == 1


def test_event_for_no_flow_still_upserts_the_order(client, auth, run_jobs):
    response = client.post("/api/v1/events", json=order_event("A4", amount=5, region="west"), headers=auth)
    assert response.status_code == 202 and response.json["runs"] == []
    run_jobs()
    assert db.session.get(Order, "A4").region == "west"
    client.post("/api/v1/events", json=order_event("A4", event_type="order.updated", status="paid"), headers=auth)
    run_jobs()
    db.session.expire_all()
    order = db.session.get(Order, "A4")
    assert order.status == "paid" and order.region == "east" and order.version == 2


def test_bad_requests_get_4xx_naming_the_field(client, auth):
    def post(body, headers=auth, raw=None):
        return client.post("/api/v1/events", data=raw if raw is not None else json.dumps(body),
                           headers={**headers, "Content-Type": "application/json"})

    r = post(None, raw="{not json")
    assert r.status_code == 400 and r.json["details"][0]["path"] == "$"
    r = post({**order_event(), "type": "order.exploded"})
    assert r.status_code == 400 and r.json["details"][0]["path"] == "$.type"
    event = order_event()
    del event["event_id"]
    r = post(event)
    assert r.status_code == 400 and r.json["details"][0]["path"] == "$.event_id"
    r = post({**order_event(), "order": {"id": "X", "amount": "lots"}})
    assert r.status_code == 400 and r.json["details"][0]["path"] == "$.order.amount"
    r = post({**order_event(), "occurred_at": "yesterday"})
    assert r.status_code == 400 and r.json["details"][0]["path"] == "$.occurred_at"
    r = post(order_event(created_at="2026-13-45T99:00:00Z"))
    assert r.status_code == 400 and r.json["details"][0]["path"] == "$.order.created_at"
    r = post(order_event(), headers={"Authorization": "Bearer nope"})
    assert r.status_code == 401 and r.json["error"]
    r = post(order_event(), headers={})
    assert r.status_code == 401
    assert Event.query.count() == 0


def test_viewer_token_is_forbidden_to_post(client, app):
    from runtime.accounts import create_token

    viewer = create_token("v", "viewer")
    r = client.post("/api/v1/events", json=order_event(), headers={"Authorization": f"Bearer {viewer}"})
    assert r.status_code == 403
    assert client.get("/api/v1/runs", headers={"Authorization": f"Bearer {viewer}"}).status_code == 200


def _signed(secret: str, body: bytes, stamp: int | None = None) -> dict:
    stamp = stamp or int(time.time())
    digest = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    return {"X-OrderFlow-Timestamp": str(stamp), "X-OrderFlow-Signature": f"sha256={digest}",
            "Content-Type": "application/json"}


def test_webhook_with_signature_runs_its_flow(client, auth, run_jobs):
    post_flow(client, auth, load_flow("webhook_payment"))
    body = json.dumps({"order": {"id": "H1", "amount": 20}}).encode()
    r = client.post("/hooks/pay-result", data=body, headers=_signed("s3cret", body))
    assert r.status_code == 202 and len(r.json["runs"]) == 1
    again = client.post("/hooks/pay-result", data=body, headers=_signed("s3cret", body))
    assert again.json["duplicate"] is True
    run_jobs()
    order = db.session.get(Order, "H1")
    assert order.status == "paid" and "paid-by-hook" in order.tags


def test_webhook_refusals(client, auth):
    post_flow(client, auth, load_flow("webhook_payment"))
    body = json.dumps({"order": {"id": "H2"}}).encode()
    assert client.post("/hooks/nope", data=body).status_code == 404
    r = client.post("/hooks/pay-result", data=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 401 and r.json["details"][0]["path"] == "X-OrderFlow-Signature"
    r = client.post("/hooks/pay-result", data=body, headers=_signed("wrong", body))
    assert r.status_code == 401
    r = client.post("/hooks/pay-result", data=body, headers=_signed("s3cret", body, int(time.time()) - 301))
    assert r.status_code == 401 and r.json["details"][0]["path"] == "X-OrderFlow-Timestamp"
    bad = json.dumps({"amount": 1}).encode()
    r = client.post("/hooks/pay-result", data=bad, headers=_signed("s3cret", bad))
    assert r.status_code == 422 and "order" in r.json["details"][0]["message"]
    broken = b"{oops"
    assert client.post("/hooks/pay-result", data=broken, headers=_signed("s3cret", broken)).status_code == 400
    assert Event.query.count() == 0


def test_runs_stay_pinned_to_their_version(client, auth, run_jobs):
    flow = load_flow("high_value")
    flow_id = post_flow(client, auth, flow)
    first = client.post("/api/v1/events", json=order_event("P1", amount=10), headers=auth).json["runs"][0]
    flow["nodes"][3]["config"] = {"add_tags": ["v2"]}
    etag = client.get(f"/api/v1/flows/{flow_id}", headers=auth).headers["ETag"]
    assert client.put(f"/api/v1/flows/{flow_id}/draft", json=flow, headers={**auth, "If-Match": etag}).status_code == 200
    assert client.post(f"/api/v1/flows/{flow_id}/publish", headers=auth).json["published_version"] == 2
    second = client.post("/api/v1/events", json=order_event("P2", amount=10), headers=auth).json["runs"][0]
    run_jobs()
    assert db.session.get(Run, first).flow_version == 1 and db.session.get(Order, "P1").tags == ["small"]
    assert db.session.get(Run, second).flow_version == 2 and db.session.get(Order, "P2").tags == ["v2"]
