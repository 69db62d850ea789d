"""The editor's server side: pages, settings forms over HTTP, versions, diff, restore, discard,
stale saves, publish rules, dry runs without side effects, import and export (SQLite and PostgreSQL)."""

from __future__ import annotations

import copy
import json

import pytest
from jsonschema import Draft202012Validator

from runtime.db import db
from runtime.definition import FLOW_SCHEMA
from runtime.models import Event, Flow, Notification, Order, Run, Task
from tests.conftest import load_flow, order_event, post_flow

EMPTY = {"schema_version": 1, "name": "Empty", "nodes": [], "edges": []}


def draft_of(client, auth, flow_id: int) -> dict:
    return client.get(f"/api/v1/flows/{flow_id}", headers=auth).json


def put_draft(client, auth, flow_id: int, definition: dict, rev) -> object:
    return client.put(f"/api/v1/flows/{flow_id}/draft", json=definition, headers={**auth, "If-Match": str(rev)})


def edited(definition: dict, **config) -> dict:
    changed = copy.deepcopy(definition)
    next(n for n in changed["nodes"] if n["id"] == "a1")["config"].update(config)
    return changed


# ---------------------------------------------------------------- pages


def test_editor_page_carries_the_palette_and_the_draft(client, auth, admin_session):
    flow_id = post_flow(client, auth, load_flow("high_value"), publish=False)
    page = client.get(f"/flows/{flow_id}/edit")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    for title in ("Triggers", "Logic", "Human", "Actions", 'data-type="condition"', 'data-type="trigger.order_event"'):
        assert title in text
    data = json.loads(text.split('<script type="application/json" id="editor-data">', 1)[1].split("</script>", 1)[0])
    assert data["flow"]["draft"] == load_flow("high_value") and data["flow"]["draft_rev"] == 1
    assert data["ports"]["c1"] == ["true", "false"] and data["ports"]["t1"] == ["out"]
    condition = next(t for t in data["node_types"] if t["type"] == "condition")
    assert condition["default_config"] == {"match": "all", "rules": []} and condition["has_input"] is True
    assert client.get("/flows/999/edit").status_code == 404


def test_viewers_see_the_editor_read_only(client, auth):
    from runtime.accounts import create_user

    flow_id = post_flow(client, auth, load_flow("high_value"), publish=False)
    create_user("vera", "viewer", "viewer-pw")
    client.post("/login", data={"name": "vera", "password": "viewer-pw"})
    with client.session_transaction() as session:
        csrf = session["csrf"]
    text = client.get(f"/flows/{flow_id}/edit").get_data(as_text=True)
    assert '"readonly": true' in text and 'data-cmd="publish"' not in text and 'data-cmd="import"' not in text
    node = {"id": "a1", "type": "assign", "config": {"queue": "finance", "title": "x"}}
    form = client.post(f"/flows/{flow_id}/edit/settings", data={"node": json.dumps(node)},
                       headers={"X-CSRF-Token": csrf}).get_data(as_text=True)
    assert '<fieldset class="settings-body" disabled>' in form
    refused = client.put(f"/api/v1/flows/{flow_id}/draft", json=EMPTY, headers={"X-CSRF-Token": csrf, "If-Match": "1"})
    assert refused.status_code == 403 and draft_of(client, auth, flow_id)["draft_rev"] == 1


def test_flow_page_links_to_the_editor_and_versions(client, auth, admin_session):
    flow_id = post_flow(client, auth, load_flow("high_value"))
    text = client.get(f"/flows/{flow_id}").get_data(as_text=True)
    assert f'href="/flows/{flow_id}/edit"' in text and f'href="/flows/{flow_id}/versions/1"' in text
    assert f'href="/flows/{flow_id}/edit"' in client.get("/flows").get_data(as_text=True)


def test_blank_flow_opens_the_editor(client, admin_session):
    response = client.post("/flows/blank", data={"csrf_token": admin_session})
    assert response.status_code == 302 and response.location.endswith("/edit")
    flow = Flow.query.one()
    assert flow.draft == {"schema_version": 1, "name": "Untitled flow", "description": "", "nodes": [], "edges": []}
    assert client.post("/flows/blank", data={}).status_code == 400  # no CSRF token: refused, nothing created
    assert Flow.query.count() == 1


