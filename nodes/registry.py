"""The explicit list of node type modules, and lookups over them."""

from __future__ import annotations

from importlib import import_module

from nodes.base import NodeType

# One place to enable a node type: add its module here.
NODE_MODULES = (
    "nodes.triggers",
    "nodes.schedule",
    "nodes.condition",
    "nodes.route",
    "nodes.compute",
    "nodes.wait",
    "nodes.dedupe",
    "nodes.approval",
    "nodes.assign",
    "nodes.call_api",
    "nodes.notify",
    "nodes.update_order",
    "nodes.switch_connector",
)


def _load() -> dict[tuple[str, int], NodeType]:
    found: dict[tuple[str, int], NodeType] = {}
    for name in NODE_MODULES:
        for node_type in import_module(name).NODE_TYPES:
            key = (node_type.type, node_type.version)
            if key in found:
                raise RuntimeError(f"node type {key} declared twice")
            found[key] = node_type
    return found


REGISTRY = _load()


def get(type_name: str, version: int = 1) -> NodeType | None:
    return REGISTRY.get((type_name, version))


def all_types() -> list[NodeType]:
    return sorted(REGISTRY.values(), key=lambda t: ("trigger logic human action".split().index(t.category), t.title))


def trigger_types() -> set[str]:
    return {t.type for t in REGISTRY.values() if t.is_trigger}
