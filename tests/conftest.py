"""Fixtures: a real Redis and PostgreSQL (started if down), apps on SQLite and PostgreSQL,
an API token, a burst worker, and a live stack of real `orderflow web` + `orderflow worker` processes."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import requests
from redis import Redis
from rq import SimpleWorker
from sqlalchemy import text

from builder import create_app
from runtime import queues
from runtime.accounts import create_token, create_user
from runtime.config import load_settings
from runtime.db import db
from tests import services

FLOWS_DIR = Path(__file__).parent / "flows"
ROOT = Path(__file__).resolve().parent.parent


def load_flow(name: str) -> dict:
    return json.loads((FLOWS_DIR / f"{name}.json").read_text())


@pytest.fixture(scope="session")
def redis_url() -> str:
    return services.ensure_redis()


@pytest.fixture(scope="session")
def pg_url():
    name, url = services.create_pg_database()
    yield url
    services.drop_pg_database(name)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'orderflow.db'}"
    return request.getfixturevalue("pg_url")


def make_settings(tmp_path: Path, database_url: str, redis_url: str, **env):
    return load_settings({"ORDERFLOW_DATA_DIR": str(tmp_path / "data"), "DATABASE_URL": database_url,
                          "REDIS_URL": redis_url, "SECRET_KEY": "test", "ORDERFLOW_QUEUE": f"test-{uuid.uuid4().hex[:8]}",
                          **env})


@pytest.fixture
def app(tmp_path, database_url, redis_url):
    settings = make_settings(tmp_path, database_url, redis_url, ORDERFLOW_ALLOWED_HOSTS="127.0.0.1,localhost")
    app = create_app(settings, TESTING=True)
    with app.app_context():
        if database_url.startswith("postgresql"):
            db.drop_all()
        db.create_all()
        yield app
        db.session.remove()
        redis = queues.redis()
        for key in redis.scan_iter(f"*{settings.queue_name}*"):
            redis.delete(key)
        if database_url.startswith("postgresql"):
            db.session.execute(text("SELECT 1"))
            db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def token(app) -> str:
    return create_token("tests", "operator")


@pytest.fixture
def auth(token) -> dict:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def admin_session(app, client):
    """A logged-in admin in the test client; returns the CSRF token for forms."""
    create_user("alice", "admin", "secret-pw")
    client.post("/login", data={"name": "alice", "password": "secret-pw"})
    with client.session_transaction() as session:
        return session["csrf"]


def work(app) -> None:
    """Run every queued job in this process (RQ's burst mode), like a worker would."""
    worker = SimpleWorker([queues.queue()], connection=queues.redis())
    worker.work(burst=True, logging_level="WARNING")


@pytest.fixture
def run_jobs(app):
    return lambda: work(app)


def post_flow(client, auth, definition: dict, publish: bool = True) -> int:
    response = client.post("/api/v1/flows", json=definition, headers=auth)
    assert response.status_code == 201, response.json
    flow_id = response.json["id"]
    if publish:
        published = client.post(f"/api/v1/flows/{flow_id}/publish", headers=auth)
        assert published.status_code == 200, published.json
    return flow_id


def order_event(order_id: str = "A100", event_type: str = "order.created", event_id: str | None = None, **order) -> dict:
    return {"type": event_type, "source": "shop", "event_id": event_id or f"evt-{uuid.uuid4().hex[:12]}",
            "occurred_at": "2026-11-26T08:00:00Z",
            "order": {"id": order_id, "status": "pending", "amount": 1299.0, "channel": "douyin_live",
                      "region": "east", **order}}


# ---------------------------------------------------------------- real processes


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def orderflow(*args: str) -> list[str]:
    return [sys.executable, "-m", "builder.cli", *args]


class LiveStack:
    """`orderflow web` and `orderflow worker` as real processes on a fresh data dir."""

    def __init__(self, tmp_path: Path, redis_url: str, database_url: str | None = None, workers: int = 1, **env):
        self.data_dir = tmp_path / "live"
        self.env = dict(os.environ, ORDERFLOW_DATA_DIR=str(self.data_dir), REDIS_URL=redis_url,
                        ORDERFLOW_QUEUE=f"live-{uuid.uuid4().hex[:8]}", SECRET_KEY="live-test",
                        ORDERFLOW_ALLOWED_HOSTS="127.0.0.1,localhost", PYTHONUNBUFFERED="1", **env)
        if database_url:
            self.env["DATABASE_URL"] = database_url
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.processes: dict[str, subprocess.Popen] = {}
        self.logs = tmp_path / "logs"
        self.logs.mkdir(exist_ok=True)
        subprocess.run(orderflow("init-db"), env=self.env, check=True, cwd=ROOT, capture_output=True)
        out = subprocess.run(orderflow("create-token", "live", "--role", "admin"), env=self.env, check=True,
                             cwd=ROOT, capture_output=True, text=True).stdout
        self.token = out.strip().splitlines()[-1]
        subprocess.run(orderflow("create-user", "admin", "--role", "admin", "--password", "admin-pw"),
                       env=self.env, check=True, cwd=ROOT, capture_output=True)
        self.start("web", "web", "--port", str(self.port), "--workers", "1")
        for n in range(workers):
            self.start(f"worker{n}", "worker")
        self._wait_web()

    @property
    def auth(self) -> dict:
        return {"Authorization": f"Bearer {self.token}"}

    def start(self, name: str, *args: str) -> subprocess.Popen:
        log = open(self.logs / f"{name}.log", "ab")
        # its own process group: RQ's worker forks a scheduler child, which must go down with it
        process = subprocess.Popen(orderflow(*args), env=self.env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
        self.processes[name] = process
        return process

    def _wait_web(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if requests.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise RuntimeError("orderflow web did not start: " + (self.logs / "web.log").read_text()[-2000:])

    def api(self, method: str, path: str, **kwargs) -> requests.Response:
        return requests.request(method, self.url + path, headers={**self.auth, **kwargs.pop("headers", {})},
                                timeout=10, **kwargs)

    def publish(self, definition: dict) -> int:
        created = self.api("POST", "/api/v1/flows", json=definition)
        assert created.status_code == 201, created.text
        flow_id = created.json()["id"]
        published = self.api("POST", f"/api/v1/flows/{flow_id}/publish")
        assert published.status_code == 200, published.text
        return flow_id

    def sweep(self) -> None:
        """One pass of `orderflow scheduler`, as the scheduler process would run it."""
        subprocess.run(orderflow("scheduler", "--once"), env=self.env, cwd=ROOT, check=True, capture_output=True)

    def sql(self, statement: str, *params) -> list:
        """Reach into the SQLite file directly: the tests' controllable clock (move times back)."""
        import sqlite3

        with sqlite3.connect(self.data_dir / "orderflow.db", timeout=30) as conn:
            return conn.execute(statement, params).fetchall()

    def wait_run(self, run_id: int, statuses=("succeeded", "failed"), timeout: float = 20) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            run = requests.get(f"{self.url}/api/v1/runs/{run_id}", headers=self.auth, timeout=5).json()
            if run["status"] in statuses:
                return run
            time.sleep(0.1)
        raise AssertionError(f"run {run_id} still {run['status']} after {timeout} s")

    def kill(self, name: str, sig: int = signal.SIGTERM) -> None:
        """Signal a process and everything it started (its process group)."""
        try:
            os.killpg(self.processes[name].pid, sig)
        except ProcessLookupError:
            pass

    def stop(self) -> None:
        for name in self.processes:
            self.kill(name)
        for name, process in self.processes.items():
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                self.kill(name, signal.SIGKILL)
                process.wait(5)
        redis = Redis.from_url(self.env["REDIS_URL"])
        for key in redis.scan_iter(f"*{self.env['ORDERFLOW_QUEUE']}*"):
            redis.delete(key)


@pytest.fixture
def live_stack(tmp_path, redis_url):
    stack = LiveStack(tmp_path, redis_url)
    yield stack
    stack.stop()


@pytest.fixture(scope="module")
def shared_stack(tmp_path_factory, redis_url):
    """One web + worker pair for a module's scenarios (each uses its own flows and orders)."""
    stack = LiveStack(tmp_path_factory.mktemp("stack"), redis_url)
    yield stack
    stack.stop()
