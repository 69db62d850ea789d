"""The template gallery: API (list, read, use, publish) and the /templates page."""

from __future__ import annotations

import copy

import pytest

from runtime.accounts import create_token, create_user
from runtime.db import db
from runtime.models import Flow
from runtime.template_models import FlowTemplate
from tests.conftest import load_flow

TITLES = ["Pending too long", "Payment channel failover", "Address change: carrier sync", "Loss circuit breaker",
          "High-value manual review", "Duplicate submission guard", "Payment result backfill from the file drop"]


@pytest.fixture
def admin_auth(app) -> dict:
    return {"Authorization": f"Bearer {create_token('admin-tests', 'admin')}"}


@pytest.fixture
def viewer_auth(app) -> dict:
    return {"Authorization": f"Bearer {create_token('viewer-tests', 'viewer')}"}


def test_listing_seeds_the_builtins_once_and_pages_like_every_list(client, auth):
    assert client.get("/api/v1/templates").status_code == 401
    answer = client.get("/api/v1/templates", headers=auth).json
    assert [t["title"] for t in answer["items"]] == TITLES
    assert (answer["page"], answer["limit"], answer["total"]) == (1, 100, 7)
    first = answer["items"][0]
    assert first["slug"] == "pending_too_long" and first["category"] == "lifecycle" and first["builtin"]
    assert first["trigger_type"] == "trigger.order_stale" and first["definition"]["nodes"]
    assert client.get("/api/v1/templates", headers=auth).json["total"] == 7  # seeding again adds nothing
    second_page = client.get("/api/v1/templates?limit=3&page=2", headers=auth).json
    assert [t["title"] for t in second_page["items"]] == TITLES[3:6] and second_page["total"] == 7
    payments = client.get("/api/v1/templates?category=payment", headers=auth).json
    assert payments["total"] == 2 and {t["category"] for t in payments["items"]} == {"payment"}
    bad = client.get("/api/v1/templates?limit=5000", headers=auth)
    assert bad.status_code == 400 and bad.json["details"][0]["path"] == "limit"


def test_one_template_by_id_or_slug(client, auth):
    listed = client.get("/api/v1/templates", headers=auth).json["items"]
    by_id = client.get(f"/api/v1/templates/{listed[2]['id']}", headers=auth).json
    assert by_id["title"] == "Address change: carrier sync"
    assert client.get("/api/v1/templates/address_change", headers=auth).json["id"] == by_id["id"]
    missing = client.get("/api/v1/templates/99999", headers=auth)
    assert missing.status_code == 404 and missing.json["details"][0]["path"] == "id"


def test_use_makes_a_new_draft_like_post_flows(client, auth, viewer_auth):
    template_id = client.get("/api/v1/templates", headers=auth).json["items"][0]["id"]
    used = client.post(f"/api/v1/templates/{template_id}/use", headers=auth)
    assert used.status_code == 201 and used.headers["ETag"] == '"1"'
    assert used.headers["Location"] == f"/api/v1/flows/{used.json['id']}"
    flow = used.json
    assert flow["name"] == "Pending too long" and flow["problems"] == [] and flow["draft_rev"] == 1
    assert flow["published_version"] is None and flow["active"] is False
    assert flow["draft"]["nodes"][0]["config"] == {"status": "pending", "minutes": 15}
    assert set(flow) >= set(client.post("/api/v1/flows", json=load_flow("high_value"), headers=auth).json)

    named = client.post(f"/api/v1/templates/{template_id}/use", json={"name": "Pending 30 min"}, headers=auth)
    assert named.status_code == 201 and named.json["name"] == "Pending 30 min"
    assert named.json["id"] != flow["id"]  # every use is a new flow; the template stays
    assert db.session.get(FlowTemplate, template_id).definition["name"] == "Pending too long"

    assert client.post(f"/api/v1/templates/{template_id}/use", headers=viewer_auth).status_code == 403
    assert client.post(f"/api/v1/templates/{template_id}/use").status_code == 401
    bad = client.post(f"/api/v1/templates/{template_id}/use", data="{nope", headers=auth)
    assert bad.status_code == 400 and bad.json["details"][0]["path"] == "$"
    bad_name = client.post(f"/api/v1/templates/{template_id}/use", json={"name": 5}, headers=auth)
    assert bad_name.status_code == 400 and bad_name.json["details"][0]["path"] == "name"
    assert client.post("/api/v1/templates/424242/use", headers=auth).status_code == 404
    assert Flow.query.count() == 3


def test_the_operator_story_template_to_published_flow(client, auth):
    """Pick "pending too long", change 15 to 30 minutes, dry-run it, publish it."""
    flow = client.post("/api/v1/templates/pending_too_long/use", headers=auth).json
    draft = copy.deepcopy(flow["draft"])
    draft["nodes"][0]["config"]["minutes"] = 30
    saved = client.put(f"/api/v1/flows/{flow['id']}/draft", json=draft, headers={**auth, "If-Match": "1"})
    assert saved.status_code == 200 and saved.json["problems"] == []
    rehearsal = client.post(f"/api/v1/flows/{flow['id']}/test",
                            json={"order": {"id": "T-1", "status": "pending", "amount": 2500, "channel": "taobao"}},
                            headers=auth).json
    assert rehearsal["path"] == ["t1", "u1", "r1", "a_finance"]
    published = client.post(f"/api/v1/flows/{flow['id']}/publish", headers=auth)
    assert published.status_code == 200


