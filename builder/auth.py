"""Who is calling: API tokens (Bearer, stored as SHA-256) or a logged-in session, and their role."""

from __future__ import annotations

import hmac
import secrets
from functools import wraps

from flask import Blueprint, redirect, render_template, request, session, url_for

from builder.errors import ApiError
from runtime.accounts import ROLES, check_login, token_identity

bp = Blueprint("auth", __name__)


def _rank(role: str) -> int:
    return ROLES.index(role) if role in ROLES else -1


def csrf_token() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(24)
    return session["csrf"]


def identity() -> tuple[str, str] | None:
    """(name, role) of the caller, or None. A session counts for mutating API calls only with its CSRF token."""
    if "orderflow.identity" in request.environ:
        return request.environ["orderflow.identity"]
    found = None
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        token = token_identity(header[7:].strip())
        if token is not None:
            found = (f"token:{token[0]}", token[1])
    elif session.get("user"):
        safe = request.method in ("GET", "HEAD", "OPTIONS")
        sent = request.headers.get("X-CSRF-Token") or request.form.get("csrf_token")
        if safe or (sent and hmac.compare_digest(sent, session.get("csrf", ""))):
            found = (session["user"], session.get("role", "viewer"))
    request.environ["orderflow.identity"] = found
    return found


def api_auth(role: str = "viewer"):
    """401 without a valid token (checked before anything else), 403 when the role is too low."""

    def decorate(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            who = identity()
            if who is None:
                raise ApiError(401, "missing or invalid API token", [{"path": "Authorization",
                                                                      "message": "send Authorization: Bearer <token>"}],
                               headers={"WWW-Authenticate": "Bearer"})
            if _rank(who[1]) < _rank(role):
                raise ApiError(403, f"the role {who[1]!r} may not do this (needs {role})")
            return view(*args, **kwargs)
        return wrapper
    return decorate


def page_auth(role: str = "viewer"):
    def decorate(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            if not session.get("user"):
                return redirect(url_for("auth.login", next=request.full_path))
            if _rank(session.get("role", "viewer")) < _rank(role):
                return render_template("error.html", message=f"Your role may not open this page (needs {role})."), 403
            if request.method == "POST":
                sent = request.form.get("csrf_token") or request.headers.get("X-CSRF-Token")
                if not sent or not hmac.compare_digest(sent, session.get("csrf", "")):
                    return render_template("error.html", message="The form expired; reload the page."), 400
            return view(*args, **kwargs)
        return wrapper
    return decorate


def current_user() -> str:
    who = identity()
    return who[0] if who else "anonymous"


@bp.route("/login", methods=["GET", "POST"])
def login():
    error = None
    if request.method == "POST":
        name, password = request.form.get("name", "").strip(), request.form.get("password", "")
        user = check_login(name, password)
        if user is None:
            error = "Unknown user or wrong password."
        else:
            session.clear()
            session.update(user=user.name, role=user.role)
            csrf_token()
            target = request.args.get("next") or "/flows"
            return redirect(target if target.startswith("/") and not target.startswith("//") else "/flows")
    return render_template("login.html", error=error), (401 if error else 200)


@bp.post("/logout")
def logout():
    session.clear()
    return redirect(url_for("auth.login"))

