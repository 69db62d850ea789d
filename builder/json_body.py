"""Reading a request's JSON body, with the 400 every endpoint gives for a bad one."""

from __future__ import annotations

import json
from typing import Any

from flask import request

from builder.errors import bad_field


def parse_json_body() -> tuple[Any, bytes]:
    """The parsed body and its raw bytes (kept for the durable inbox and signatures)."""
    raw = request.get_data(cache=True)
    try:
        return json.loads(raw), raw
    except (ValueError, UnicodeDecodeError) as exc:
        raise bad_field("$", f"the body is not valid JSON: {exc}") from None


def json_object(message: str = "the body must be a JSON object") -> dict:
    body, _ = parse_json_body()
    if not isinstance(body, dict):
        raise bad_field("$", message)
    return body
