"""Ingress: the events API and the flows' webhooks. Thin: parse, check, hand to runtime.ingest."""

from __future__ import annotations

import hashlib
import hmac
import time

from flask import Blueprint, jsonify, request

from builder.auth import api_auth
from builder.errors import ApiError, bad_field
from builder.json_body import json_object, parse_json_body
from runtime import flows, ingest

bp = Blueprint("events", __name__)
SIGNATURE_MAX_SKEW_S = 300


@bp.post("/api/v1/events")
@api_auth("operator")
def post_event():
    body = json_object()
    try:
        accepted = ingest.accept_order_event(body, request.get_data(cache=True))
    except ingest.BadEvent as exc:
        raise ApiError(400, str(exc), exc.details) from None
    return jsonify(accepted.to_dict()), 202


def _check_signature(secret: str, raw: bytes) -> None:
    stamp = request.headers.get("X-OrderFlow-Timestamp", "")
    signature = request.headers.get("X-OrderFlow-Signature", "")
    if not stamp or not signature:
        raise ApiError(401, "this webhook needs a signature", [
            {"path": "X-OrderFlow-Signature", "message": "send X-OrderFlow-Timestamp and X-OrderFlow-Signature"}])
    try:
        skew = abs(time.time() - int(stamp))
    except ValueError:
        raise ApiError(401, "bad timestamp", [{"path": "X-OrderFlow-Timestamp", "message": "unix seconds expected"}]) from None
    if skew > SIGNATURE_MAX_SKEW_S:
        raise ApiError(401, "timestamp too far from now", [
            {"path": "X-OrderFlow-Timestamp", "message": f"more than {SIGNATURE_MAX_SKEW_S} s away"}])
    expected = "sha256=" + hmac.new(secret.encode(), stamp.encode() + b"." + raw, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, signature.strip()):
        raise ApiError(401, "bad signature", [{"path": "X-OrderFlow-Signature",
                                               "message": "HMAC-SHA256 of '<timestamp>.<raw body>' does not match"}])


@bp.post("/hooks/<key>")
def post_hook(key: str):
    version = flows.webhook_version(key)
    if version is None:
        raise ApiError(404, f"no active flow listens on /hooks/{key}", [{"path": "key", "message": "unknown webhook key"}])
    raw = request.get_data(cache=True)
    secret = flows.published(version).trigger_config.get("secret")
    if secret:
        _check_signature(secret, raw)
    body, raw = parse_json_body()
    problems = ingest.webhook_payload_problems(version, body)
    if problems:
        raise ApiError(422, "the payload does not match this webhook's schema", problems)
    idem = request.headers.get("Idempotency-Key")
    if idem is not None and not (0 < len(idem) <= 200):
        raise bad_field("Idempotency-Key", "Idempotency-Key must be 1-200 characters")
    accepted = ingest.accept_webhook(version, body, raw, idem)
    return jsonify(accepted.to_dict()), 202
