"""The server-rendered pages (flows, runs, orders, inbox) and the meta endpoints."""

from __future__ import annotations

import io
import json

from runtime.accounts import create_user
from runtime.db import db
from runtime.models import Flow, Run, Task
from tests.conftest import load_flow, order_event, post_flow


def test_pages_need_a_login(client):
    for path in ("/flows", "/runs", "/orders", "/inbox/finance", "/flows/new"):
        answer = client.get(path)
        assert answer.status_code == 302 and answer.headers["Location"].startswith("/login")
    bad = client.post("/login", data={"name": "nobody", "password": "x"})
    assert bad.status_code == 401 and b"Unknown user or wrong password" in bad.data


def test_flow_upload_validation_and_stale_replace(client, admin_session):
    csrf = admin_session
    r = client.post("/flows/new", data={"csrf_token": csrf, "definition": "{nope"})
    assert r.status_code == 400 and b"Not valid JSON" in r.data
    assert Flow.query.count() == 0
    upload = {"csrf_token": csrf, "file": (io.BytesIO(json.dumps(load_flow("high_value")).encode()), "flow.json")}
    r = client.post("/flows/new", data=upload, content_type="multipart/form-data")
    assert r.status_code == 302
    flow = Flow.query.one()
    page = client.get(f"/flows/{flow.id}").data.decode()
    assert "No problems: this draft can be published." in page and "High-value review" in page

    broken = load_flow("high_value")
    broken["edges"].pop()
    r = client.post(f"/flows/{flow.id}", data={"csrf_token": csrf, "draft_rev": "1", "definition": json.dumps(broken)})
    assert r.status_code == 302
    page = client.get(f"/flows/{flow.id}").data.decode()
    assert "node &#39;u1&#39; cannot be reached from the trigger" in page
    stale = client.post(f"/flows/{flow.id}", data={"csrf_token": csrf, "draft_rev": "1", "definition": "{}"})
    assert stale.status_code == 400 and b"nothing was overwritten" in stale.data
    db.session.refresh(flow)
    assert flow.draft == broken and flow.draft_rev == 2
    assert client.post(f"/flows/{flow.id}/publish", data={"csrf_token": csrf}).status_code == 302
    db.session.refresh(flow)
    assert flow.published_version is None  # invalid drafts are not published
    no_csrf = client.post(f"/flows/{flow.id}/publish", data={})
    assert no_csrf.status_code == 400


def test_runs_orders_and_inbox_pages(client, auth, run_jobs, admin_session):
    flow_id = post_flow(client, auth, load_flow("high_value"))
    run_id = client.post("/api/v1/events", json=order_event("PG-1", amount=5000), headers=auth).json["runs"][0]
    run_jobs()
    page = client.get(f"/runs?flow={flow_id}&status=succeeded").data.decode()
    assert f"#{run_id}" in page and 'hx-trigger="every 2s"' in page
    partial = client.get(f"/runs?flow={flow_id}&status=failed", headers={"HX-Request": "true"}).data.decode()
    assert "<html" not in partial and "No runs match." in partial
    detail = client.get(f"/runs/{run_id}").data.decode()
    assert 'data-run-status="succeeded"' in detail and "Pending order PG-1" in detail
    assert "PG-1" in client.get("/orders?status=pending").data.decode()
    assert "PG-1" not in client.get("/orders?status=shipped").data.decode()
    order_page = client.get("/orders/PG-1").data.decode()
    assert "v1" in order_page and "event:shop" in order_page
    assert client.get("/orders/NOPE").status_code == 404
    inbox = client.get("/inbox/finance").data.decode()
    assert "Pending order PG-1" in inbox
    task = Task.query.one()
    r = client.post(f"/tasks/{task.id}/resolve", data={"csrf_token": admin_session, "decision": "done"})
    assert r.status_code == 302
    db.session.refresh(task)
    assert task.status == "done" and task.resolved_by == "alice"


def test_viewers_read_but_cannot_change(client, app):
    create_user("vic", "viewer", "pw")
    client.post("/login", data={"name": "vic", "password": "pw"})
    with client.session_transaction() as session:
        csrf = session["csrf"]
    assert client.get("/flows").status_code == 200
    assert client.post("/flows/new", data={"csrf_token": csrf, "definition": "{}"}).status_code == 403


def test_meta_endpoints(client, auth):
    health = client.get("/healthz")
    assert health.status_code == 200 and health.json["checks"] == {"database": "ok", "redis": "ok"}
    metrics = client.get("/metrics").data.decode()
    assert "orderflow_rq_queue_depth" in metrics and "orderflow_runs" in metrics
    spec = client.get("/api/v1/openapi.json").json
    assert spec["openapi"].startswith("3.") and "/api/v1/events" in spec["paths"]
    types = client.get("/api/v1/node-types", headers=auth).json["items"]
    assert {t["type"] for t in types} >= {"trigger.order_event", "trigger.order_stale", "trigger.webhook",
                                          "trigger.schedule", "trigger.connector_health", "trigger.run_failed",
                                          "condition", "route", "compute", "wait", "dedupe", "approval", "assign",
                                          "call_api", "notify", "update_order", "switch_connector"}
    assert all(t["config_schema"]["type"] == "object" and t["ports"] is not None for t in types)
    assert client.get("/api/v1/node-types").status_code == 401


def test_list_endpoints_paginate_and_check_arguments(client, auth, run_jobs):
    for n in range(3):
        client.post("/api/v1/events", json=order_event(f"L-{n}"), headers=auth)
    run_jobs()
    page = client.get("/api/v1/orders?limit=2&page=2", headers=auth).json
    assert (page["total"], page["page"], page["limit"], len(page["items"])) == (3, 2, 2, 1)
    bad = client.get("/api/v1/orders?limit=5000", headers=auth)
    assert bad.status_code == 400 and bad.json["details"][0]["path"] == "limit"
    assert client.get("/api/v1/runs?status=exploded", headers=auth).status_code == 400


def test_bulk_replay_from_the_runs_page(client, auth, run_jobs, admin_session):
    definition = {"schema_version": 1, "name": "fails", "nodes": [
        {"id": "t", "type": "trigger.order_event", "config": {"events": ["order.created"]}},
        {"id": "c", "type": "call_api", "config": {"url": "http://10.9.9.9/x"}}], "edges": [{"from": "t", "to": "c"}]}
    flow_id = post_flow(client, auth, definition)
    for n in range(2):
        client.post("/api/v1/events", json=order_event(f"BR-{n}"), headers=auth)
    run_jobs()
    assert "Retry all failed runs" in client.get(f"/runs?flow={flow_id}").data.decode()
    r = client.post("/runs/replay", data={"csrf_token": admin_session, "flow": str(flow_id)})
    assert r.status_code == 302
    assert {run.status for run in Run.query} == {"queued"}
    assert client.post("/runs/replay", data={"csrf_token": admin_session, "flow": "999"}).status_code == 404
