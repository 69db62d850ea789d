"""Flow definitions: the envelope schema, each node's config schema, then the graph rules.

Every problem names the JSON path and, when it belongs to one, the node id, so the editor can
pin it on the canvas. Pure Python: no Flask, SQLAlchemy or RQ here.
"""

from __future__ import annotations

import json
from collections import defaultdict, deque
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

from nodes import registry
from nodes.templating import check_template

SCHEMA_PATH = Path(__file__).with_name("flow.schema.json")
FLOW_SCHEMA = json.loads(SCHEMA_PATH.read_text())
_envelope = Draft202012Validator(FLOW_SCHEMA)


@dataclass(frozen=True)
class Problem:
    path: str
    message: str
    node_id: str | None = None

    def to_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v is not None}


def json_path(parts) -> str:
    path = "$"
    for p in parts:
        path += f"[{p}]" if isinstance(p, int) else f".{p}"
    return path


@lru_cache(maxsize=256)
def _config_validator(type_name: str, version: int) -> Draft202012Validator:
    return Draft202012Validator(registry.get(type_name, version).config_schema)


def _schema_problems(validator: Draft202012Validator, instance, prefix: list, node_id=None) -> list[Problem]:
    out = []
    for error in sorted(validator.iter_errors(instance), key=lambda e: list(map(str, e.absolute_path))):
        # anyOf/oneOf errors are clearer as their best sub-error
        shown = best_match(error.context) if error.context else error
        out.append(Problem(json_path(prefix + list(shown.absolute_path)), shown.message, node_id))
    return out


def _template_problems(config, schema: dict, prefix: list, node_id: str) -> list[Problem]:
    """Template syntax errors, found where the schema marks a field as a template."""
    out = []
    props = schema.get("properties", {})
    if isinstance(config, dict):
        for key, value in config.items():
            sub = props.get(key, {})
            if isinstance(value, str) and sub.get("format") == "template":
                err = check_template(value)
                if err:
                    out.append(Problem(json_path(prefix + [key]), f"template error: {err}", node_id))
    return out


def node_ports(node: dict) -> list[str] | None:
    node_type = registry.get(node.get("type", ""), node.get("version", 1))
    return node_type.output_ports(node.get("config") or {}) if node_type else None


def validate_flow(flow) -> list[Problem]:
    """All problems of a flow definition; an empty list means it can be published."""
    if not isinstance(flow, dict):
        return [Problem("$", "a flow definition must be a JSON object")]
    problems = _schema_problems(_envelope, flow, [])
    nodes = flow.get("nodes") if isinstance(flow.get("nodes"), list) else []
    edges = flow.get("edges") if isinstance(flow.get("edges"), list) else []
    by_id: dict[str, dict] = {}
    for i, node in enumerate(nodes):
        if not isinstance(node, dict) or not isinstance(node.get("id"), str):
            continue
        nid = node["id"]
        if nid in by_id:
            problems.append(Problem(f"$.nodes[{i}].id", f"duplicate node id {nid!r}", nid))
            continue
        by_id[nid] = node
        node_type = registry.get(node.get("type", ""), node.get("version", 1))
        if node_type is None:
            problems.append(Problem(f"$.nodes[{i}].type", f"unknown node type {node.get('type')!r}"
                                    f" version {node.get('version', 1)}", nid))
            continue
        config = node.get("config", {})
        if isinstance(config, dict):
            validator = _config_validator(node_type.type, node_type.version)
            problems += _schema_problems(validator, config, ["nodes", i, "config"], nid)
            problems += _template_problems(config, node_type.config_schema, ["nodes", i, "config"], nid)
            problems += [Problem(json_path(["nodes", i, "config", *p.path]), p.message, nid)
                         for p in node_type.check_config(config)]

    triggers = [n["id"] for n in by_id.values() if n.get("type") in registry.trigger_types()]
    if len(triggers) != 1:
        problems.append(Problem("$.nodes", f"a flow needs exactly one trigger, found {len(triggers)}",
                                triggers[1] if len(triggers) > 1 else None))

    successors: dict[str, list[str]] = defaultdict(list)
    seen_edges = set()
    for i, edge in enumerate(edges):
        if not isinstance(edge, dict):
            continue
        src, dst, port = edge.get("from"), edge.get("to"), edge.get("port", "out")
        if src not in by_id:
            problems.append(Problem(f"$.edges[{i}].from", f"edge from unknown node {src!r}"))
            continue
        if dst not in by_id:
            problems.append(Problem(f"$.edges[{i}].to", f"edge to unknown node {dst!r}", src))
            continue
        ports = node_ports(by_id[src])
        if ports is not None and port not in ports:
            problems.append(Problem(f"$.edges[{i}].port", f"node {src!r} has no output port {port!r}"
                                    f" (ports: {', '.join(ports)})", src))
        dst_type = registry.get(by_id[dst].get("type", ""), by_id[dst].get("version", 1))
        if dst_type is not None and not dst_type.has_input:
            problems.append(Problem(f"$.edges[{i}].to", f"a trigger cannot have incoming wires ({dst!r})", dst))
        if (src, port, dst) in seen_edges:
            problems.append(Problem(f"$.edges[{i}]", f"wire {src}.{port} -> {dst} appears twice", src))
        seen_edges.add((src, port, dst))
        successors[src].append(dst)

    problems += _cycle_problems(by_id, successors)
    if len(triggers) == 1:
        reachable = _reachable(triggers[0], successors)
        for i, node in enumerate(nodes):
            if isinstance(node, dict) and node.get("id") in by_id and node["id"] not in reachable \
                    and by_id[node["id"]] is node:
                problems.append(Problem(f"$.nodes[{i}]", f"node {node['id']!r} cannot be reached from the trigger",
                                        node["id"]))
    return problems


def _reachable(start: str, successors: dict[str, list[str]]) -> set[str]:
    seen, todo = {start}, deque([start])
    while todo:
        for nxt in successors.get(todo.popleft(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def _cycle_problems(by_id: dict, successors: dict[str, list[str]]) -> list[Problem]:
    """Kahn's algorithm: whatever keeps an incoming edge is on (or behind) a cycle."""
    indegree = {nid: 0 for nid in by_id}
    for dsts in successors.values():
        for d in dsts:
            indegree[d] += 1
    todo = deque(n for n, d in indegree.items() if d == 0)
    while todo:
        for nxt in successors.get(todo.popleft(), ()):
            indegree[nxt] -= 1
            if indegree[nxt] == 0:
                todo.append(nxt)
    stuck = sorted(n for n, d in indegree.items() if d > 0)
    return [Problem("$.edges", f"node {n!r} is on a cycle; flows must not loop", n) for n in stuck[:1]] + \
           [Problem("$.edges", f"node {n!r} is on or after a cycle", n) for n in stuck[1:]]


def trigger_of(flow: dict) -> dict | None:
    triggers = registry.trigger_types()
    return next((n for n in flow.get("nodes", []) if n.get("type") in triggers), None)
