"""The admin page: hosts call_api may reach, named secrets, users and connectors."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, session, url_for

from builder.auth import page_auth
from runtime import admin_settings, connectors
from runtime.accounts import ROLES, create_user
from runtime.db import db
from runtime.models import User

bp = Blueprint("admin_pages", __name__)


def _page(errors: dict | None = None, status: int = 200):
    return render_template("admin.html", allowed_hosts="\n".join(admin_settings.allowed_hosts()),
                           secrets=admin_settings.secret_names(), users=User.query.order_by(User.name).all(),
                           roles=ROLES, connectors=connectors.board(), errors=errors or {},
                           form=request.form if request.method == "POST" else {}), status


@bp.get("/admin")
@page_auth("admin")
def settings():
    return _page()


@bp.post("/admin/allowed-hosts")
@page_auth("admin")
def allowed_hosts():
    try:
        saved = admin_settings.set_allowed_hosts(request.form.get("allowed_hosts", "").replace(",", "\n").splitlines())
    except admin_settings.SettingError as exc:
        return _page({exc.field: str(exc)}, 400)
    flash(f"call_api may now reach {len(saved)} extra host(s) or network(s)." if saved else
          "call_api reaches public addresses only (plus ORDERFLOW_ALLOWED_HOSTS).")
    return redirect(url_for("admin_pages.settings"))


@bp.post("/admin/secrets")
@page_auth("admin")
def secret():
    name = request.form.get("name", "").strip()
    try:
        admin_settings.set_secret(name, request.form.get("value", ""))
    except admin_settings.SettingError as exc:
        return _page({f"secret_{exc.field}": str(exc)}, 400)
    flash(f"Secret {name} saved. Use it as {{{{ secret('{name}') }}}}; it is never shown again.")
    return redirect(url_for("admin_pages.settings"))


@bp.post("/admin/secrets/<name>/delete")
@page_auth("admin")
def delete_secret(name: str):
    flash(f"Secret {name} deleted." if admin_settings.delete_secret(name) else f"No secret {name}.")
    return redirect(url_for("admin_pages.settings"))


@bp.post("/admin/users")
@page_auth("admin")
def user():
    name, role, password = (request.form.get(k, "").strip() for k in ("name", "role", "password"))
    errors = {}
    if not name or len(name) > 100:
        errors["user_name"] = "a user name is 1 to 100 characters"
    if role not in ROLES:
        errors["user_role"] = f"role must be one of {', '.join(ROLES)}"
    if len(password) < 8:
        errors["user_password"] = "a password has at least 8 characters"
    if name == session.get("user") and role != "admin":
        errors["user_role"] = "you cannot take your own admin role away"
    if errors:
        return _page(errors, 400)
    create_user(name, role, password)
    flash(f"User {name} ({role}) saved.")
    return redirect(url_for("admin_pages.settings"))


@bp.post("/admin/connectors")
@page_auth("admin")
def connector():
    name, group, role = (request.form.get(k, "").strip() for k in ("name", "group", "role"))
    timeout = request.form.get("callback_timeout_s", "").strip()
    errors = {}
    if not name or not name.replace("_", "").replace("-", "").replace(".", "").isalnum() or len(name) > 64:
        errors["connector_name"] = "letters, digits, . _ - (at most 64)"
    if not group or not group.replace("_", "").isalnum():
        errors["connector_group"] = "a group is a short name such as payment or carrier"
    if role not in ("primary", "backup"):
        errors["connector_role"] = "primary or backup"
    if timeout and (not timeout.isdigit() or not 1 <= int(timeout) <= 86400):
        errors["connector_timeout"] = "seconds, from 1 to 86400"
    if errors:
        return _page(errors, 400)
    connectors.upsert(name, group=group, role=role, active=role == "primary",
                      callback_timeout_s=int(timeout) if timeout else None)
    db.session.commit()
    flash(f"Connector {name} ({group}, {role}) saved.")
    return redirect(url_for("admin_pages.settings"))
