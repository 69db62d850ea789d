"""Server-rendered pages (Jinja + htmx). Thin: read through runtime, render, redirect."""

from __future__ import annotations

import json

from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for

from builder.api_orders import orders_query
from builder.api_runs import RUN_STATUSES, runs_query, steps_of
from builder.api_tasks import tasks_query
from builder.auth import csrf_token, page_auth
from runtime import flows, jobs, orders, tasks
from runtime.db import db, utcnow
from runtime.models import Flow, Order, Run, Task

bp = Blueprint("pages", __name__)
PAGE_SIZE = 50


def init_app(app) -> None:
    @app.context_processor
    def globals_():
        return {"csrf_token": csrf_token, "current_user": session.get("user"), "current_role": session.get("role")}

    @app.template_filter("pretty")
    def pretty(value) -> str:
        return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=False)


def _page() -> int:
    raw = request.args.get("page", "1")
    return max(1, int(raw)) if raw.isdigit() else 1


@bp.get("/")
def index():
    return redirect(url_for("pages.flow_list"))


@bp.get("/flows")
@page_auth()
def flow_list():
    rows = Flow.query.order_by(Flow.updated_at.desc()).all()
    return render_template("flows/list.html", flows=rows)


def _parse_definition(text: str) -> tuple[dict | None, str | None]:
    try:
        value = json.loads(text)
    except ValueError as exc:
        return None, f"Not valid JSON: {exc}"
    if not isinstance(value, dict):
        return None, "A flow definition must be a JSON object."
    return value, None


def _uploaded_text() -> str:
    upload = request.files.get("file")
    if upload and upload.filename:
        return upload.read().decode("utf-8", "replace")
    return request.form.get("definition", "")


@bp.route("/flows/new", methods=["GET", "POST"])
@page_auth("operator")
def flow_new():
    error, text = None, ""
    if request.method == "POST":
        text = _uploaded_text()
        definition, error = _parse_definition(text)
        if definition is not None:
            flow = flows.create(definition, user=session["user"])
            flash("Flow created." + (" It has problems to fix before publishing." if flow.draft_problems else ""))
            return redirect(url_for("pages.flow_detail", flow_id=flow.id))
    return render_template("flows/new.html", error=error, text=text), (400 if error else 200)


def _flow_or_404(flow_id: int) -> Flow:
    flow = flows.get(flow_id)
    if flow is None:
        abort(404)
    return flow


@bp.route("/flows/<int:flow_id>", methods=["GET", "POST"])
@page_auth()
def flow_detail(flow_id: int):
    flow = _flow_or_404(flow_id)
    error, text = None, None
    if request.method == "POST":
        if session.get("role") == "viewer":
            abort(403)
        text = _uploaded_text()
        definition, error = _parse_definition(text)
        if definition is not None:
            try:
                flows.save_draft(flow, definition, expected_rev=int(request.form.get("draft_rev", flow.draft_rev)),
                                 user=session["user"])
                flash("Draft replaced.")
                return redirect(url_for("pages.flow_detail", flow_id=flow.id))
            except flows.StaleDraft as exc:
                error = f"Someone else saved this flow meanwhile (now revision {exc.current_rev}); nothing was overwritten."
    return render_template("flows/detail.html", flow=flow, versions=flows.versions(flow.id), error=error,
                           text=text if text is not None else json.dumps(flow.draft, indent=2, ensure_ascii=False),
                           recent_runs=runs_query(str(flow.id), None).limit(10).all()), (400 if error else 200)


@bp.post("/flows/<int:flow_id>/publish")
@page_auth("operator")
def flow_publish(flow_id: int):
    flow = _flow_or_404(flow_id)
    try:
        version = flows.publish(flow, user=session["user"])
        flash(f"Published version {version.version}.")
    except flows.InvalidFlow as exc:
        flash(f"Not published: the draft has {len(exc.problems)} problem(s).", "error")
    return redirect(request.form.get("next") or url_for("pages.flow_detail", flow_id=flow.id))


@bp.post("/flows/<int:flow_id>/unpublish")
@page_auth("operator")
def flow_unpublish(flow_id: int):
    flows.unpublish(_flow_or_404(flow_id))
    flash("Flow deactivated: new events no longer start it.")
    return redirect(request.form.get("next") or url_for("pages.flow_detail", flow_id=flow_id))


