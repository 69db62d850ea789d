"""The template gallery page: pick a template to start a draft; admins publish flows to it."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for

from builder.api_templates import ensure_builtin_templates, publish_template
from builder.auth import page_auth
from builder.errors import ApiError
from nodes import registry
from runtime import templates_catalog
from runtime.models import Flow

bp = Blueprint("gallery_pages", __name__)


def _trigger_title(type_name: str | None) -> str:
    node_type = registry.get(type_name or "", 1)
    return node_type.title if node_type else (type_name or "")


def _gallery(status: int = 200, error: str | None = None, form: dict | None = None):
    category = request.args.get("category") or None
    templates = templates_catalog.gallery_query(category).all()
    flows = Flow.query.order_by(Flow.name).all() if session.get("role") == "admin" else []
    return render_template("gallery.html", templates=templates, category=category,
                           categories=templates_catalog.categories(), trigger_title=_trigger_title,
                           flows=flows, error=error, form=form or {}), status


@bp.get("/templates")
@page_auth()
def gallery():
    ensure_builtin_templates()
    return _gallery()


@bp.post("/templates/<int:template_id>/use")
@page_auth("operator")
def use(template_id: int):
    template = templates_catalog.get(template_id) or abort(404)
    flow = templates_catalog.instantiate(template, user=session["user"])
    flash(f"Draft flow created from the template “{template.title}”. Adjust it, dry-run it, then publish.")
    return redirect(f"/flows/{flow.id}/edit")


@bp.post("/templates")
@page_auth("admin")
def publish():
    form = {k: request.form.get(k, "") for k in ("title", "description", "category", "flow_id")}
    if not form["flow_id"].isdigit():
        return _gallery(400, "Choose the flow to publish as a template.", form)
    body = {"title": form["title"], "description": form["description"], "category": form["category"],
            "flow_id": int(form["flow_id"])}
    try:
        template, removed = publish_template(body)
    except ApiError as exc:
        problems = "; ".join(f"{d['path']}: {d['message']}" for d in exc.details[:5])
        return _gallery(exc.status, f"{exc.message}" + (f" ({problems})" if problems else ""), form)
    note = " Webhook secrets were left out of it." if removed else ""
    flash(f"Template “{template.title}” published to the gallery.{note}")
    return redirect(url_for("gallery_pages.gallery"))
