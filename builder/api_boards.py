"""Boards over HTTP: stuck orders (status x age) and the profit heatmap."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, time, timedelta

from flask import Blueprint, jsonify, request

from builder.auth import api_auth
from builder.errors import bad_field
from runtime import boards
from runtime.db import utcnow

bp = Blueprint("boards_api", __name__, url_prefix="/api/v1/boards")
DEFAULT_PROFIT_DAYS = 7


def _date(args: Mapping[str, str], name: str, default: date) -> date:
    raw = (args.get(name) or "").strip()
    if not raw:
        return default
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise bad_field(name, f"{name} must be a date like 2026-11-26") from None


def profit_query(args: Mapping[str, str]) -> tuple[date, date, str]:
    """``from`` and ``to`` (inclusive days, UTC; default the last 7 days) and ``by``; 400 naming the bad one."""
    by = (args.get("by") or "day,channel").replace(" ", "")
    if by not in boards.PROFIT_GROUPINGS:
        raise bad_field("by", f"by must be one of {', '.join(boards.PROFIT_GROUPINGS)}")
    end = _date(args, "to", utcnow().date())
    start = _date(args, "from", end - timedelta(days=DEFAULT_PROFIT_DAYS - 1))
    if start > end:
        raise bad_field("from", "from must not be after to")
    if (end - start).days + 1 > boards.MAX_PROFIT_DAYS:
        raise bad_field("to", f"the range may span at most {boards.MAX_PROFIT_DAYS} days")
    return start, end, by


def profit_cells(start: date, end: date, by: str) -> list[dict]:
    return boards.profit_cells(datetime.combine(start, time()), datetime.combine(end + timedelta(days=1), time()), by)


@bp.get("/stuck")
@api_auth("viewer")
def stuck():
    return jsonify(boards.stuck_board())


@bp.get("/profit")
@api_auth("viewer")
def profit():
    start, end, by = profit_query(request.args)
    return jsonify({"cells": profit_cells(start, end, by)})
