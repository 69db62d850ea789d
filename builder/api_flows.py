"""Flows API: drafts, stale-save checks, publish, versions, dry run."""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from builder.api_events import parse_json_body
from builder.auth import api_auth, current_user
from builder.errors import ApiError, bad_field
from builder.pagination import paginate
from runtime import flows, queues
from runtime.dryrun import InvalidDraft, dry_run
from runtime.models import Flow

bp = Blueprint("flows_api", __name__, url_prefix="/api/v1/flows")


def _flow_or_404(flow_id: int) -> Flow:
    flow = flows.get(flow_id)
    if flow is None:
        raise ApiError(404, f"flow {flow_id} not found", [{"path": "id", "message": "unknown flow id"}])
    return flow


def _definition_body() -> dict:
    body, _ = parse_json_body()
    if not isinstance(body, dict):
        raise bad_field("$", "a flow definition must be a JSON object")
    return body


def _flow_response(flow: Flow, status: int = 200):
    response = jsonify(flow.to_dict())
    response.status_code = status
    response.set_etag(str(flow.draft_rev))
    return response


@bp.get("")
@api_auth("viewer")
def list_flows():
    return jsonify(paginate(Flow.query.order_by(Flow.id),
                            lambda f: {k: v for k, v in f.to_dict().items() if k != "draft"}))


@bp.post("")
@api_auth("operator")
def create_flow():
    flow = flows.create(_definition_body(), user=current_user())
    return _flow_response(flow, 201)


@bp.get("/<int:flow_id>")
@api_auth("viewer")
def get_flow(flow_id: int):
    return _flow_response(_flow_or_404(flow_id))


def _if_match() -> int | None:
    raw = request.headers.get("If-Match")
    if raw is None:
        return None
    raw = raw.strip().removeprefix("W/").strip('"')
    try:
        return int(raw)
    except ValueError:
        raise bad_field("If-Match", "If-Match must be the draft_rev (bare or as the quoted ETag)") from None


@bp.put("/<int:flow_id>/draft")
@api_auth("operator")
def save_draft(flow_id: int):
    flow = _flow_or_404(flow_id)
    definition = _definition_body()
    try:
        flows.save_draft(flow, definition, expected_rev=_if_match(), user=current_user())
    except flows.StaleDraft as exc:
        raise ApiError(412, "someone else saved this flow since you loaded it; reload before saving",
                       [{"path": "If-Match", "message": f"the current draft_rev is {exc.current_rev}"}]) from None
    return _flow_response(flow)


@bp.post("/<int:flow_id>/publish")
@api_auth("operator")
def publish(flow_id: int):
    flow = _flow_or_404(flow_id)
    try:
        version = flows.publish(flow, user=current_user())
    except flows.InvalidFlow as exc:
        raise ApiError(422, "the draft has problems and cannot be published", exc.problems) from None
    queues.bump_flows_generation()
    return jsonify({**flow.to_dict(), "version": version.to_dict()})


@bp.post("/<int:flow_id>/unpublish")
@api_auth("operator")
def unpublish(flow_id: int):
    flow = flows.unpublish(_flow_or_404(flow_id))
    queues.bump_flows_generation()
    return jsonify(flow.to_dict())


@bp.get("/<int:flow_id>/versions")
@api_auth("viewer")
def versions(flow_id: int):
    _flow_or_404(flow_id)
    items = [v.to_dict() for v in flows.versions(flow_id)]
    return jsonify({"items": items, "page": 1, "limit": len(items), "total": len(items)})


@bp.get("/<int:flow_id>/versions/<int:number>")
@api_auth("viewer")
def version(flow_id: int, number: int):
    row = flows.version(flow_id, number)
    if row is None:
        raise ApiError(404, f"flow {flow_id} has no version {number}", [{"path": "version", "message": "unknown"}])
    return jsonify(row.to_dict(with_definition=True))


@bp.post("/<int:flow_id>/test")
@api_auth("operator")
def test(flow_id: int):
    flow = _flow_or_404(flow_id)
    body, _ = parse_json_body()
    if not isinstance(body, dict) or not isinstance(body.get("order"), dict):
        raise bad_field("order", "send {\"order\": {...}} with the sample order")
    event_type = body.get("event_type", "order.created")
    if not isinstance(event_type, str):
        raise bad_field("event_type", "event_type must be a string")
    definition = body.get("definition", flow.draft)
    if not isinstance(definition, dict):
        raise bad_field("definition", "definition must be a flow object")
    try:
        return jsonify(dry_run(definition, body["order"], event_type=event_type))
    except InvalidDraft as exc:
        raise ApiError(422, "the draft has problems; fix them before a test run", exc.problems) from None
