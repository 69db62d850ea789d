"""Flows API: drafts, stale-save checks, publish, versions, diff, restore, import/export, dry run."""

from __future__ import annotations

import json
import re

from flask import Blueprint, Response, jsonify, request

from builder.auth import api_auth, current_user
from builder.errors import ApiError, bad_field
from builder.json_body import json_object, parse_json_body
from builder.pagination import paginate
from builder.palette import display_ports
from runtime import flows
from runtime.definition import validate_flow
from runtime.dryrun import InvalidDraft, dry_run
from runtime.flowdiff import diff_flows
from runtime.models import Flow

bp = Blueprint("flows_api", __name__, url_prefix="/api/v1/flows")


def _flow_or_404(flow_id: int) -> Flow:
    flow = flows.get(flow_id)
    if flow is None:
        raise ApiError(404, f"flow {flow_id} not found", [{"path": "id", "message": "unknown flow id"}])
    return flow


def _definition_body() -> dict:
    return json_object("a flow definition must be a JSON object")


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


def _stale(exc: flows.StaleDraft) -> ApiError:
    return ApiError(412, "someone else saved this flow since you loaded it; reload before saving",
                    [{"path": "If-Match", "message": f"the current draft_rev is {exc.current_rev}"}])


@bp.put("/<int:flow_id>/draft")
@api_auth("operator")
def save_draft(flow_id: int):
    flow = _flow_or_404(flow_id)
    definition = _definition_body()
    try:
        flows.save_draft(flow, definition, expected_rev=_if_match(), user=current_user())
    except flows.StaleDraft as exc:
        raise _stale(exc) from None
    return _flow_response(flow)


@bp.post("/<int:flow_id>/validate")
@api_auth("viewer")
def validate(flow_id: int):
    """Problems and drawable ports of a definition the editor holds; nothing is stored."""
    _flow_or_404(flow_id)
    definition = _definition_body()
    return jsonify({"problems": [p.to_dict() for p in validate_flow(definition)],
                    "ports": display_ports(definition)})


@bp.post("/<int:flow_id>/versions/<int:number>/restore")
@api_auth("operator")
def restore(flow_id: int, number: int):
    flow = _flow_or_404(flow_id)
    try:
        flows.restore(flow, number, expected_rev=_if_match(), user=current_user())
    except flows.NoSuchVersion:
        raise ApiError(404, f"flow {flow_id} has no version {number}",
                       [{"path": "version", "message": "unknown version"}]) from None
    except flows.StaleDraft as exc:
        raise _stale(exc) from None
    return _flow_response(flow)


@bp.post("/<int:flow_id>/discard")
@api_auth("operator")
def discard(flow_id: int):
    flow = _flow_or_404(flow_id)
    try:
        flows.discard(flow, expected_rev=_if_match(), user=current_user())
    except flows.NoSuchVersion:
        raise ApiError(409, "the flow was never published: there is no version to go back to",
                       [{"path": "published_version", "message": "publish once before discarding"}]) from None
    except flows.StaleDraft as exc:
        raise _stale(exc) from None
    return _flow_response(flow)


def _definition_at(flow: Flow, ref: str | None, param: str) -> tuple[str, dict]:
    """``draft``, ``published`` or a version number -> (label, definition)."""
    ref = (ref or "").strip() or ("published" if param == "from" else "draft")
    if ref == "draft":
        return "draft", flow.draft
    if ref == "published":
        if not flow.published_version:
            raise bad_field(param, "the flow has no published version to compare with")
        ref = str(flow.published_version)
    if not ref.isdigit():
        raise bad_field(param, f"{param} must be a version number, 'published' or 'draft'")
    row = flows.version(flow.id, int(ref))
    if row is None:
        raise ApiError(404, f"flow {flow.id} has no version {ref}", [{"path": param, "message": "unknown version"}])
    return f"v{row.version}", row.definition


@bp.get("/<int:flow_id>/diff")
@api_auth("viewer")
def diff(flow_id: int):
    """What changed from ``from`` (default: the published version) to ``to`` (default: the draft)."""
    flow = _flow_or_404(flow_id)
    before_label, before = _definition_at(flow, request.args.get("from"), "from")
    after_label, after = _definition_at(flow, request.args.get("to"), "to")
    return jsonify({"from": before_label, "to": after_label, **diff_flows(before, after)})


@bp.get("/<int:flow_id>/export")
@api_auth("viewer")
def export(flow_id: int):
    """The draft (or ``?version=N``) as a file; it must satisfy flow.schema.json to leave."""
    flow = _flow_or_404(flow_id)
    version_arg = request.args.get("version")
    label, definition = _definition_at(flow, version_arg or "draft", "version")
    problems = flows.envelope_problems(definition)
    if problems:
        raise ApiError(422, "the definition does not match flow.schema.json; fix it before exporting", problems)
    slug = re.sub(r"[^A-Za-z0-9]+", "-", str(definition.get("name") or "flow")).strip("-").lower()[:60] or "flow"
    body = json.dumps(definition, indent=2, ensure_ascii=False) + "\n"
    return Response(body, mimetype="application/json", headers={
        "Content-Disposition": f'attachment; filename="{slug}-{flow.id}-{label}.json"'})


@bp.post("/<int:flow_id>/import")
@api_auth("operator")
def import_(flow_id: int):
    """Replace the draft with an uploaded flow file; a file that is not a flow per flow.schema.json is refused."""
    flow = _flow_or_404(flow_id)
    definition = _definition_body()
    problems = flows.envelope_problems(definition)
    if problems:
        raise ApiError(422, "this file is not an OrderFlow flow (flow.schema.json)", problems)
    try:
        flows.save_draft(flow, definition, expected_rev=_if_match(), user=current_user())
    except flows.StaleDraft as exc:
        raise _stale(exc) from None
    return _flow_response(flow)


@bp.post("/<int:flow_id>/publish")
@api_auth("operator")
def publish(flow_id: int):
    flow = _flow_or_404(flow_id)
    try:
        version = flows.publish(flow, user=current_user())
    except flows.InvalidFlow as exc:
        raise ApiError(422, "the draft has problems and cannot be published", exc.problems) from None
    return jsonify({**flow.to_dict(), "version": version.to_dict()})


@bp.post("/<int:flow_id>/unpublish")
@api_auth("operator")
def unpublish(flow_id: int):
    flow = flows.unpublish(_flow_or_404(flow_id))
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
