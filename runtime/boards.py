"""The boards: where orders are stuck (status x age), and profit by day or product x channel."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from sqlalchemy import case, func, select

from runtime.db import db, iso, utcnow
from runtime.models import Order
from runtime.profit import margin, order_profit

# Orders in these statuses have left the pipeline: however long ago they got there, nothing is stuck.
FINAL_STATUSES = ("shipped", "delivered", "completed", "cancelled", "refunded", "closed")
# Orders that brought no money in: counting them would inflate revenue and hide real losses.
NO_REVENUE_STATUSES = ("cancelled", "refunded", "closed")
# (label, upper bound of the age in minutes); the last bucket is open-ended.
AGE_BUCKETS: tuple[tuple[str, int | None], ...] = (("<15m", 15), ("15-60m", 60), ("1-4h", 240),
                                                   ("4-24h", 1440), (">24h", None))
PROFIT_GROUPINGS = {"day,channel": "day", "product,channel": "product"}
MAX_PROFIT_DAYS = 366
_STREAM_ROWS = 2000


def stuck_board(now: datetime | None = None) -> dict:
    """Counts of unfinished orders by status and by how long they have been in it.

    One grouped query over the (status, status_since) index; the bucket boundaries are bound
    parameters, so SQLite and PostgreSQL compare the same naive-UTC timestamps.
    """
    now = now or utcnow()
    bucket = case(*[(Order.status_since > now - timedelta(minutes=bound), label)
                    for label, bound in AGE_BUCKETS if bound is not None],
                  else_=AGE_BUCKETS[-1][0]).label("bucket")
    # Grouping on the subquery's column, not on the CASE itself: PostgreSQL would see the CASE in
    # GROUP BY and in SELECT as two expressions (their parameters are bound separately).
    aged = select(Order.status, Order.status_since, bucket).where(Order.status.not_in(FINAL_STATUSES)).subquery()
    rows = db.session.execute(
        select(aged.c.status, aged.c.bucket, func.count(), func.min(aged.c.status_since))
        .group_by(aged.c.status, aged.c.bucket)).all()
    labels = [label for label, _ in AGE_BUCKETS]
    statuses: dict[str, dict] = {}
    for status, label, count, oldest in rows:
        entry = statuses.setdefault(status, {"status": status, "counts": dict.fromkeys(labels, 0), "total": 0,
                                             "oldest_since": None})
        entry["counts"][label] += count
        entry["total"] += count
        if oldest is not None and (entry["oldest_since"] is None or oldest < entry["oldest_since"]):
            entry["oldest_since"] = oldest
    ordered = sorted(statuses.values(), key=lambda e: (-e["total"], e["status"]))
    for entry in ordered:
        entry["oldest_since"] = iso(entry["oldest_since"])
    bounds = [0] + [bound for _, bound in AGE_BUCKETS[:-1]]
    return {
        "as_of": iso(now),
        "buckets": [{"label": label, "from_minutes": low, "to_minutes": high}
                    for (label, high), low in zip(AGE_BUCKETS, bounds, strict=True)],
        "statuses": ordered,
        "total": sum(e["total"] for e in ordered),
        "excluded_statuses": list(FINAL_STATUSES),
    }


def profit_cells(start: datetime, end: datetime, by: str = "day,channel") -> list[dict]:
    """Orders, revenue, profit and margin per (day or product, channel) for orders created in
    [start, end). The formula is runtime.profit's.

    Profit needs each order's items and fees (JSON), which SQLite and PostgreSQL would unpack
    differently, so the rows stream through Python in chunks; the caller bounds the date range.
    """
    key_name = PROFIT_GROUPINGS[by]
    query = (select(Order.created_at, Order.channel, Order.amount, Order.items, Order.fees)
             .where(Order.created_at >= start, Order.created_at < end, Order.status.not_in(NO_REVENUE_STATUSES))
             .execution_options(yield_per=_STREAM_ROWS))
    totals: dict[tuple, list] = defaultdict(lambda: [0, 0.0, 0.0])
    for created_at, channel, amount, items, fees in db.session.execute(query):
        figures = order_profit(amount, items, fees)
        if key_name == "day":
            parts = {created_at.date().isoformat(): [figures.revenue, figures.profit]}
        else:
            parts = defaultdict(lambda: [0.0, 0.0])  # two lines of one product count as one order
            for line in figures.lines:
                parts[line.product][0] += line.revenue
                parts[line.product][1] += line.profit
        for key, (revenue, profit) in parts.items():
            cell = totals[(key, channel)]
            cell[0] += 1
            cell[1] += revenue
            cell[2] += profit
    cells = [{key_name: key, "channel": channel, "orders": orders, "revenue": round(revenue, 2),
              "profit": round(profit, 2), "margin": margin(revenue, profit)}
             for (key, channel), (orders, revenue, profit) in totals.items()]
    # None (no channel, an order without items) sorts last instead of breaking the comparison
    return sorted(cells, key=lambda c: (c[key_name] is None, c[key_name] or "", c["channel"] is None,
                                        c["channel"] or ""))