def test_settings_form_opens_and_reads_changes_back(client, auth, admin_session):
    flow_id = post_flow(client, auth, EMPTY, publish=False)
    headers = {"X-CSRF-Token": admin_session}
    node = {"id": "r1", "type": "route", "config": {"routes": [], "default": "cs"}}
    opened = client.post(f"/flows/{flow_id}/edit/settings", data={"node": json.dumps(node)}, headers=headers)
    assert opened.status_code == 200 and 'id="settings-form"' in opened.get_data(as_text=True)
    form = {"_node_id": "r1", "_type": "route", "_version": "1", "cfg.routes.__count": "1",
            "cfg.routes.0.__variant": "0", "cfg.routes.0.port": "finance", "cfg.routes.0.match": "all",
            "cfg.routes.0.rules.__count": "0", "cfg.default": "cs", "_name": "Who handles it"}
    changed = client.post(f"/flows/{flow_id}/edit/settings", data=form, headers=headers)
    assert changed.status_code == 204
    event = json.loads(changed.headers["HX-Trigger"])["orderflow:config"]
    assert event["config"] == {"routes": [{"port": "finance", "match": "all", "rules": []}], "default": "cs"}
    assert event["ports"] == ["finance", "cs"] and event["name"] == "Who handles it"
    added = client.post(f"/flows/{flow_id}/edit/settings", data={**form, "_action": "add:cfg.routes.0.rules:0"},
                        headers=headers)
    assert added.status_code == 200 and 'name="cfg.routes.0.rules.0.field"' in added.get_data(as_text=True)
    assert json.loads(added.headers["HX-Trigger"])["orderflow:config"]["config"]["routes"][0]["rules"] == [{"op": "="}]
    nonsense = client.post(f"/flows/{flow_id}/edit/settings", data={**form, "_action": "remove:cfg.routes.7"},
                           headers=headers)
    assert nonsense.status_code == 200 and "no such row" in nonsense.get_data(as_text=True)
    bad = client.post(f"/flows/{flow_id}/edit/settings", data={"node": "{not json"}, headers=headers)
    assert bad.status_code == 400
    unknown = client.post(f"/flows/{flow_id}/edit/settings",
                          data={"node": json.dumps({"id": "x1", "type": "teleport", "config": {"to": "mars"}})},
                          headers=headers)
    assert unknown.status_code == 200 and 'name="_config_json"' in unknown.get_data(as_text=True)
    raw = {"_node_id": "x1", "_type": "teleport", "_version": "1"}
    typed = client.post(f"/flows/{flow_id}/edit/settings", data={**raw, "_config_json": '{"to": "venus"}'}, headers=headers)
    assert json.loads(typed.headers["HX-Trigger"])["orderflow:config"]["config"] == {"to": "venus"}
    broken = client.post(f"/flows/{flow_id}/edit/settings", data={**raw, "_config_json": '{"to": '}, headers=headers)
    event = json.loads(broken.headers["HX-Trigger"])["orderflow:config"]
    assert event["config"] is None and event["errors"][0]["path"] == "$"  # the stored settings stay as they are
    assert client.post(f"/flows/{flow_id}/edit/settings", data=form).status_code == 400  # no CSRF token


def test_secret_is_not_echoed_by_the_settings_endpoint(client, auth, admin_session):
    flow_id = post_flow(client, auth, EMPTY, publish=False)
    node = {"id": "w1", "type": "trigger.webhook", "config": {"key": "pay-result", "secret": "very-secret-1"}}
    page = client.post(f"/flows/{flow_id}/edit/settings", data={"node": json.dumps(node)},
                       headers={"X-CSRF-Token": admin_session})
    assert "very-secret-1" not in page.get_data(as_text=True)
    change = client.post(f"/flows/{flow_id}/edit/settings", headers={"X-CSRF-Token": admin_session}, data={
        "_node_id": "w1", "_type": "trigger.webhook", "cfg.key": "pay-result", "cfg.secret": "", "cfg.secret.__set": "1"})
    event = json.loads(change.headers["HX-Trigger"])["orderflow:config"]
    assert "very-secret-1" not in change.headers["HX-Trigger"]
    assert event["kept"] == [["secret"]] and "secret" not in event["config"]


# ---------------------------------------------------------------- saving, publishing, versions


def test_stale_save_is_refused_and_overwrites_nothing(client, auth):
    flow_id = post_flow(client, auth, load_flow("high_value"), publish=False)
    mine = put_draft(client, auth, flow_id, edited(load_flow("high_value"), queue="cs"), 1)
    assert mine.status_code == 200 and mine.headers["ETag"] == '"2"'
    theirs = put_draft(client, auth, flow_id, edited(load_flow("high_value"), queue="tech"), 1)
    assert theirs.status_code == 412 and theirs.json["details"][0]["path"] == "If-Match"
    draft = draft_of(client, auth, flow_id)
    assert draft["draft_rev"] == 2 and draft["draft"]["nodes"][2]["config"]["queue"] == "cs"
    quoted = put_draft(client, auth, flow_id, edited(load_flow("high_value"), queue="ops"), '"2"')
    assert quoted.status_code == 200 and quoted.json["draft_rev"] == 3


