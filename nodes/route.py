"""``route``: ordered rules to named ports; the first match wins, else the default port."""

from __future__ import annotations

from nodes.base import Context, NodeType, Result, scope_of
from nodes.rules import evaluate_group, group_schema

PORT_NAME = {"type": "string", "title": "Port", "pattern": "^[A-Za-z0-9_-]{1,40}$"}


def ports(config: dict) -> list[str]:
    names = [r.get("port") for r in config.get("routes", []) if r.get("port")]
    default = config.get("default") or "default"
    return list(dict.fromkeys([*names, default]))


def run(ctx: Context, config: dict) -> Result:
    scope = scope_of(ctx)
    for index, route in enumerate(config.get("routes", [])):
        if evaluate_group(route, scope, ctx.now()):
            return Result(route["port"], {"matched": index, "port": route["port"]})
    default = config.get("default") or "default"
    return Result(default, {"matched": None, "port": default})


ROUTE = NodeType(
    type="route", title="Route", category="logic", icon="signpost",
    description="Sends the order down the first route whose rules match",
    help="Routes are checked top to bottom; each route is a port you wire to a team or step. "
         "Orders matching no route leave by the default port.",
    config_schema={
        "type": "object", "required": ["routes"], "additionalProperties": False,
        "properties": {
            "routes": {"type": "array", "title": "Routes", "default": [],
                       "items": {**group_schema(2), "title": "Route", "required": ["port", "rules"],
                                 "properties": {"port": PORT_NAME, **group_schema(2)["properties"]}}},
            "default": {**PORT_NAME, "title": "Default port", "default": "default"},
        },
    },
    ports_from_config=ports,
    run=run,
)

NODE_TYPES = [ROUTE]
