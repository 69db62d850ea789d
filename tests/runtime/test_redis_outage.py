"""Redis down at ingest: the 202 still means stored, and the sweep dispatches the events once it is back."""

from __future__ import annotations

from builder import create_app
from runtime import sweeper
from runtime.db import db
from runtime.models import Event, Run
from tests.conftest import free_port, load_flow, make_settings, order_event, post_flow, work


def test_events_accepted_while_redis_is_down_run_after_it_returns(tmp_path, database_url, redis_url):
    dead = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    down = create_app(make_settings(tmp_path, database_url, dead), TESTING=True)
    with down.app_context():
        if database_url.startswith("postgresql"):
            db.drop_all()
        db.create_all()
        from runtime.accounts import create_token

        auth = {"Authorization": f"Bearer {create_token('t', 'operator')}"}
        client = down.test_client()
        post_flow(client, auth, load_flow("high_value"))
        answer = client.post("/api/v1/events", json=order_event("RO-1", amount=5000), headers=auth)
        assert answer.status_code == 202 and len(answer.json["runs"]) == 1
        assert client.get("/healthz").status_code == 503
        run_id = answer.json["runs"][0]
        assert Event.query.one().dispatch_state == "pending"
        db.session.remove()

    up = create_app(make_settings(tmp_path, database_url, redis_url), TESTING=True)
    with up.app_context():
        done = sweeper.sweep()
        assert done["events_pending"] is True
        work(up)
        assert db.session.get(Run, run_id).status == "succeeded"
        assert Event.query.one().dispatch_state == "done"
        db.session.remove()
        if database_url.startswith("postgresql"):
            db.engine.dispose()
