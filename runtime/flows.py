"""Flows: drafts (saved even when invalid), stale-save checks, immutable published versions."""

from __future__ import annotations

import copy
from dataclasses import dataclass

from flask import current_app
from jsonschema import Draft202012Validator

from nodes import registry
from nodes.base import NodeType
from runtime import queues
from runtime.db import after_commit, db, utcnow
from runtime.definition import FLOW_SCHEMA, json_path, trigger_of, validate_flow
from runtime.engine import Graph
from runtime.models import Flow, FlowVersion


class StaleDraft(Exception):
    def __init__(self, current_rev: int):
        super().__init__(f"the draft changed since revision you edited (now {current_rev})")
        self.current_rev = current_rev


class NoSuchVersion(LookupError):
    def __init__(self, flow_id: int, number: int | None):
        super().__init__(f"flow {flow_id} has no version {number}" if number else f"flow {flow_id} was never published")
        self.number = number


class InvalidFlow(Exception):
    def __init__(self, problems: list[dict]):
        super().__init__(f"{len(problems)} problem(s)")
        self.problems = problems


_envelope = Draft202012Validator(FLOW_SCHEMA)


def _problems(definition) -> list[dict]:
    return [p.to_dict() for p in validate_flow(definition)]


def envelope_problems(definition) -> list[dict]:
    """Where a document breaks flow.schema.json itself (not its nodes' settings or the graph rules)."""
    return [{"path": json_path(e.absolute_path), "message": e.message}
            for e in sorted(_envelope.iter_errors(definition), key=lambda e: list(map(str, e.absolute_path)))]


def create(definition: dict, *, user: str | None = None) -> Flow:
    flow = Flow(name=str(definition.get("name") or "Untitled flow")[:200],
                description=str(definition.get("description") or ""), draft=definition, draft_rev=1,
                draft_problems=_problems(definition), updated_by=user)
    db.session.add(flow)
    db.session.commit()
    return flow


def get(flow_id: int) -> Flow | None:
    return db.session.get(Flow, flow_id)


def save_draft(flow: Flow, definition: dict, *, expected_rev: int | None, user: str | None = None) -> Flow:
    """Save a draft; ``expected_rev`` (from If-Match) must be the current rev, else StaleDraft.

    The check and the bump are one conditional UPDATE so two concurrent saves cannot both win.
    """
    rev = flow.draft_rev if expected_rev is None else expected_rev
    updated = db.session.query(Flow).filter(Flow.id == flow.id, Flow.draft_rev == rev).update(
        {Flow.draft: definition, Flow.draft_rev: rev + 1, Flow.draft_problems: _problems(definition),
         Flow.name: str(definition.get("name") or flow.name)[:200],
         Flow.description: str(definition.get("description") or ""),
         Flow.updated_at: utcnow(), Flow.updated_by: user}, synchronize_session=False)
    db.session.commit()
    db.session.refresh(flow)
    if not updated:
        raise StaleDraft(flow.draft_rev)
    return flow


def publish(flow: Flow, *, user: str | None = None) -> FlowVersion:
    problems = _problems(flow.draft)
    if problems:
        raise InvalidFlow(problems)
    trigger = trigger_of(flow.draft)
    last = db.session.query(db.func.max(FlowVersion.version)).filter_by(flow_id=flow.id).scalar()
    number = (last or 0) + 1
    version = FlowVersion(flow_id=flow.id, version=number, definition=flow.draft, trigger_type=trigger["type"],
                          trigger_key=(trigger.get("config") or {}).get("key"), published_by=user)
    db.session.add(version)
    flow.published_version, flow.active, flow.updated_at = number, True, utcnow()
    after_commit(queues.bump_flows_generation)  # every process reloads its active flows
    db.session.commit()
    return version


def restore(flow: Flow, number: int, *, expected_rev: int | None, user: str | None = None) -> Flow:
    """Copy a published version into the draft; the version itself stays as it was."""
    row = version(flow.id, number)
    if row is None:
        raise NoSuchVersion(flow.id, number)
    return save_draft(flow, copy.deepcopy(row.definition), expected_rev=expected_rev, user=user)


def discard(flow: Flow, *, expected_rev: int | None, user: str | None = None) -> Flow:
    """Throw the draft's changes away: the draft becomes the published version again."""
    if not flow.published_version:
        raise NoSuchVersion(flow.id, None)
    return restore(flow, flow.published_version, expected_rev=expected_rev, user=user)


@dataclass(frozen=True)
class Published:
    """A published version, parsed once per process (published versions never change)."""

    definition: dict
    graph: Graph
    trigger_config: dict
    trigger_type: NodeType

    def matches(self, event: dict) -> bool:
        return bool(self.trigger_type.matches and self.trigger_type.matches(self.trigger_config, event))


def published(version: FlowVersion) -> Published:
    return _published(version.flow_id, version.version, lambda: version.definition)


def published_by_number(flow_id: int, number: int) -> Published:
    return _published(flow_id, number, lambda: FlowVersion.query.filter_by(flow_id=flow_id, version=number)
                      .one().definition)


def _published(flow_id: int, number: int, load) -> Published:
    cache = current_app.extensions.setdefault("orderflow.published", {})
    key = (flow_id, number)
    if key not in cache:
        definition = load()
        trigger = trigger_of(definition)
        cache[key] = Published(definition, Graph(definition), trigger.get("config") or {},
                               registry.get(trigger["type"], trigger.get("version", 1)))
    return cache[key]


def published_definition(flow: Flow) -> dict | None:
    row = version(flow.id, flow.published_version) if flow.published_version else None
    return row.definition if row else None


def unpublish(flow: Flow) -> Flow:
    flow.active = False
    after_commit(queues.bump_flows_generation)
    db.session.commit()
    return flow


def versions(flow_id: int) -> list[FlowVersion]:
    return FlowVersion.query.filter_by(flow_id=flow_id).order_by(FlowVersion.version.desc()).all()


def version(flow_id: int, number: int) -> FlowVersion | None:
    return FlowVersion.query.filter_by(flow_id=flow_id, version=number).one_or_none()


def _active_query(trigger_type: str | None):
    query = db.session.query(FlowVersion).join(Flow, (Flow.id == FlowVersion.flow_id)
                                               & (Flow.published_version == FlowVersion.version)).filter(Flow.active)
    if trigger_type:
        query = query.filter(FlowVersion.trigger_type == trigger_type)
    return query


def active_versions(trigger_type: str | None = None) -> list[FlowVersion]:
    """The published version of every active flow (optionally of one trigger type)."""
    return _active_query(trigger_type).all()


def webhook_version(key: str) -> FlowVersion | None:
    return _active_query("trigger.webhook").filter(FlowVersion.trigger_key == key).first()
