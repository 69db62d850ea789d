"""The boards as pages: stuck orders, the profit heatmap, connector health."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, redirect, render_template, request, url_for

from builder.api_boards import profit_cells, profit_query
from builder.auth import page_auth
from builder.errors import ApiError
from runtime import boards, connectors
from runtime.profit import margin

bp = Blueprint("boards_pages", __name__)

# Margin thresholds for the heatmap colours; the first bucket is the loss circuit breaker's -5%.
MARGIN_CLASSES = ((-0.05, "m-loss"), (0.0, "m-neg"), (0.10, "m-thin"), (0.25, "m-ok"))


@bp.app_template_filter("margin_class")
def margin_class(value: float | None) -> str:
    if value is None:
        return "m-none"
    return next((name for bound, name in MARGIN_CLASSES if value < bound), "m-good")


@bp.app_template_filter("percent")
def percent(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f}%"


@bp.get("/boards")
@page_auth()
def index():
    return redirect(url_for("boards_pages.stuck"))


@bp.get("/boards/stuck")
@page_auth()
def stuck():
    return render_template("boards/stuck.html", board=boards.stuck_board(), tab="stuck")


def _heatmap(cells: list[dict], key_name: str, rows: list) -> dict:
    """Cells arranged as rows x channels, with totals per row and per channel."""
    channels = sorted({c["channel"] for c in cells}, key=lambda ch: (ch is None, ch or ""))
    grid = {(c[key_name], c["channel"]): c for c in cells}

    def total(selected: list[dict]) -> dict:
        revenue = sum(c["revenue"] for c in selected)
        profit = sum(c["profit"] for c in selected)
        return {"orders": sum(c["orders"] for c in selected), "revenue": round(revenue, 2),
                "profit": round(profit, 2), "margin": margin(revenue, profit)}

    return {"channels": channels, "rows": rows, "grid": grid,
            "row_totals": {r: total([c for c in cells if c[key_name] == r]) for r in rows},
            "channel_totals": {ch: total([c for c in cells if c["channel"] == ch]) for ch in channels},
            "total": total(cells)}


@bp.get("/boards/profit")
@page_auth()
def profit():
    form = {"from": request.args.get("from", ""), "to": request.args.get("to", ""),
            "by": request.args.get("by", "day,channel")}
    try:
        start, end, by = profit_query(request.args)
    except ApiError as exc:
        return render_template("boards/profit.html", tab="profit", form=form, error=exc.message,
                               error_field=exc.details[0]["path"] if exc.details else None, heatmap=None), 400
    key_name = boards.PROFIT_GROUPINGS[by]
    cells = profit_cells(start, end, by)
    if key_name == "day":  # every day of the range gets a row, so gaps in sales show as gaps
        rows = [(start + timedelta(days=n)).isoformat() for n in range((end - start).days + 1)]
    else:
        rows = sorted({c["product"] for c in cells}, key=lambda p: (p is None, p or ""))
    form.update({"from": start.isoformat(), "to": end.isoformat(), "by": by})
    return render_template("boards/profit.html", tab="profit", form=form, error=None, error_field=None,
                           key_name=key_name, heatmap=_heatmap(cells, key_name, rows))


@bp.get("/boards/connectors")
@page_auth()
def connector_board():
    return render_template("boards/connectors.html", tab="connectors", connectors=connectors.board())
