"""Run semantics in-process on real Redis, on SQLite and PostgreSQL: failure handlers, retry and
replay, waits for events, address rules, duplicate guard, escalation and retention."""

from __future__ import annotations

from datetime import timedelta

from runtime import sweeper
from runtime.db import db, utcnow
from runtime.models import AuditEntry, Notification, Order, Run, Step, Task
from tests.conftest import order_event, post_flow


def flow(name, nodes, edges):
    return {"schema_version": 1, "name": name, "nodes": nodes,
            "edges": [{"from": e[0], "to": e[-1], **({"port": e[1]} if len(e) == 3 else {})} for e in edges]}


ON_CREATED = {"id": "t", "type": "trigger.order_event", "config": {"events": ["order.created"]}}
FAILING_CALL = {"id": "c", "type": "call_api", "config": {"url": "http://10.9.9.9/never"}}


def test_failure_handler_receives_the_failed_run(client, auth, run_jobs):
    failing = post_flow(client, auth, flow("fails", [ON_CREATED, FAILING_CALL], [("t", "c")]))
    handler = post_flow(client, auth, flow("handler", [
        {"id": "t", "type": "trigger.run_failed", "config": {"flows": [failing]}},
        {"id": "n", "type": "notify", "config": {"channel": "in_app", "to": "tech",
                                                 "message": "run {{ event.payload.run_id }} failed at {{ event.payload.node_id }}"}}],
        [("t", "n")]))
    run_id = client.post("/api/v1/events", json=order_event("F-1"), headers=auth).json["runs"][0]
    run_jobs()
    run_jobs()
    assert db.session.get(Run, run_id).status == "failed"
    handled = Run.query.filter_by(flow_id=handler).one()
    assert handled.status == "succeeded"
    assert Notification.query.one().message == f"run {run_id} failed at c"


def test_retry_from_failed_step_and_bulk_replay(client, auth, run_jobs, httpserver):
    answers = iter([500, 500, 200, 200, 200])

    def carrier(request):
        from werkzeug import Response

        return Response("{}", status=next(answers), content_type="application/json")

    httpserver.expect_request("/ship").respond_with_handler(carrier)
    flow_id = post_flow(client, auth, flow("ship", [ON_CREATED, {"id": "c", "type": "call_api", "config": {
        "url": httpserver.url_for("/ship")}}], [("t", "c")]))
    ids = [client.post("/api/v1/events", json=order_event(f"R-{n}"), headers=auth).json["runs"][0] for n in range(2)]
    run_jobs()
    assert [db.session.get(Run, i).status for i in ids] == ["failed", "failed"]
    assert client.post(f"/api/v1/runs/{ids[0]}/retry", headers=auth).status_code == 202
    assert client.post(f"/api/v1/runs/{ids[0]}/retry", headers=auth).status_code == 409  # queued, not failed
    run_jobs()
    steps = Step.query.filter_by(run_id=ids[0]).order_by(Step.seq).all()
    assert [(s.seq, s.node_id, s.status) for s in steps] == [(1, "t", "succeeded"), (2, "c", "failed"),
                                                             (3, "c", "succeeded")]
    assert client.post("/api/v1/runs/replay", json={"flow": "x"}, headers=auth).status_code == 400
    replay = client.post("/api/v1/runs/replay", json={"flow": flow_id}, headers=auth)
    assert replay.status_code == 202 and replay.json["retried"] == [ids[1]]
    rerun = client.post(f"/api/v1/runs/{ids[0]}/rerun", headers=auth)
    assert rerun.status_code == 202 and rerun.json["retry_of"] == ids[0]
    run_jobs()
    db.session.expire_all()
    assert db.session.get(Run, ids[1]).status == "succeeded"
    assert db.session.get(Run, rerun.json["id"]).status == "succeeded"
    assert client.post("/api/v1/runs/99999/retry", headers=auth).status_code == 404