@bp.get("/runs")
@page_auth()
def run_list():
    flow_arg, status = request.args.get("flow") or None, request.args.get("status") or None
    if status and status not in RUN_STATUSES:
        status = None
    if flow_arg and not flow_arg.isdigit():
        flow_arg = None
    query = runs_query(flow_arg, status)
    page = _page()
    rows = query.limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE).all()
    names = dict(db.session.query(Flow.id, Flow.name))
    template = "runs/_table.html" if request.headers.get("HX-Request") else "runs/list.html"
    return render_template(template, runs=rows, flow_names=names, statuses=RUN_STATUSES, flow=flow_arg,
                           status=status, page=page, page_size=PAGE_SIZE, flows=Flow.query.order_by(Flow.name).all())


@bp.get("/runs/<int:run_id>")
@page_auth()
def run_detail(run_id: int):
    run = db.session.get(Run, run_id) or abort(404)
    flow = db.session.get(Flow, run.flow_id)
    version = flows.version(run.flow_id, run.flow_version)
    template = "runs/_detail.html" if request.headers.get("HX-Request") else "runs/detail.html"
    return render_template(template, run=run, flow=flow, steps=steps_of(run.id),
                           definition=version.definition if version else None)


@bp.post("/runs/<int:run_id>/retry")
@page_auth("operator")
def run_retry(run_id: int):
    run = db.session.get(Run, run_id) or abort(404)
    try:
        jobs.retry_run(run)
        flash("Retrying from the failed step.")
    except ValueError as exc:
        flash(str(exc), "error")
    return redirect(url_for("pages.run_detail", run_id=run.id))


@bp.post("/runs/<int:run_id>/rerun")
@page_auth("operator")
def run_rerun(run_id: int):
    run = db.session.get(Run, run_id) or abort(404)
    flow = db.session.get(Flow, run.flow_id)
    if not flow.published_version:
        flash("The flow has no published version.", "error")
        return redirect(url_for("pages.run_detail", run_id=run.id))
    new = jobs.rerun(run, flow.published_version)
    flash(f"Started run {new.id} on version {new.flow_version}.")
    return redirect(url_for("pages.run_detail", run_id=new.id))


@bp.post("/runs/replay")
@page_auth("operator")
def runs_replay():
    flow_arg = request.form.get("flow", "")
    flow = flows.get(int(flow_arg)) if flow_arg.isdigit() else None
    if flow is None:
        abort(404)
    retried = jobs.replay_failed(flow.id)
    flash(f"Retrying {len(retried)} failed run(s) of {flow.name} from their failed steps.")
    return redirect(url_for("pages.run_list", flow=flow.id))


@bp.get("/orders")
@page_auth()
def order_list():
    args = request.args
    page = _page()
    rows = orders_query(args.get("status"), args.get("flag"), args.get("tag")).limit(PAGE_SIZE) \
        .offset((page - 1) * PAGE_SIZE).all()
    return render_template("orders/list.html", orders=rows, page=page, page_size=PAGE_SIZE, args=args)


@bp.get("/orders/<order_id>")
@page_auth()
def order_detail(order_id: str):
    order = db.session.get(Order, order_id) or abort(404)
    return render_template("orders/detail.html", order=order, versions=orders.versions(order_id),
                           audit=orders.audit(order_id),
                           runs=Run.query.filter_by(order_id=order_id).order_by(Run.id.desc()).limit(20).all())


@bp.get("/inbox/<queue>")
@page_auth()
def inbox(queue: str):
    status = request.args.get("status", "open")
    rows = tasks_query(queue, status if status in ("open", "done") else "open").limit(200).all()
    queue_names = [q for (q,) in db.session.query(Task.queue).distinct().order_by(Task.queue)]
    return render_template("inbox.html", queue=queue, tasks=rows, status=status, queues=queue_names, now=utcnow())


@bp.post("/tasks/<int:task_id>/resolve")
@page_auth("operator")
def task_resolve(task_id: int):
    task = db.session.get(Task, task_id) or abort(404)
    try:
        tasks.resolve(task, request.form.get("decision", ""), request.form.get("comment") or None, session["user"])
        flash(f"Task {task.id} resolved: {task.decision}.")
    except tasks.TaskError as exc:
        flash(str(exc), "error")
    return redirect(url_for("pages.inbox", queue=task.queue))
