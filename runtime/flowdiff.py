"""What changed between two flow definitions: nodes added/removed, settings changed, wires changed.

Pure Python over two definition dicts. Nodes are matched by id and wires by (from, port, to),
so a diff reads the way an operator thinks about a flow. Canvas positions are reported apart
from settings because moving a node changes nothing the runtime does. Secret settings (schema
format "password") are reported as changed without showing their values.
"""

from __future__ import annotations

from typing import Any

from nodes import registry

SECRET_SHOWN = "••••••"


def _nodes(flow: dict) -> dict[str, dict]:
    nodes = flow.get("nodes") if isinstance(flow, dict) else None
    if not isinstance(nodes, list):
        return {}
    return {n["id"]: n for n in nodes if isinstance(n, dict) and isinstance(n.get("id"), str)}


def _edges(flow: dict) -> list[tuple[str, str, str]]:
    edges = flow.get("edges") if isinstance(flow, dict) else None
    out: list[tuple[str, str, str]] = []
    for edge in edges if isinstance(edges, list) else []:
        if isinstance(edge, dict):
            key = (str(edge.get("from")), str(edge.get("port") or "out"), str(edge.get("to")))
            if key not in out:
                out.append(key)
    return out


def _secret_keys(node: dict) -> set[str]:
    node_type = registry.get(str(node.get("type", "")), node.get("version", 1) if isinstance(node.get("version", 1), int) else 1)
    if node_type is None:
        return set()
    props = node_type.config_schema.get("properties", {})
    return {k for k, s in props.items() if isinstance(s, dict) and s.get("format") == "password"}


def _path(parent: str, key: Any) -> str:
    return f"{parent}[{key}]" if isinstance(key, int) else (f"{parent}.{key}" if parent else str(key))


def _same_scalar(a: Any, b: Any) -> bool:
    """JSON equality: 1 and 1.0 are one number, but true is not 1."""
    numbers = (int, float)
    if isinstance(a, numbers) and isinstance(b, numbers) and not isinstance(a, bool) and not isinstance(b, bool):
        return a == b
    return type(a) is type(b) and a == b


def value_changes(before: Any, after: Any, path: str = "") -> list[dict]:
    """Leaf-level changes between two JSON values; list items are compared position by position."""
    if isinstance(before, dict) and isinstance(after, dict):
        out: list[dict] = []
        for key in [*before.keys(), *(k for k in after if k not in before)]:
            out += value_changes(before.get(key, _MISSING), after.get(key, _MISSING), _path(path, key))
        return out
    if isinstance(before, list) and isinstance(after, list):
        out = []
        for i in range(max(len(before), len(after))):
            out += value_changes(before[i] if i < len(before) else _MISSING,
                                 after[i] if i < len(after) else _MISSING, _path(path, i))
        return out
    if _same_scalar(before, after):
        return []
    change: dict = {"path": path or "$"}
    if before is not _MISSING:
        change["before"] = before
    if after is not _MISSING:
        change["after"] = after
    change["kind"] = "added" if before is _MISSING else "removed" if after is _MISSING else "changed"
    return [change]


class _Missing:
    def __repr__(self) -> str:
        return "<missing>"


_MISSING: Any = _Missing()


def _node_changes(before: dict, after: dict) -> list[dict]:
    changes: list[dict] = []
    for key in ("type", "version", "name"):
        changes += value_changes(before.get(key, _MISSING), after.get(key, _MISSING), key)
    secrets = _secret_keys(before) | _secret_keys(after)
    for change in value_changes(before.get("config") or {}, after.get("config") or {}, "config"):
        top = change["path"].split(".")[1].split("[")[0] if "." in change["path"] else ""
        if top in secrets:
            change = {**change, **{k: SECRET_SHOWN for k in ("before", "after") if k in change}}
        changes.append(change)
    return changes


def _position(node: dict) -> tuple[Any, Any]:
    ui = node.get("ui") if isinstance(node.get("ui"), dict) else {}
    return ui.get("x"), ui.get("y")


def _brief(node: dict) -> dict:
    out = {"id": node["id"], "type": node.get("type")}
    if node.get("name"):
        out["name"] = node["name"]
    return out


def diff_flows(before: dict, after: dict) -> dict:
    """The difference from ``before`` to ``after``; ``same`` is True when the runtime would see none."""
    old, new = _nodes(before), _nodes(after)
    added = [_brief(new[i]) for i in new if i not in old]
    removed = [_brief(old[i]) for i in old if i not in new]
    changed, moved = [], []
    for node_id in (i for i in new if i in old):
        node_changes = _node_changes(old[node_id], new[node_id])
        if node_changes:
            changed.append({**_brief(new[node_id]), "changes": node_changes})
        if _position(old[node_id]) != _position(new[node_id]):
            moved.append(node_id)
    old_edges, new_edges = _edges(before), _edges(after)
    wires_added = [{"from": f, "port": p, "to": t} for f, p, t in new_edges if (f, p, t) not in old_edges]
    wires_removed = [{"from": f, "port": p, "to": t} for f, p, t in old_edges if (f, p, t) not in new_edges]
    meta = []
    for key in ("name", "description"):
        b = before.get(key, "") if isinstance(before, dict) else ""
        a = after.get(key, "") if isinstance(after, dict) else ""
        if (b or "") != (a or ""):
            meta.append({"path": key, "before": b, "after": a, "kind": "changed"})
    return {
        "same": not (added or removed or changed or wires_added or wires_removed),
        "meta": meta,
        "nodes_added": added,
        "nodes_removed": removed,
        "nodes_changed": changed,
        "nodes_moved": moved,
        "edges_added": wires_added,
        "edges_removed": wires_removed,
    }