def test_wait_for_an_event_resumes_on_it(client, auth, run_jobs):
    post_flow(client, auth, flow("ship after packing", [
        ON_CREATED,
        {"id": "w", "type": "wait", "config": {"event": "order.packed", "timeout_minutes": 60}},
        {"id": "u", "type": "update_order", "config": {"add_tags": ["ship"]}}],
        [("t", "w"), ("w", "out", "u")]))
    run_id = client.post("/api/v1/events", json=order_event("WE-1"), headers=auth).json["runs"][0]
    run_jobs()
    assert db.session.get(Run, run_id).status == "waiting"
    client.post("/api/v1/events", json=order_event("WE-1", event_type="order.packed"), headers=auth)
    run_jobs()
    run_jobs()
    db.session.expire_all()
    run = db.session.get(Run, run_id)
    assert run.status == "succeeded" and "ship" in db.session.get(Order, "WE-1").tags


def test_approval_timeout_closes_the_task(client, auth, run_jobs):
    from runtime import jobs

    post_flow(client, auth, flow("review", [
        ON_CREATED, {"id": "a", "type": "approval", "config": {"queue": "cs", "title": "t", "timeout_minutes": 5}},
        {"id": "x", "type": "update_order", "config": {"flag": "red"}}], [("t", "a"), ("a", "timed_out", "x")]))
    run_id = client.post("/api/v1/events", json=order_event("AT-1"), headers=auth).json["runs"][0]
    run_jobs()
    run = db.session.get(Run, run_id)
    assert run.status == "waiting" and run.resume_at is not None
    jobs.resume_run(run_id, "timed_out", {"timed_out": True}, step=run.waiting["step"])
    assert db.session.get(Run, run_id).status == "succeeded"
    task = Task.query.one()
    assert (task.status, task.decision) == ("done", "timed_out")
    assert jobs.resume_run(run_id, "approved", {}, task_id=task.id) is None  # too late: nothing happens


def test_address_rules(client, auth, run_jobs):
    fresh = order_event("AD-1", created_at=utcnow().isoformat() + "Z", address={"city": "Hangzhou"})
    client.post("/api/v1/events", json=fresh, headers=auth)
    old = order_event("AD-2", created_at=(utcnow() - timedelta(hours=3)).isoformat() + "Z", address={"city": "Xian"})
    client.post("/api/v1/events", json=old, headers=auth)
    run_jobs()
    for order_id in ("AD-1", "AD-2"):
        change = order_event(order_id, event_type="order.address_change_requested", address={"city": "Beijing"})
        client.post("/api/v1/events", json=change, headers=auth)
    run_jobs()
    db.session.expire_all()
    assert db.session.get(Order, "AD-1").address == {"city": "Beijing"}  # inside the 2-hour window
    assert db.session.get(Order, "AD-2").address == {"city": "Xian"}  # outside: waits for approval
    task = Task.query.filter_by(order_id="AD-2").one()
    assert (task.queue, task.kind) == ("cs", "approval")
    # packed before the approval: the approved change is refused and audited
    client.post("/api/v1/events", json=order_event("AD-2", event_type="order.packed"), headers=auth)
    run_jobs()
    assert client.get("/api/v1/orders/AD-2", headers=auth).json["locked"] is True
    assert client.post(f"/api/v1/tasks/{task.id}/resolve", json={"decision": "approve"}, headers=auth).status_code == 200
    client.post("/api/v1/events", json=order_event("AD-2", event_type="order.address_change_requested",
                                                    address={"city": "Lhasa"}), headers=auth)
    run_jobs()
    db.session.expire_all()
    assert db.session.get(Order, "AD-2").address == {"city": "Xian"}
    refused = AuditEntry.query.filter_by(order_id="AD-2", action="address_change_refused").all()
    assert len(refused) == 2 and all("locked" in a.reason for a in refused)


def test_duplicate_submission_guard(client, auth, run_jobs):
    post_flow(client, auth, flow("dedupe", [
        ON_CREATED, {"id": "d", "type": "dedupe", "config": {"window_minutes": 10}},
        {"id": "x", "type": "update_order", "config": {"flag": "yellow", "add_tags": ["double-submit"]}}],
        [("t", "d"), ("d", "duplicate", "x")]))
    items = [{"sku": "TEA", "qty": 1, "price": 99}]
    first = order_event("DD-1", customer={"id": "C9"}, items=items, created_at=utcnow().isoformat() + "Z")
    second = order_event("DD-2", customer={"id": "C9"}, items=items,
                         created_at=(utcnow() + timedelta(seconds=30)).isoformat() + "Z")
    other = order_event("DD-3", customer={"id": "C10"}, items=items, created_at=utcnow().isoformat() + "Z")
    for event in (first, second, other):
        client.post("/api/v1/events", json=event, headers=auth)
    run_jobs()
    db.session.expire_all()
    assert [db.session.get(Order, o).tags for o in ("DD-1", "DD-2", "DD-3")] == [[], ["double-submit"], []]


