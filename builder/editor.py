"""The flow editor's pages and htmx partials: the canvas page, node settings forms, versions, diff.

The canvas itself runs in the browser (static/editor.js); everything that needs to know a node
type (forms, ports, validation, diff) is answered here from the registry, so the browser holds no
copy of any node type's rules.
"""

from __future__ import annotations

import json

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, session, url_for

from builder.auth import page_auth
from builder.form_parse import BadAction, apply_action, parse_form
from builder.forms import KNOWN_FIELDS_LIST, build_fields, config_errors, json_path
from builder.palette import display_ports, glyph, palette_groups, palette_items, safe_ports, view_data
from nodes import registry
from nodes.fields import KNOWN_ORDER_FIELDS
from nodes.triggers import TRIGGER_EVENT_TYPES
from runtime import flows
from runtime.flowdiff import diff_flows
from runtime.models import Flow

bp = Blueprint("editor", __name__)
BLANK_FLOW = {"schema_version": 1, "name": "Untitled flow", "description": "", "nodes": [], "edges": []}


def run_path_data(steps) -> dict:
    """A run's steps as the read-only canvas paints them: visited nodes and the port each left by."""
    return {"path": [s.node_id for s in steps],
            "steps": [{"node_id": s.node_id, "port": s.port, "status": s.status} for s in steps]}


@bp.app_context_processor
def _globals() -> dict:
    return {"flow_view_data": view_data, "run_path_data": run_path_data}


def _flow_or_404(flow_id: int) -> Flow:
    flow = flows.get(flow_id)
    if flow is None:
        abort(404)
    return flow


def _readonly() -> bool:
    return session.get("role") == "viewer"


@bp.post("/flows/blank")
@page_auth("operator")
def blank():
    flow = flows.create(dict(BLANK_FLOW, name=request.form.get("name", "").strip()[:200] or "Untitled flow"),
                        user=session["user"])
    return redirect(url_for("editor.edit", flow_id=flow.id))


@bp.get("/flows/<int:flow_id>/edit")
@page_auth()
def edit(flow_id: int):
    flow = _flow_or_404(flow_id)
    data = {
        "flow": {"id": flow.id, "name": flow.name, "description": flow.description, "draft": flow.draft,
                 "draft_rev": flow.draft_rev, "problems": flow.draft_problems,
                 "published_version": flow.published_version, "active": flow.active},
        "ports": display_ports(flow.draft),
        "node_types": palette_items(),
        "readonly": _readonly(),
        "urls": {
            "flow": f"/api/v1/flows/{flow.id}", "draft": f"/api/v1/flows/{flow.id}/draft",
            "validate": f"/api/v1/flows/{flow.id}/validate", "publish": f"/api/v1/flows/{flow.id}/publish",
            "unpublish": f"/api/v1/flows/{flow.id}/unpublish", "test": f"/api/v1/flows/{flow.id}/test",
            "discard": f"/api/v1/flows/{flow.id}/discard", "restore": f"/api/v1/flows/{flow.id}/versions/",
            "import": f"/api/v1/flows/{flow.id}/import", "export": f"/api/v1/flows/{flow.id}/export",
            "settings": url_for("editor.settings", flow_id=flow.id),
            "versions": url_for("editor.versions", flow_id=flow.id),
            "orders": "/api/v1/orders",
        },
    }
    return render_template("editor/edit.html", flow=flow, data=data, groups=palette_groups(),
                           event_types=TRIGGER_EVENT_TYPES)


def _settings_response(flow: Flow, node: dict, config: dict, *, errors: dict | None = None, kept=(),
                       extra_rows: dict | None = None, status: int = 200) -> Response:
    node_type = registry.get(str(node.get("type", "")), node.get("version", 1) if isinstance(node.get("version", 1), int) else 1)
    fields = []
    if node_type is not None:
        shown = dict(errors or {})
        for path, messages in config_errors(node_type.config_schema, config).items():
            shown.setdefault(path, []).extend(m for m in messages if m not in shown.get(path, []))
        fields = build_fields(node_type.config_schema, config, errors=shown, kept=set(kept), extra_rows=extra_rows)
    html = render_template("editor/_settings.html", flow=flow, node=node, node_type=node_type, fields=fields,
                           form_errors=(errors or {}).get("$", []),
                           glyph=glyph(node_type) if node_type else "?", readonly=_readonly(),
                           config_json=json.dumps(config, indent=2, ensure_ascii=False),
                           known_fields=KNOWN_ORDER_FIELDS, known_fields_id=KNOWN_FIELDS_LIST)
    return Response(html, status=status, mimetype="text/html")


def _trigger(response: Response, payload: dict) -> Response:
    # ASCII-only JSON: header values travel as latin-1
    response.headers["HX-Trigger"] = json.dumps({"orderflow:config": payload}, ensure_ascii=True)
    return response