def test_admins_publish_valid_flows_to_the_gallery(client, auth, admin_auth):
    good = {"title": "Tag big orders", "description": "Finance looks at orders over 1000.", "category": "Review",
            "definition": load_flow("high_value")}
    assert client.post("/api/v1/templates", json=good, headers=auth).status_code == 403  # operators may not
    created = client.post("/api/v1/templates", json=good, headers=admin_auth)
    assert created.status_code == 201, created.json
    assert created.json["category"] == "review" and not created.json["builtin"]
    assert created.json["definition"]["name"] == "Tag big orders" and created.json["removed_secrets"] == []
    listed = client.get("/api/v1/templates", headers=auth).json
    assert listed["total"] == 8 and listed["items"][-1]["title"] == "Tag big orders"  # after the built-ins
    used = client.post(f"/api/v1/templates/{created.json['id']}/use", headers=auth)
    assert used.status_code == 201 and used.json["problems"] == []

    flow_id = client.post("/api/v1/flows", json=load_flow("webhook_payment"), headers=auth).json["id"]
    from_flow = client.post("/api/v1/templates", json={"title": "Signed hook", "category": "payment",
                                                       "flow_id": flow_id}, headers=admin_auth)
    assert from_flow.status_code == 201
    trigger = from_flow.json["definition"]["nodes"][0]
    assert trigger["type"] == "trigger.webhook" and "secret" not in trigger["config"]
    assert from_flow.json["removed_secrets"] == ["$.nodes[0].config.secret"]  # readable by every user


@pytest.mark.parametrize("body, status, path", [
    ({"description": "x", "category": "review"}, 400, "title"),
    ({"title": "  ", "category": "review"}, 400, "title"),
    ({"title": "x" * 201, "category": "review"}, 400, "title"),
    ({"title": "T", "category": "<b>"}, 400, "category"),
    ({"title": "T"}, 400, "category"),
    ({"title": "T", "category": "review", "description": 7}, 400, "description"),
    ({"title": "T", "category": "review"}, 400, "definition"),
    ({"title": "T", "category": "review", "definition": [1]}, 400, "definition"),
    ({"title": "T", "category": "review", "flow_id": "one"}, 400, "flow_id"),
    ({"title": "T", "category": "review", "flow_id": 4242}, 404, "flow_id"),
])
def test_bad_templates_are_refused_naming_the_field(client, admin_auth, body, status, path):
    answer = client.post("/api/v1/templates", json=body, headers=admin_auth)
    assert answer.status_code == status and answer.json["details"][0]["path"] == path
    assert FlowTemplate.query.filter_by(builtin=False).count() == 0


def test_an_invalid_flow_cannot_become_a_template(client, admin_auth):
    broken = load_flow("high_value")
    broken["edges"].pop()
    answer = client.post("/api/v1/templates", json={"title": "T", "category": "review", "definition": broken},
                         headers=admin_auth)
    assert answer.status_code == 422
    detail = answer.json["details"][0]
    assert detail["path"].startswith("$.definition.nodes[") and detail["node_id"] == "u1"
    assert client.post("/api/v1/templates", data="[", headers=admin_auth).status_code == 400


def test_gallery_page_uses_a_template_and_opens_the_editor(client, admin_session):
    page = client.get("/templates").data.decode()
    assert all(title in page for title in TITLES) and 'href="/boards/stuck"' in page and ">Templates</a>" in page
    assert page.count('class="card template-card"') == 7 and 'id="publish-template"' in page
    template = FlowTemplate.query.filter_by(slug="loss_circuit_breaker").one()
    answer = client.post(f"/templates/{template.id}/use", data={"csrf_token": admin_session})
    flow = Flow.query.one()
    assert answer.status_code == 302 and answer.headers["Location"] == f"/flows/{flow.id}/edit"
    assert flow.name == "Loss circuit breaker" and flow.draft_problems == [] and flow.updated_by == "alice"
    assert client.post(f"/templates/{template.id}/use", data={}).status_code == 400  # no CSRF token
    assert client.post("/templates/4242/use", data={"csrf_token": admin_session}).status_code == 404
    assert "payment" in client.get("/templates?category=payment").data.decode()


def test_gallery_page_publishing_shows_form_errors(client, admin_session):
    client.get("/templates")
    created = client.post("/flows/new", data={"csrf_token": admin_session, "definition": '{"name": "half"}'})
    flow = Flow.query.one()
    form = {"csrf_token": admin_session, "flow_id": str(flow.id), "title": "Half", "category": "review"}
    invalid = client.post("/templates", data=form)
    assert invalid.status_code == 422 and "only a flow that could be published" in invalid.data.decode()
    no_title = client.post("/templates", data={**form, "title": ""})
    assert no_title.status_code == 400 and "title is required" in no_title.data.decode()
    no_flow = client.post("/templates", data={**form, "flow_id": ""})
    assert no_flow.status_code == 400 and "Choose the flow" in no_flow.data.decode()
    db.session.query(Flow).filter_by(id=flow.id).update({Flow.draft: load_flow("high_value")})
    db.session.commit()
    done = client.post("/templates", data=form)
    assert done.status_code == 302 and created.status_code == 302
    assert "Template “Half” published" in client.get("/templates").data.decode()
    assert FlowTemplate.query.filter_by(builtin=False).one().title == "Half"


def test_viewers_see_the_gallery_without_use_buttons(client, app):
    create_user("vic", "viewer", "pw")
    client.post("/login", data={"name": "vic", "password": "pw"})
    page = client.get("/templates").data.decode()
    assert "Pending too long" in page and ">Use</button>" not in page and "publish-template" not in page
    with client.session_transaction() as session:
        csrf = session["csrf"]
    template = FlowTemplate.query.first()
    assert client.post(f"/templates/{template.id}/use", data={"csrf_token": csrf}).status_code == 403
    assert client.post("/templates", data={"csrf_token": csrf}).status_code == 403
