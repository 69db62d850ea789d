"""Throughput of ingestion and execution, on PostgreSQL + Redis, with real processes.

Starts `orderflow web` (gunicorn) and 1, then 2, `orderflow worker` processes against a fresh
PostgreSQL database, publishes a 4-node flow, posts N events over HTTP from client threads, and
prints events/s accepted (202s over the posting time) and runs/s completed (runs over the time
from the first event to the last finished run). Not a test: it prints figures.

    .venv/bin/python bench/throughput.py [--seconds 10] [--connections 16] [--workers 1 2]

Load comes from wrk (apt package `wrk`, C, so the client takes little CPU from the server on
a 2-core machine) with bench/events.lua; without wrk, from Python client threads (--events).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import psycopg
import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests import services  # noqa: E402 - reuse the tests' service starters

FLOW = {
    "schema_version": 1, "name": "bench: 4 nodes",
    "nodes": [
        {"id": "t", "type": "trigger.order_event", "config": {"events": ["order.created"]}},
        {"id": "c", "type": "condition", "config": {"match": "all", "rules": [{"field": "order.amount", "op": ">", "value": 1000}]}},
        {"id": "u", "type": "update_order", "config": {"add_tags": ["big"]}},
        {"id": "n", "type": "notify", "config": {"channel": "in_app", "to": "ops", "message": "big order {{ order.id }}"}},
    ],
    "edges": [{"from": "t", "to": "c"}, {"from": "c", "port": "true", "to": "u"}, {"from": "c", "port": "false", "to": "n"}],
}


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "builder.cli", *args]


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def load_with_wrk(url: str, auth: dict, seconds: int, connections: int) -> dict:
    out = subprocess.run(["wrk", "-t", "2", "-c", str(connections), "-d", f"{seconds}s", "--timeout", "10s",
                          "-s", str(ROOT / "bench" / "events.lua"), "-H", f"Authorization: {auth['Authorization']}",
                          url + "/api/v1/events"], check=True, capture_output=True, text=True).stdout
    fields = dict(re.findall(r"(\w+)=([\d.]+)", out.split("WRK", 1)[1]))
    return {"events": int(fields["requests"]), "posting_s": float(fields["duration_s"]),
            "errors": int(fields["errors"]) + int(fields["non2xx"]), "p50_ms": float(fields["p50_ms"]),
            "p99_ms": float(fields["p99_ms"])}


def load_with_threads(url: str, auth: dict, events: int, clients: int) -> dict:
    latencies: list[float] = []
    errors = []
    lock = threading.Lock()

    def client(offset: int) -> None:
        session = requests.Session()
        mine = []
        for i in range(offset, events, clients):
            body = {"type": "order.created", "source": "bench", "event_id": f"e{i}",
                    "order": {"id": f"B{i}", "status": "pending", "amount": 1299.0 if i % 2 else 499.0,
                              "channel": "douyin"}}
            t0 = time.perf_counter()
            r = session.post(url + "/api/v1/events", json=body, headers=auth, timeout=30)
            mine.append(time.perf_counter() - t0)
            if r.status_code != 202:
                errors.append(r.status_code)
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    latencies.sort()
    return {"events": events, "posting_s": time.perf_counter() - started, "errors": len(errors),
            "p50_ms": statistics.median(latencies) * 1000, "p99_ms": latencies[int(len(latencies) * .99)] * 1000}


def one_round(args: argparse.Namespace, workers: int) -> dict:
    name, db_url = services.create_pg_database()
    data_dir = tempfile.mkdtemp(prefix="orderflow-bench-")
    env = dict(os.environ, DATABASE_URL=db_url, REDIS_URL=services.ensure_redis(), ORDERFLOW_DATA_DIR=data_dir,
               ORDERFLOW_QUEUE=f"bench-{uuid.uuid4().hex[:6]}", SECRET_KEY="bench")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    procs = []
    try:
        subprocess.run(cli("init-db"), env=env, check=True, capture_output=True, cwd=ROOT)
        token = subprocess.run(cli("create-token", "bench"), env=env, check=True, capture_output=True, text=True,
                               cwd=ROOT).stdout.strip().splitlines()[-1]
        auth = {"Authorization": f"Bearer {token}"}
        log = open(Path(data_dir) / "processes.log", "ab")
        procs.append(subprocess.Popen(cli("web", "--port", str(port), "--workers", str(args.web_workers)), env=env,
                                      cwd=ROOT, stdout=log, stderr=subprocess.STDOUT))
        for _ in range(workers):
            procs.append(subprocess.Popen(cli("worker"), env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT))
        for _ in range(150):
            try:
                if requests.get(url + "/healthz", timeout=1).ok:
                    break
            except requests.RequestException:
                time.sleep(0.2)
        flow_id = requests.post(url + "/api/v1/flows", json=FLOW, headers=auth, timeout=10).json()["id"]
        requests.post(f"{url}/api/v1/flows/{flow_id}/publish", headers=auth, timeout=10).raise_for_status()
        time.sleep(1)  # workers connected

        if shutil.which("wrk") and not args.python_client:
            load = load_with_wrk(url, auth, args.seconds, args.connections)
        else:
            load = load_with_threads(url, auth, args.events, args.clients)

        pg = psycopg.connect(db_url.replace("+psycopg", ""), autocommit=True)
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            left = pg.execute("SELECT count(*) FROM runs WHERE status NOT IN ('succeeded','failed')").fetchone()[0]
            if left == 0:
                break
            time.sleep(0.2)
        first, last, done, failed, steps = pg.execute(
            "SELECT min(created_at), max(finished_at), count(*) FILTER (WHERE status='succeeded'),"
            " count(*) FILTER (WHERE status='failed'), (SELECT count(*) FROM steps) FROM runs").fetchone()
        pg.close()
        span = (last - first).total_seconds()
        return {"workers": workers, **load, "accepted_per_s": load["events"] / load["posting_s"],
                "runs_succeeded": done, "runs_failed": failed, "steps": steps, "runs_per_s": done / span if span else 0,
                "span_s": span}
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
        services.drop_pg_database(name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10, help="wrk: how long to post")
    parser.add_argument("--connections", type=int, default=16, help="wrk: concurrent connections")
    parser.add_argument("--python-client", action="store_true", help="post from Python threads instead of wrk")
    parser.add_argument("--events", type=int, default=2000, help="Python client: events to post")
    parser.add_argument("--clients", type=int, default=8, help="Python client: threads")
    parser.add_argument("--web-workers", type=int, default=2)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    client = "wrk" if shutil.which("wrk") and not args.python_client else "python threads"
    print(f"PostgreSQL + Redis, 4-node flow, load from {client}, {args.web_workers} web processes, "
          f"{os.cpu_count()} cores")
    for workers in args.workers:
        r = one_round(args, workers)
        print(f"workers={r['workers']}  {r['events']} events, accepted {r['accepted_per_s']:.0f} events/s (p50 {r['p50_ms']:.1f} ms, "
              f"p99 {r['p99_ms']:.1f} ms, errors {r['errors']})  completed {r['runs_per_s']:.0f} runs/s "
              f"({r['runs_succeeded']} succeeded, {r['runs_failed']} failed, {r['steps']} steps, {r['span_s']:.1f} s)")


if __name__ == "__main__":
    main()
