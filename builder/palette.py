"""What the canvas needs to know about node types and a flow's ports, computed from the registry.

The canvas draws a node's output ports from the server's answer rather than from its own copy of
each node type's rules, so a node type with ports derived from its config (route) needs no UI code.
"""

from __future__ import annotations

from builder.forms import default_config
from nodes import registry
from nodes.base import NodeType

CATEGORY_TITLES = {"trigger": "Triggers", "logic": "Logic", "human": "Human", "action": "Actions"}

# Node types name an icon; these are drawn with glyphs every system font has (DejaVu, Liberation).
# An icon not listed falls back to the title's first letter, so a new node type still needs no UI code.
GLYPHS = {
    "bolt": "⚡", "link": "⇄", "clock": "◔", "hourglass": "◷", "calendar": "☷", "heart-pulse": "♥",
    "alert-triangle": "⚠", "split": "◇", "signpost": "➤", "calculator": "∑", "copy": "❐", "user": "☺",
    "check-circle": "✔", "globe": "⇅", "bell": "✉", "pencil": "✎", "shuffle": "⇆", "box": "◆", "gear": "⚙",
}


def glyph(node_type: NodeType) -> str:
    return GLYPHS.get(node_type.icon) or (node_type.title[:1].upper() or "◆")


def safe_ports(node_type: NodeType, config: dict) -> list[str]:
    """A node's output ports; a config the port rule cannot read yet leaves the declared ports."""
    try:
        ports = node_type.output_ports(config if isinstance(config, dict) else {})
    except Exception:  # noqa: BLE001 - half-typed settings must not break the editor
        ports = list(node_type.ports)
    return [str(p) for p in ports]


def palette_items() -> list[dict]:
    items = []
    for node_type in registry.all_types():
        config = default_config(node_type.config_schema)
        items.append({**node_type.describe(), "default_config": config, "ports": safe_ports(node_type, config),
                      "glyph": glyph(node_type)})
    return items


def palette_groups() -> list[tuple[str, str, list[dict]]]:
    items = palette_items()
    return [(cat, title, [i for i in items if i["category"] == cat]) for cat, title in CATEGORY_TITLES.items()]


def display_ports(definition: dict) -> dict[str, list[str]]:
    """Ports to draw per node: the declared ones plus any a wire uses, so loading loses no wire."""
    nodes = definition.get("nodes") if isinstance(definition, dict) else None
    edges = definition.get("edges") if isinstance(definition, dict) else None
    out: dict[str, list[str]] = {}
    for node in nodes if isinstance(nodes, list) else []:
        if not isinstance(node, dict) or not isinstance(node.get("id"), str):
            continue
        version = node.get("version", 1)
        node_type = registry.get(str(node.get("type", "")), version if isinstance(version, int) else 1)
        out[node["id"]] = safe_ports(node_type, node.get("config") or {}) if node_type else []
    for edge in edges if isinstance(edges, list) else []:
        if isinstance(edge, dict) and edge.get("from") in out:
            port = str(edge.get("port") or "out")
            if port not in out[edge["from"]]:
                out[edge["from"]].append(port)
    return out


def view_data(definition: dict | None) -> dict:
    """What a read-only canvas (run page, version page) needs to draw a definition."""
    definition = definition if isinstance(definition, dict) else {"nodes": [], "edges": []}
    return {"definition": definition, "ports": display_ports(definition), "node_types": palette_items()}
