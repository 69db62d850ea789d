"""The admin page: allowed hosts and secrets reach the runs; bad input is a form error; roles."""

from __future__ import annotations

from runtime import admin_settings
from runtime.accounts import create_user
from runtime.db import db
from runtime.models import Run, Setting, User
from tests.conftest import order_event, post_flow


def calling(url: str, headers: dict | None = None) -> dict:
    return {"schema_version": 1, "name": "call", "nodes": [
        {"id": "t", "type": "trigger.order_event", "config": {"events": ["order.created"]}},
        {"id": "c", "type": "call_api", "config": {"method": "GET", "url": url, "headers": headers or {}}}],
        "edges": [{"from": "t", "to": "c"}]}


def test_allowed_hosts_open_the_guard_for_runs(client, auth, run_jobs, admin_session, app, httpserver):
    httpserver.expect_request("/inside").respond_with_json({"ok": True})
    # this app allows 127.0.0.1 through ORDERFLOW_ALLOWED_HOSTS: take that away, as on a real install
    app.config["ORDERFLOW"] = app.config["ORDERFLOW"].__class__(**{**app.config["ORDERFLOW"].__dict__,
                                                                    "allowed_hosts": ()})
    post_flow(client, auth, calling(httpserver.url_for("/inside")))
    refused = client.post("/api/v1/events", json=order_event("AH-1"), headers=auth).json["runs"][0]
    run_jobs()
    assert "refused" in db.session.get(Run, refused).error
    bad = client.post("/admin/allowed-hosts", data={"csrf_token": admin_session, "allowed_hosts": "10.0.0.0/8\nno way!"})
    assert bad.status_code == 400 and b"is not a host name, IP address or CIDR block" in bad.data
    assert admin_settings.allowed_hosts() == ()  # nothing half-saved
    ok = client.post("/admin/allowed-hosts", data={"csrf_token": admin_session, "allowed_hosts": "127.0.0.0/8\n"})
    assert ok.status_code == 302 and admin_settings.allowed_hosts() == ("127.0.0.0/8",)
    allowed = client.post("/api/v1/events", json=order_event("AH-2"), headers=auth).json["runs"][0]
    run_jobs()
    assert db.session.get(Run, allowed).status == "succeeded"


def test_secrets_are_used_by_name_and_never_shown(client, auth, run_jobs, admin_session, httpserver):
    seen = []

    def carrier(request):
        from werkzeug import Response

        seen.append(request.headers.get("Authorization"))
        return Response("{}", content_type="application/json")

    httpserver.expect_request("/label").respond_with_handler(carrier)
    r = client.post("/admin/secrets", data={"csrf_token": admin_session, "name": "Bad Name", "value": "x"})
    assert r.status_code == 400 and b"lower-case letters" in r.data
    r = client.post("/admin/secrets", data={"csrf_token": admin_session, "name": "carrier_token", "value": "s3cr3t-v4lue"})
    assert r.status_code == 302
    page = client.get("/admin").data.decode()
    assert "carrier_token" in page and "s3cr3t-v4lue" not in page
    post_flow(client, auth, calling(httpserver.url_for("/label"), {"Authorization": "Bearer {{ secret('carrier_token') }}"}))
    run_id = client.post("/api/v1/events", json=order_event("SC-1"), headers=auth).json["runs"][0]
    run_jobs()
    assert seen == ["Bearer s3cr3t-v4lue"]
    assert "s3cr3t-v4lue" not in client.get(f"/api/v1/runs/{run_id}", headers=auth).get_data(as_text=True)
    assert client.post("/admin/secrets/carrier_token/delete", data={"csrf_token": admin_session}).status_code == 302
    assert db.session.get(Setting, "secret:carrier_token") is None


def test_admin_manages_users_and_connectors_and_operators_may_not(client, admin_session):
    r = client.post("/admin/users", data={"csrf_token": admin_session, "name": "olga", "role": "operator",
                                          "password": "short"})
    assert r.status_code == 400 and b"at least 8 characters" in r.data
    assert client.post("/admin/users", data={"csrf_token": admin_session, "name": "olga", "role": "operator",
                                             "password": "long-enough"}).status_code == 302
    assert User.query.filter_by(name="olga").one().role == "operator"
    r = client.post("/admin/connectors", data={"csrf_token": admin_session, "name": "wechat_pay", "group": "payment",
                                               "role": "backup", "callback_timeout_s": "600"})
    assert r.status_code == 302 and "wechat_pay" in client.get("/admin").data.decode()
    create_user("op", "operator", "operator-pw")
    client.post("/logout")
    client.post("/login", data={"name": "op", "password": "operator-pw"})
    assert client.get("/admin").status_code == 403