def test_invalid_draft_saves_but_does_not_publish(client, auth):
    flow_id = post_flow(client, auth, load_flow("high_value"), publish=False)
    broken = edited(load_flow("high_value"))
    del next(n for n in broken["nodes"] if n["id"] == "a1")["config"]["queue"]
    saved = put_draft(client, auth, flow_id, broken, 1)
    assert saved.status_code == 200 and [p["node_id"] for p in saved.json["problems"]] == ["a1"]
    refused = client.post(f"/api/v1/flows/{flow_id}/publish", headers=auth)
    assert refused.status_code == 422
    assert refused.json["details"][0]["node_id"] == "a1" and refused.json["details"][0]["path"] == "$.nodes[2].config"
    assert draft_of(client, auth, flow_id)["published_version"] is None
    validated = client.post(f"/api/v1/flows/{flow_id}/validate", json=load_flow("high_value"), headers=auth)
    assert validated.status_code == 200 and validated.json["problems"] == []
    assert draft_of(client, auth, flow_id)["draft_rev"] == 2  # validating stores nothing


def test_versions_history_view_restore_and_discard(client, auth, admin_session):
    flow_id = post_flow(client, auth, load_flow("high_value"))
    put_draft(client, auth, flow_id, edited(load_flow("high_value"), queue="cs"), 1)
    assert client.post(f"/api/v1/flows/{flow_id}/publish", headers=auth).json["published_version"] == 2
    history = client.get(f"/api/v1/flows/{flow_id}/versions", headers=auth).json["items"]
    assert [v["version"] for v in history] == [2, 1]
    assert all(v["published_by"] == "token:tests" and v["published_at"] for v in history)
    v1 = client.get(f"/api/v1/flows/{flow_id}/versions/1", headers=auth).json["definition"]
    assert v1 == load_flow("high_value")  # a published version never changes

    page = client.get(f"/flows/{flow_id}/versions/1")
    assert page.status_code == 200 and "read-only" in page.get_data(as_text=True)
    assert client.get(f"/flows/{flow_id}/versions/9").status_code == 404

    rev = draft_of(client, auth, flow_id)["draft_rev"]
    stale = client.post(f"/api/v1/flows/{flow_id}/versions/1/restore", headers={**auth, "If-Match": str(rev - 1)})
    assert stale.status_code == 412 and draft_of(client, auth, flow_id)["draft"] == edited(load_flow("high_value"), queue="cs")
    restored = client.post(f"/api/v1/flows/{flow_id}/versions/1/restore", headers={**auth, "If-Match": str(rev)})
    assert restored.status_code == 200 and restored.json["draft"] == load_flow("high_value")
    assert restored.json["draft_rev"] == rev + 1 and restored.json["published_version"] == 2
    assert client.post(f"/api/v1/flows/{flow_id}/versions/7/restore", headers=auth).status_code == 404

    discarded = client.post(f"/api/v1/flows/{flow_id}/discard", headers=auth)
    assert discarded.status_code == 200 and discarded.json["draft"] == edited(load_flow("high_value"), queue="cs")
    fresh = post_flow(client, auth, EMPTY, publish=False)
    never = client.post(f"/api/v1/flows/{fresh}/discard", headers=auth)
    assert never.status_code == 409 and draft_of(client, auth, fresh)["draft"] == EMPTY

    versions_tab = client.get(f"/flows/{flow_id}/edit/versions").get_data(as_text=True)
    assert "v2" in versions_tab and "token:tests" in versions_tab and 'data-restore="1"' in versions_tab


def test_unpublish_keeps_versions_and_stops_the_flow(client, auth):
    flow_id = post_flow(client, auth, load_flow("high_value"))
    off = client.post(f"/api/v1/flows/{flow_id}/unpublish", headers=auth)
    assert off.status_code == 200 and off.json["active"] is False and off.json["published_version"] == 1
    answer = client.post("/api/v1/events", json=order_event("U1"), headers=auth).json
    assert answer["runs"] == []