@bp.post("/flows/<int:flow_id>/edit/settings")
@page_auth()
def settings(flow_id: int):
    """Open a node's settings (``node`` = the node as JSON), or read the posted form back into a config.

    A plain change answers 204 with the parsed config in an HX-Trigger event (the form stays as the
    user is typing in it); a row action (``_action``) answers the form drawn again.
    """
    flow = _flow_or_404(flow_id)
    form = request.form
    if "node" in form:
        try:
            node = json.loads(form["node"])
        except ValueError:
            node = None
        if not isinstance(node, dict) or not isinstance(node.get("id"), str) or not isinstance(node.get("config", {}), dict):
            return Response('<p class="error" role="alert">This node cannot be opened: it is not a node object.</p>',
                            status=400, mimetype="text/html")
        return _settings_response(flow, node, node.get("config") or {})
    node = {"id": form.get("_node_id", ""), "type": form.get("_type", ""),
            "version": int(form["_version"]) if form.get("_version", "").isdigit() else 1}
    name = form.get("_name", "").strip()[:200]
    if name:
        node["name"] = name
    node_type = registry.get(node["type"], node["version"])
    action = form.get("_action", "")
    if node_type is None:
        config, errors, kept, extra_rows, ports = _raw_config(form.get("_config_json", ""))
    else:
        parsed = parse_form(node_type.config_schema, form)
        config, errors, kept, extra_rows = parsed.config, parsed.errors, parsed.kept, {}
        if action and action != "refresh":
            try:
                config, extra_rows = apply_action(node_type.config_schema, config, action)
            except BadAction as exc:
                errors = [*errors, {"path": "$", "message": str(exc)}]
        ports = safe_ports(node_type, config)
    seq = form.get("_seq", "")
    payload = {"node_id": node["id"], "name": name, "config": config, "kept": kept, "ports": ports,
               "errors": errors, "seq": int(seq) if seq.isdigit() else 0}
    if not action:
        return _trigger(Response(status=204), payload)
    error_map: dict[str, list[str]] = {}
    for e in errors:
        error_map.setdefault(e["path"], []).append(e["message"])
    kept_paths = {json_path(keys) for keys in kept}
    return _trigger(_settings_response(flow, node, config if config is not None else {}, errors=error_map, kept=kept_paths,
                                       extra_rows=extra_rows), payload)


def _raw_config(text: str):
    """Settings of a node type the registry does not know: edited as one JSON object.

    Text that is not a JSON object answers no config at all, so the canvas keeps the stored one.
    """
    try:
        config = json.loads(text) if text.strip() else {}
    except ValueError as exc:
        return None, [{"path": "$", "message": f"not valid JSON: {exc}"}], [], {}, None
    if not isinstance(config, dict):
        return None, [{"path": "$", "message": "settings must be a JSON object"}], [], {}, None
    return config, [], [], {}, None


@bp.get("/flows/<int:flow_id>/edit/versions")
@page_auth()
def versions(flow_id: int):
    flow = _flow_or_404(flow_id)
    rows = flows.versions(flow.id)
    published = flows.published_definition(flow)
    changed = diff_flows(published, flow.draft) if published is not None else None
    return render_template("editor/_versions.html", flow=flow, versions=rows, changed=changed,
                           readonly=_readonly())


@bp.get("/flows/<int:flow_id>/edit/diff")
@page_auth()
def diff(flow_id: int):
    flow = _flow_or_404(flow_id)
    refs = {}
    for param, fallback in (("from", "published"), ("to", "draft")):
        ref = request.args.get(param) or fallback
        if ref == "published":
            ref = str(flow.published_version or "")
        if ref != "draft" and not (ref.isdigit() and flows.version(flow.id, int(ref))):
            return render_template("editor/_diff.html", error=f"Pick two versions to compare ({param} is unknown)."), 400
        refs[param] = ref
    definitions = {p: flow.draft if r == "draft" else flows.version(flow.id, int(r)).definition for p, r in refs.items()}
    labels = {p: "draft" if r == "draft" else f"v{r}" for p, r in refs.items()}
    return render_template("editor/_diff.html", diff=diff_flows(definitions["from"], definitions["to"]),
                           labels=labels, error=None)


@bp.get("/flows/<int:flow_id>/versions/<int:number>")
@page_auth()
def version_view(flow_id: int, number: int):
    flow = _flow_or_404(flow_id)
    row = flows.version(flow.id, number) or abort(404)
    return render_template("editor/version.html", flow=flow, version=row, readonly=_readonly(),
                           text=json.dumps(row.definition, indent=2, ensure_ascii=False))


@bp.post("/flows/<int:flow_id>/versions/<int:number>/restore")
@page_auth("operator")
def version_restore(flow_id: int, number: int):
    flow = _flow_or_404(flow_id)
    rev = request.form.get("draft_rev", "")
    try:
        flows.restore(flow, number, expected_rev=int(rev) if rev.isdigit() else None, user=session["user"])
    except flows.NoSuchVersion:
        abort(404)
    except flows.StaleDraft as exc:
        flash(f"Not restored: the draft changed meanwhile (now revision {exc.current_rev}). Nothing was overwritten.",
              "error")
        return redirect(url_for("editor.version_view", flow_id=flow.id, number=number))
    flash(f"Version {number} restored into the draft.")
    return redirect(url_for("editor.edit", flow_id=flow.id))