def test_overdue_task_escalates_once(client, auth, run_jobs):
    post_flow(client, auth, flow("assign", [
        ON_CREATED, {"id": "a", "type": "assign", "config": {"queue": "finance", "title": "check", "sla_minutes": 5,
                                                             "escalate_to": "finance-lead"}}], [("t", "a")]))
    client.post("/api/v1/events", json=order_event("ES-1"), headers=auth)
    run_jobs()
    Task.query.update({Task.due_at: utcnow() - timedelta(minutes=1)})
    db.session.commit()
    assert sweeper.sweep()["tasks_escalated"] == 1
    assert sweeper.sweep()["tasks_escalated"] == 0
    assert Notification.query.one().recipient == "finance-lead"


def test_retention_prunes_old_finished_runs(client, auth, run_jobs):
    post_flow(client, auth, flow("simple", [ON_CREATED, {"id": "u", "type": "update_order", "config": {"flag": "blue"}}],
                                 [("t", "u")]))
    old, new = (client.post("/api/v1/events", json=order_event(f"RT-{n}"), headers=auth).json["runs"][0] for n in range(2))
    run_jobs()
    db.session.query(Run).filter(Run.id == old).update({Run.finished_at: utcnow() - timedelta(days=31)})
    db.session.commit()
    assert sweeper.sweep()["runs_pruned"] == 1
    assert db.session.get(Run, old) is None and Step.query.filter_by(run_id=old).count() == 0
    assert db.session.get(Run, new).status == "succeeded"


def test_flow_changing_a_packed_orders_address_fails_and_is_audited(client, auth, run_jobs):
    post_flow(client, auth, flow("readdress", [
        {"id": "t", "type": "trigger.order_event", "config": {"events": ["order.updated"]}},
        {"id": "u", "type": "update_order", "config": {"address": {"city": "Chengdu"}, "add_tags": ["x"]}}],
        [("t", "u")]))
    client.post("/api/v1/events", json=order_event("LK-1", address={"city": "Wuhan"}), headers=auth)
    client.post("/api/v1/events", json=order_event("LK-1", event_type="order.packed"), headers=auth)
    run_jobs()
    run_id = client.post("/api/v1/events", json=order_event("LK-1", event_type="order.updated"), headers=auth).json["runs"][0]
    run_jobs()
    run = db.session.get(Run, run_id)
    assert run.status == "failed" and "locked" in run.error
    order = db.session.get(Order, "LK-1")
    assert order.address == {"city": "Wuhan"} and "x" not in order.tags
    refused = AuditEntry.query.filter_by(order_id="LK-1", action="address_change_refused").one()
    assert refused.run_id == run_id and "locked" in refused.reason


def test_an_answer_with_nan_is_stored(client, auth, run_jobs, httpserver):
    httpserver.expect_request("/odd").respond_with_data('{"rate": NaN, "ok": true}', content_type="application/json")
    post_flow(client, auth, flow("odd", [ON_CREATED, {"id": "c", "type": "call_api", "config": {
        "method": "GET", "url": httpserver.url_for("/odd"), "save_as": "answer"}}], [("t", "c")]))
    run_id = client.post("/api/v1/events", json=order_event("NAN-1"), headers=auth).json["runs"][0]
    run_jobs()
    run = client.get(f"/api/v1/runs/{run_id}", headers=auth).json
    assert run["status"] == "succeeded" and run["vars"]["answer"]["body"] == {"rate": None, "ok": True}