def test_diff_between_versions_and_the_draft(client, auth, admin_session):
    flow_id = post_flow(client, auth, load_flow("high_value"))
    second = edited(load_flow("high_value"), queue="cs")
    second["nodes"].append({"id": "n1", "type": "notify", "config": {"message": "hi"}})
    second["edges"] = [e for e in second["edges"] if e["to"] != "u1"] + [{"from": "c1", "port": "false", "to": "n1"}]
    second["nodes"] = [n for n in second["nodes"] if n["id"] != "u1"]
    put_draft(client, auth, flow_id, second, 1)
    diff = client.get(f"/api/v1/flows/{flow_id}/diff?from=1&to=draft", headers=auth).json
    assert diff["from"] == "v1" and diff["to"] == "draft" and diff["same"] is False
    assert diff["nodes_added"] == [{"id": "n1", "type": "notify"}]
    assert diff["nodes_removed"] == [{"id": "u1", "type": "update_order"}]
    assert diff["nodes_changed"] == [{"id": "a1", "type": "assign", "changes": [
        {"path": "config.queue", "before": "finance", "after": "cs", "kind": "changed"}]}]
    assert diff["edges_added"] == [{"from": "c1", "port": "false", "to": "n1"}]
    assert diff["edges_removed"] == [{"from": "c1", "port": "false", "to": "u1"}]
    assert client.get(f"/api/v1/flows/{flow_id}/diff", headers=auth).json["from"] == "v1"  # default: published
    assert client.get(f"/api/v1/flows/{flow_id}/diff?from=abc", headers=auth).status_code == 400
    missing = client.get(f"/api/v1/flows/{flow_id}/diff?from=5", headers=auth)
    assert missing.status_code == 404 and missing.json["details"][0]["path"] == "from"
    shown = client.get(f"/flows/{flow_id}/edit/diff?from=1&to=draft").get_data(as_text=True)
    assert "Nodes added" in shown and "config.queue" in shown and "c1.false → n1" in shown


# ---------------------------------------------------------------- dry run


def test_dry_run_has_no_side_effects(client, auth, run_jobs, httpserver):
    client.post("/api/v1/events", json=order_event("D1", amount=2500), headers=auth)
    run_jobs()
    before = db.session.get(Order, "D1").to_dict()
    flow = {"schema_version": 1, "name": "Everything", "nodes": [
        {"id": "t1", "type": "trigger.order_event", "config": {"events": ["order.created"]}},
        {"id": "c1", "type": "condition", "config": {"match": "all", "rules": [{"field": "order.amount", "op": ">", "value": 1000}]}},
        {"id": "a1", "type": "assign", "config": {"queue": "finance", "title": "Check {{ order.id }}"}},
        {"id": "u1", "type": "update_order", "config": {"flag": "red", "add_tags": ["checked"], "hold": True}},
        {"id": "h1", "type": "call_api", "config": {"url": httpserver.url_for("/ship/{{ order.id }}"), "body": {"id": "{{ order.id }}"}}},
        {"id": "n1", "type": "notify", "config": {"channel": "webhook", "to": httpserver.url_for("/chat"), "message": "{{ order.id }}"}},
    ], "edges": [{"from": "t1", "to": "c1"}, {"from": "c1", "port": "true", "to": "a1"}, {"from": "a1", "to": "u1"},
                 {"from": "u1", "to": "h1"}, {"from": "h1", "to": "n1"}]}
    flow_id = post_flow(client, auth, EMPTY, publish=False)
    counts = (Event.query.count(), Run.query.count(), Task.query.count(), Notification.query.count())
    result = client.post(f"/api/v1/flows/{flow_id}/test", json={"order": before, "definition": flow}, headers=auth)
    assert result.status_code == 200, result.json
    body = result.json
    assert body["path"] == ["t1", "c1", "a1", "u1", "h1", "n1"] and body["status"] == "succeeded"
    outputs = {s["node_id"]: s["output"] for s in body["steps"]}
    assert outputs["a1"]["would_create_task"]["queue"] == "finance"
    assert outputs["u1"]["would_change"]["flag"] == "red"
    assert outputs["h1"]["would_send"]["url"].endswith("/ship/D1") and outputs["h1"]["would_send"]["json"] == {"id": "D1"}
    assert outputs["n1"]["would_send"]["url"].endswith("/chat")
    assert httpserver.log == []  # no HTTP call left the process
    db.session.expire_all()
    assert db.session.get(Order, "D1").to_dict() == before
    assert (Event.query.count(), Run.query.count(), Task.query.count(), Notification.query.count()) == counts
    assert draft_of(client, auth, flow_id)["draft"] == EMPTY  # the canvas sent for the test is not saved
    invalid = client.post(f"/api/v1/flows/{flow_id}/test", json={"order": before, "definition": EMPTY}, headers=auth)
    assert invalid.status_code == 422 and invalid.json["details"][0]["path"] == "$.nodes"
    assert client.post(f"/api/v1/flows/{flow_id}/test", json={"order": "D1"}, headers=auth).status_code == 400


