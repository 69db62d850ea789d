"""Orders API: list with filters, one order, its versions and audit trail."""

from __future__ import annotations

from flask import Blueprint, jsonify, request
from sqlalchemy import String, cast

from builder.auth import api_auth
from builder.errors import ApiError
from builder.pagination import paginate
from runtime import orders
from runtime.models import Order

bp = Blueprint("orders_api", __name__, url_prefix="/api/v1/orders")


def orders_query(status: str | None = None, flag: str | None = None, tag: str | None = None):
    query = Order.query
    if status:
        query = query.filter(Order.status == status)
    # JSON arrays: a LIKE on the text form works on both SQLite and PostgreSQL
    if flag:
        query = query.filter(cast(Order.flags, String).like(f'%"{flag}"%'))
    if tag:
        query = query.filter(cast(Order.tags, String).like(f'%"{tag}"%'))
    return query.order_by(Order.updated_at.desc())


def order_or_404(order_id: str) -> Order:
    order = orders.get(order_id)
    if order is None:
        raise ApiError(404, f"order {order_id} not found", [{"path": "id", "message": "unknown order id"}])
    return order


@bp.get("")
@api_auth("viewer")
def list_orders():
    args = request.args
    return jsonify(paginate(orders_query(args.get("status"), args.get("flag"), args.get("tag"))))


@bp.get("/<order_id>")
@api_auth("viewer")
def get_order(order_id: str):
    return jsonify(order_or_404(order_id).to_dict())


@bp.get("/<order_id>/versions")
@api_auth("viewer")
def versions(order_id: str):
    order_or_404(order_id)
    items = [v.to_dict() for v in orders.versions(order_id)]
    return jsonify({"items": items, "page": 1, "limit": len(items), "total": len(items),
                    "audit": [a.to_dict() for a in orders.audit(order_id)]})
