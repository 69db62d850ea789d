"""Node types (the palette), health, Prometheus metrics and the OpenAPI description."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from redis.exceptions import RedisError
from sqlalchemy import func, text

from builder.auth import api_auth
from builder.openapi import OPENAPI
from nodes import registry
from runtime import queues
from runtime.db import db
from runtime.models import Event, Run, Task

bp = Blueprint("meta", __name__)


@bp.get("/api/v1/node-types")
@api_auth("viewer")
def node_types():
    items = []
    for t in registry.all_types():
        items.append({**t.describe(), "ports": t.output_ports({}) if t.ports_from_config else list(t.ports)})
    return jsonify({"items": items, "total": len(items), "page": 1, "limit": len(items)})


@bp.get("/healthz")
def healthz():
    checks = {}
    try:
        db.session.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:  # noqa: BLE001 - health reports, never raises
        checks["database"] = f"error: {exc}"
    try:
        queues.redis().ping()
        checks["redis"] = "ok"
    except RedisError as exc:
        checks["redis"] = f"error: {exc}"
    healthy = all(v == "ok" for v in checks.values())
    return jsonify(status="ok" if healthy else "degraded", checks=checks), 200 if healthy else 503


class _DbCollector:
    """Counts read from the database at scrape time, so every web process reports the same truth."""

    def collect(self):
        runs = GaugeMetricFamily("orderflow_runs", "Runs by status", labels=["status"])
        for status, count in db.session.query(Run.status, func.count()).group_by(Run.status):
            runs.add_metric([status], count)
        yield runs
        events = GaugeMetricFamily("orderflow_events", "Inbox events by dispatch state", labels=["state"])
        for state, count in db.session.query(Event.dispatch_state, func.count()).group_by(Event.dispatch_state):
            events.add_metric([state], count)
        yield events
        tasks = GaugeMetricFamily("orderflow_open_tasks", "Open tasks by queue", labels=["queue"])
        for queue, count in db.session.query(Task.queue, func.count()).filter(Task.status == "open").group_by(Task.queue):
            tasks.add_metric([queue], count)
        yield tasks
        depth = GaugeMetricFamily("orderflow_rq_queue_depth", "Jobs waiting in the RQ queue")
        try:
            depth.add_metric([], queues.queue().count)
        except RedisError:
            depth.add_metric([], float("nan"))
        yield depth


@bp.get("/metrics")
def metrics():
    registry_ = CollectorRegistry()
    registry_.register(_DbCollector())
    return Response(generate_latest(registry_), mimetype="text/plain; version=0.0.4")


@bp.get("/api/v1/openapi.json")
def openapi():
    return jsonify(OPENAPI)
