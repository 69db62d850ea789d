"""Estimated profit of an order: the one definition the profit board and the loss circuit breaker share.

    revenue    = order.amount, or the sum of item price * qty when the order has no amount
    goods_cost = sum of item cost * qty
    profit     = revenue - goods_cost
                 - revenue * fees.commission          (platform commission, a fraction of revenue)
                 - revenue * fees.influencer_share    (the live-stream host's cut, a fraction of revenue)
                 + fees.shipping_subsidy              (what the platform pays towards shipping, an amount)
    margin     = profit / revenue                     (none when revenue is 0)

A missing fee, cost or price counts as 0 and a missing qty as 1, so an order with partial data
still lands on the board instead of vanishing from it. ``COMPUTE_FORMULAS`` is the same definition
written for the ``compute`` node, which the "Loss circuit breaker" template uses; a test keeps the
two in agreement.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

COMPUTE_FORMULAS = {
    "revenue": "coalesce(order.amount, sum(order.items, coalesce(item.price, 0) * coalesce(item.qty, 1)))",
    "goods_cost": "sum(order.items, coalesce(item.cost, 0) * coalesce(item.qty, 1))",
    "profit": "revenue - goods_cost - revenue * coalesce(order.fees.commission, 0)"
              " - revenue * coalesce(order.fees.influencer_share, 0) + coalesce(order.fees.shipping_subsidy, 0)",
    "margin": "(profit / revenue) if revenue != 0 else 0",
}


def _number(value: Any, default: float = 0.0) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return default
    return float(value)


@dataclass(frozen=True)
class Line:
    """One product's share of an order."""

    product: str | None
    revenue: float
    profit: float


@dataclass(frozen=True)
class OrderProfit:
    revenue: float
    profit: float
    lines: tuple[Line, ...]


def _items(items: Any) -> list[Mapping]:
    return [i for i in items if isinstance(i, Mapping)] if isinstance(items, list) else []


def order_profit(amount: Any, items: Any, fees: Any) -> OrderProfit:
    """Revenue and profit of one order, and each product's share of them.

    A product's share of revenue follows its share of the item total (price * qty), so discounts
    on the order spread over its items; the shipping subsidy is per order and spreads the same way.
    Shares add up to the order's figures exactly.
    """
    lines = _items(items)
    fees = fees if isinstance(fees, Mapping) else {}
    values = [_number(i.get("price")) * _number(i.get("qty"), 1.0) for i in lines]
    costs = [_number(i.get("cost")) * _number(i.get("qty"), 1.0) for i in lines]
    revenue = _number(amount, sum(values))
    rate = _number(fees.get("commission")) + _number(fees.get("influencer_share"))
    subsidy = _number(fees.get("shipping_subsidy"))
    profit = revenue - sum(costs) - revenue * rate + subsidy
    if not lines:
        return OrderProfit(revenue, profit, (Line(None, revenue, profit),))
    total = sum(values)
    shares = [v / total for v in values] if total else [1 / len(lines)] * len(lines)
    out = []
    for item, share, cost in zip(lines, shares, costs, strict=True):
        line_revenue = revenue * share
        product = item.get("sku") or item.get("name")
        out.append(Line(str(product) if product is not None else None, line_revenue,
                        line_revenue - cost - line_revenue * rate + subsidy * share))
    return OrderProfit(revenue, profit, tuple(out))


def margin(revenue: float, profit: float) -> float | None:
    return round(profit / revenue, 4) if revenue else None