# ---------------------------------------------------------------- import / export


def test_export_matches_the_flow_schema_and_import_round_trips(client, auth):
    flow_id = post_flow(client, auth, load_flow("high_value"))
    exported = client.get(f"/api/v1/flows/{flow_id}/export", headers=auth)
    assert exported.status_code == 200 and "attachment" in exported.headers["Content-Disposition"]
    document = json.loads(exported.data)
    assert list(Draft202012Validator(FLOW_SCHEMA).iter_errors(document)) == []
    assert document == load_flow("high_value")
    assert json.loads(client.get(f"/api/v1/flows/{flow_id}/export?version=1", headers=auth).data) == document

    other = post_flow(client, auth, EMPTY, publish=False)
    imported = client.post(f"/api/v1/flows/{other}/import", json=document, headers={**auth, "If-Match": "1"})
    assert imported.status_code == 200 and imported.json["draft"] == document and imported.json["problems"] == []

    not_a_flow = client.post(f"/api/v1/flows/{other}/import", json={"nodes": "many", "colour": "red"}, headers=auth)
    assert not_a_flow.status_code == 422
    assert {d["path"] for d in not_a_flow.json["details"]} >= {"$", "$.nodes"}
    broken = client.post(f"/api/v1/flows/{other}/import", data="{oops", headers={**auth, "Content-Type": "application/json"})
    assert broken.status_code == 400 and broken.json["details"][0]["path"] == "$"
    stale = client.post(f"/api/v1/flows/{other}/import", json=document, headers={**auth, "If-Match": "1"})
    assert stale.status_code == 412
    assert draft_of(client, auth, other)["draft"] == document and draft_of(client, auth, other)["draft_rev"] == 2

    odd = post_flow(client, auth, {"schema_version": 1, "name": "", "nodes": [], "edges": [], "extra": 1}, publish=False)
    refused = client.get(f"/api/v1/flows/{odd}/export", headers=auth)
    assert refused.status_code == 422 and {d["path"] for d in refused.json["details"]} == {"$", "$.name"}


def test_validate_reports_problems_and_ports(client, auth):
    flow_id = post_flow(client, auth, EMPTY, publish=False)
    definition = {"schema_version": 1, "name": "Routes", "nodes": [
        {"id": "t1", "type": "trigger.order_event", "config": {"events": ["order.created"]}},
        {"id": "r1", "type": "route", "config": {"routes": [{"port": "finance", "rules": []}], "default": "cs"}},
        {"id": "a1", "type": "assign", "config": {"title": "x"}}],
        "edges": [{"from": "t1", "to": "r1"}, {"from": "r1", "port": "gone", "to": "a1"}]}
    answer = client.post(f"/api/v1/flows/{flow_id}/validate", json=definition, headers=auth).json
    assert answer["ports"] == {"t1": ["out"], "r1": ["finance", "cs", "gone"], "a1": ["out"]}
    problems = {(p.get("node_id"), p["path"]) for p in answer["problems"]}
    assert ("r1", "$.edges[1].port") in problems and ("a1", "$.nodes[2].config") in problems
    assert client.post(f"/api/v1/flows/{flow_id}/validate", json=[1], headers=auth).status_code == 400
    assert client.post("/api/v1/flows/999/validate", json=definition, headers=auth).status_code == 404


@pytest.mark.parametrize("path", ["/api/v1/flows/1/validate", "/api/v1/flows/1/import", "/api/v1/flows/1/discard"])
def test_new_endpoints_need_a_token(client, path):
    response = client.post(path, json=EMPTY)
    assert response.status_code == 401 and response.json["error"]


def test_run_page_draws_the_version_it_ran(client, auth, admin_session, run_jobs):
    post_flow(client, auth, load_flow("high_value"))
    run_id = client.post("/api/v1/events", json=order_event("R1", amount=5000), headers=auth).json["runs"][0]
    run_jobs()
    page = client.get(f"/runs/{run_id}").get_data(as_text=True)
    view = json.loads(page.split('id="view-data">', 1)[1].split("</script>", 1)[0])
    assert view["definition"] == load_flow("high_value") and view["ports"]["c1"] == ["true", "false"]
    path = json.loads(page.split('id="run-path">', 1)[1].split("</script>", 1)[0])
    assert path["path"] == ["t1", "c1", "a1"] and path["steps"][1]["port"] == "true"
    assert "Retry from failed step" not in page and "Re-run" in page
