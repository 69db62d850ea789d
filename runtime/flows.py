"""Flows: drafts (saved even when invalid), stale-save checks, immutable published versions."""

from __future__ import annotations

from runtime.db import db, utcnow
from runtime.definition import trigger_of, validate_flow
from runtime.models import Flow, FlowVersion


class StaleDraft(Exception):
    def __init__(self, current_rev: int):
        super().__init__(f"the draft changed since revision you edited (now {current_rev})")
        self.current_rev = current_rev


class InvalidFlow(Exception):
    def __init__(self, problems: list[dict]):
        super().__init__(f"{len(problems)} problem(s)")
        self.problems = problems


def _problems(definition) -> list[dict]:
    return [p.to_dict() for p in validate_flow(definition)]


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
    db.session.commit()
    return version


def unpublish(flow: Flow) -> Flow:
    flow.active = False
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