def test_dry_run_of_the_duplicate_guard_sees_real_recent_orders(client, auth, run_jobs):
    flow_id = post_flow(client, auth, flow("dedupe", [
        ON_CREATED, {"id": "d", "type": "dedupe", "config": {"window_minutes": 10}},
        {"id": "x", "type": "update_order", "config": {"flag": "yellow"}}], [("t", "d"), ("d", "duplicate", "x")]),
        publish=False)
    items = [{"sku": "TEA", "qty": 2, "price": 99}]
    client.post("/api/v1/events", json=order_event("DR-1", customer={"id": "C7"}, items=items,
                                                    created_at=utcnow().isoformat() + "Z"), headers=auth)
    run_jobs()
    sample = {"id": "DR-2", "customer": {"id": "C7"}, "items": items,
              "created_at": (utcnow() + timedelta(seconds=5)).isoformat() + "Z"}
    answer = client.post(f"/api/v1/flows/{flow_id}/test", json={"order": sample}, headers=auth).json
    assert answer["path"] == ["t", "d", "x"] and answer["steps"][1]["port"] == "duplicate"
    assert db.session.get(Order, "DR-1").flags == []  # and the rehearsal changed nothing


def test_every_applied_address_change_is_announced_once(client, auth, run_jobs):
    post_flow(client, auth, flow("carrier sync", [
        {"id": "t", "type": "trigger.order_event", "config": {"events": ["order.address_changed"]}},
        {"id": "n", "type": "notify", "config": {"channel": "in_app", "to": "carrier",
                                                 "message": "{{ order.id }} -> {{ event.payload.new.city }}"}},
        # a flow reacting to the change may change the address again without starting itself again
        {"id": "u", "type": "update_order", "config": {"address": {"city": "{{ event.payload.new.city }} (checked)"}}}],
        [("t", "n"), ("n", "u")]))
    client.post("/api/v1/events", json=order_event("AC-1", created_at=utcnow().isoformat() + "Z",
                                                    address={"city": "Hangzhou"}), headers=auth)
    late = order_event("AC-2", created_at=(utcnow() - timedelta(hours=5)).isoformat() + "Z", address={"city": "Xian"})
    client.post("/api/v1/events", json=late, headers=auth)
    run_jobs()
    assert Notification.query.count() == 0  # creating an order with an address is not a change
    for order_id in ("AC-1", "AC-2"):
        client.post("/api/v1/events", json=order_event(order_id, event_type="order.address_change_requested",
                                                        address={"city": "Beijing"}), headers=auth)
    run_jobs()
    run_jobs()
    assert [n.message for n in Notification.query.order_by(Notification.id)] == ["AC-1 -> Beijing"]
    task = Task.query.filter_by(order_id="AC-2", queue="cs").one()
    client.post(f"/api/v1/tasks/{task.id}/resolve", json={"decision": "approve"}, headers=auth)
    run_jobs()
    run_jobs()
    assert [n.message for n in Notification.query.order_by(Notification.id)] == ["AC-1 -> Beijing", "AC-2 -> Beijing"]
    db.session.expire_all()
    assert db.session.get(Order, "AC-2").address == {"city": "Beijing (checked)"}


def test_stale_sweep_pages_through_many_stuck_orders_sharing_one_moment(client, auth, run_jobs, monkeypatch):
    from runtime import triggers

    monkeypatch.setattr(triggers, "STALE_SWEEP_BATCH", 3)
    flow_id = post_flow(client, auth, flow("stale", [
        {"id": "t", "type": "trigger.order_stale", "config": {"status": "pending", "minutes": 15}},
        {"id": "u", "type": "update_order", "config": {"flag": "red"}}], [("t", "u")]))
    for n in range(7):
        client.post("/api/v1/events", json=order_event(f"SW-{n}"), headers=auth)
    client.post("/api/v1/events", json=order_event("SW-paid", status="paid"), headers=auth)
    run_jobs()
    Order.query.update({Order.status_since: utcnow() - timedelta(hours=2)})  # all stuck since the same moment
    db.session.commit()
    assert [sweeper.sweep()["stale_fired"] for _ in range(4)] == [3, 3, 1, 0]
    run_jobs()
    assert Run.query.filter_by(flow_id=flow_id, status="succeeded").count() == 7
    assert db.session.get(Order, "SW-paid").flags == []
