"""`orderflow dev` on a machine with no Redis configured: it starts its own and runs flows."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest
import requests

from tests.conftest import ROOT, free_port, order_event, orderflow

pytestmark = pytest.mark.slow


def test_dev_starts_embedded_redis_and_runs_the_demo_flow(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL")}
    env.update(ORDERFLOW_DATA_DIR=str(tmp_path / "data"), PYTHONUNBUFFERED="1")
    log = open(tmp_path / "dev.log", "w+")
    process = subprocess.Popen(orderflow("dev", "--port", str(port)), env=env, cwd=ROOT, stdout=log,
                               stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if requests.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                time.sleep(0.3)
        else:
            raise AssertionError("dev did not come up:\n" + (tmp_path / "dev.log").read_text())
        output = (tmp_path / "dev.log").read_text()
        assert "redis:    redis://127.0.0.1:" in output and "(embedded" in output
        assert "database: sqlite:///" in output
        token = next(line.split()[1] for line in output.splitlines() if line.strip().startswith("token:"))
        auth = {"Authorization": f"Bearer {token}"}
        answer = requests.post(base + "/api/v1/events", json=order_event("DEV-1", amount=5000), headers=auth, timeout=10)
        assert answer.status_code == 202
        run_id = answer.json()["runs"][0]
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            run = requests.get(f"{base}/api/v1/runs/{run_id}", headers=auth, timeout=5).json()
            if run["status"] in ("succeeded", "failed"):
                break
            time.sleep(0.1)
        assert run["status"] == "succeeded", run
        page = requests.Session()
        page.post(base + "/login", data={"name": "admin", "password": "admin"}, timeout=5)
        assert f"Run #{run_id}" in page.get(f"{base}/runs/{run_id}", timeout=5).text
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            raise
    # the embedded Redis went down with it
    assert not (tmp_path / "data" / "redis" / "url").exists()
