"""Connectors over HTTP: the health board, and admins declaring primaries and backups."""

from __future__ import annotations

import re

from flask import Blueprint, jsonify

from builder.auth import api_auth
from builder.errors import bad_field
from builder.json_body import json_object
from runtime import connectors
from runtime.db import db

bp = Blueprint("connectors_api", __name__)
NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


@bp.get("/api/v1/boards/connectors")
@api_auth("viewer")
def board():
    items = connectors.board()
    return jsonify({"items": items, "page": 1, "limit": len(items), "total": len(items)})


@bp.post("/api/v1/connectors")
@api_auth("admin")
def upsert():
    body = json_object()
    name, group, role = body.get("name"), body.get("group", connectors.DEFAULT_GROUP), body.get("role", "primary")
    if not isinstance(name, str) or not NAME.match(name):
        raise bad_field("name", "name is required: letters, digits, . _ - (at most 64)")
    if not isinstance(group, str) or not NAME.match(group):
        raise bad_field("group", "group must be a short name such as payment or carrier")
    if role not in ("primary", "backup"):
        raise bad_field("role", "role must be primary or backup")
    timeout = body.get("callback_timeout_s")
    if timeout is not None and (not isinstance(timeout, int) or isinstance(timeout, bool) or not 1 <= timeout <= 86400):
        raise bad_field("callback_timeout_s", "callback_timeout_s must be an integer from 1 to 86400")
    active = body.get("active", role == "primary")
    if not isinstance(active, bool):
        raise bad_field("active", "active must be true or false")
    connector = connectors.upsert(name, group=group, role=role, active=active, callback_timeout_s=timeout)
    db.session.commit()
    return jsonify(connector.to_dict())
