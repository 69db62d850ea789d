"""Runs API: list, detail with steps, retry from the failed step, re-run from the trigger."""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from builder.auth import api_auth
from builder.errors import ApiError, bad_field
from builder.json_body import parse_json_body
from builder.pagination import paginate
from runtime import jobs
from runtime.db import db
from runtime.models import Flow, Run, Step

bp = Blueprint("runs_api", __name__, url_prefix="/api/v1/runs")
RUN_STATUSES = ("queued", "running", "waiting", "succeeded", "failed", "cancelled")


def runs_query(flow_id: str | None, status: str | None):
    query = Run.query
    if flow_id:
        if not flow_id.isdigit():
            raise bad_field("flow", "flow must be a flow id")
        query = query.filter(Run.flow_id == int(flow_id))
    if status:
        if status not in RUN_STATUSES:
            raise bad_field("status", f"status must be one of {', '.join(RUN_STATUSES)}")
        query = query.filter(Run.status == status)
    return query.order_by(Run.id.desc())


def run_or_404(run_id: int) -> Run:
    run = db.session.get(Run, run_id)
    if run is None:
        raise ApiError(404, f"run {run_id} not found", [{"path": "id", "message": "unknown run id"}])
    return run


def steps_of(run_id: int) -> list[Step]:
    return Step.query.filter_by(run_id=run_id).order_by(Step.id).all()


@bp.get("")
@api_auth("viewer")
def list_runs():
    return jsonify(paginate(runs_query(request.args.get("flow"), request.args.get("status"))))


@bp.get("/<int:run_id>")
@api_auth("viewer")
def get_run(run_id: int):
    run = run_or_404(run_id)
    return jsonify(run.to_dict(steps_of(run_id)))


@bp.post("/<int:run_id>/retry")
@api_auth("operator")
def retry(run_id: int):
    run = run_or_404(run_id)
    try:
        jobs.retry_run(run)
    except ValueError as exc:
        raise ApiError(409, str(exc), [{"path": "status", "message": str(exc)}]) from None
    return jsonify(run.to_dict()), 202


@bp.post("/replay")
@api_auth("operator")
def replay_failed():
    """Bulk replay: retry every failed run of a flow from its failed step."""
    body, _ = parse_json_body()
    flow_id = body.get("flow") if isinstance(body, dict) else None
    if not isinstance(flow_id, int) or isinstance(flow_id, bool):
        raise bad_field("flow", "flow must be a flow id")
    if db.session.get(Flow, flow_id) is None:
        raise ApiError(404, f"flow {flow_id} not found", [{"path": "flow", "message": "unknown flow id"}])
    return jsonify({"retried": jobs.replay_failed(flow_id)}), 202


@bp.post("/<int:run_id>/rerun")
@api_auth("operator")
def rerun(run_id: int):
    run = run_or_404(run_id)
    flow = db.session.get(Flow, run.flow_id)
    if not flow.published_version:
        raise ApiError(409, "the flow has no published version", [{"path": "flow", "message": "publish it first"}])
    new = jobs.rerun(run, flow.published_version)
    return jsonify(new.to_dict()), 202
