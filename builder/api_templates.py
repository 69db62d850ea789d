"""The template gallery over HTTP: list, read, publish (admins), and use (a new draft flow)."""

from __future__ import annotations

import re
from collections.abc import Mapping

from flask import Blueprint, current_app, jsonify, request

from builder.auth import api_auth, current_user
from builder.errors import ApiError, bad_field
from builder.json_body import json_object
from builder.pagination import paginate
from runtime import flows, templates_catalog
from runtime.models import Flow
from runtime.template_models import FlowTemplate

bp = Blueprint("templates_api", __name__, url_prefix="/api/v1/templates")
CATEGORY = re.compile(r"^[a-z0-9][a-z0-9 _-]{0,39}$")
MAX_TITLE, MAX_DESCRIPTION = 200, 2000


def ensure_builtin_templates() -> None:
    """Seed the built-ins on first use in this process, so a gallery is never empty after an
    upgrade that skipped `orderflow init-db`."""
    if not current_app.extensions.get("orderflow.templates_seeded"):
        templates_catalog.seed_builtin_templates()
        current_app.extensions["orderflow.templates_seeded"] = True


def template_or_404(ref: str) -> FlowTemplate:
    template = templates_catalog.get(ref)
    if template is None:
        raise ApiError(404, f"template {ref} not found", [{"path": "id", "message": "unknown template id"}])
    return template


def _text(body: Mapping, name: str, limit: int, required: bool) -> str:
    value = body.get(name, "")
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise bad_field(name, f"{name} must be text")
    value = value.strip()
    if required and not value:
        raise bad_field(name, f"{name} is required")
    if len(value) > limit:
        raise bad_field(name, f"{name} may be at most {limit} characters")
    return value


def template_fields(body: Mapping) -> tuple[str, str, str]:
    """Title, description and category of a template to publish; 400 naming the bad field."""
    title = _text(body, "title", MAX_TITLE, required=True)
    description = _text(body, "description", MAX_DESCRIPTION, required=False)
    category = _text(body, "category", 40, required=True).lower()
    if not CATEGORY.match(category):
        raise bad_field("category", "category must be a short word such as payment or review "
                                    "(letters, digits, space, - and _)")
    return title, description, category


def source_definition(body: Mapping) -> dict:
    """The template's flow: ``definition`` as given, or the current draft of the flow ``flow_id``."""
    if "definition" in body:
        if not isinstance(body["definition"], dict):
            raise bad_field("definition", "definition must be a flow definition (a JSON object)")
        return body["definition"]
    flow_id = body.get("flow_id")
    if flow_id is None:
        raise bad_field("definition", "send the flow's definition, or flow_id to take an existing flow's draft")
    if not isinstance(flow_id, int) or isinstance(flow_id, bool):
        raise bad_field("flow_id", "flow_id must be a flow's id (an integer)")
    flow = flows.get(flow_id)
    if flow is None:
        raise ApiError(404, f"flow {flow_id} not found", [{"path": "flow_id", "message": "unknown flow id"}])
    return flow.draft


def publish_template(body: Mapping) -> tuple[FlowTemplate, list[str]]:
    title, description, category = template_fields(body)
    definition = source_definition(body)
    try:
        return templates_catalog.publish(title=title, description=description, category=category,
                                         definition=definition, user=current_user())
    except templates_catalog.InvalidTemplate as exc:
        details = [{**p, "path": "$.definition" + p["path"].removeprefix("$")} for p in exc.problems]
        raise ApiError(422, "the flow is not valid; only a flow that could be published can become a template",
                       details) from None


def _flow_response(flow: Flow):
    """The same answer as POST /api/v1/flows."""
    response = jsonify(flow.to_dict())
    response.status_code = 201
    response.set_etag(str(flow.draft_rev))
    response.headers["Location"] = f"/api/v1/flows/{flow.id}"
    return response


@bp.get("")
@api_auth("viewer")
def list_templates():
    ensure_builtin_templates()
    return jsonify(paginate(templates_catalog.gallery_query(request.args.get("category") or None)))


@bp.get("/<ref>")
@api_auth("viewer")
def get_template(ref: str):
    ensure_builtin_templates()
    return jsonify(template_or_404(ref).to_dict())


@bp.post("")
@api_auth("admin")
def create_template():
    body = json_object()
    template, removed = publish_template(body)
    return jsonify({**template.to_dict(), "removed_secrets": removed}), 201


@bp.post("/<ref>/use")
@api_auth("operator")
def use_template(ref: str):
    ensure_builtin_templates()
    template = template_or_404(ref)
    name = None
    if request.get_data(cache=True).strip():
        body = json_object("the body must be a JSON object (or empty)")
        name = _text(body, "name", MAX_TITLE, required=False) or None
    return _flow_response(templates_catalog.instantiate(template, name=name, user=current_user()))
