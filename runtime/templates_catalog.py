"""The template gallery: built-in templates shipped as JSON files, admins' published ones, and
turning a template into a new draft flow.

The files in runtime/template_catalog/ are the source of truth for the built-ins: seeding inserts
the missing ones and refreshes those a release changed, so it is safe to run on every start.
"""

from __future__ import annotations

import copy
import json
from functools import lru_cache
from pathlib import Path

from sqlalchemy.exc import IntegrityError

from runtime import flows
from runtime.db import db, utcnow
from runtime.definition import validate_flow
from runtime.models import Flow
from runtime.template_models import FlowTemplate

CATALOG_DIR = Path(__file__).with_name("template_catalog")
BUILTIN_AUTHOR = "orderflow"
# Settings that hold a credential itself (not the name of a stored secret): a template is readable
# by every user of the gallery, so these never travel into one.
SECRET_SETTINGS = {"trigger.webhook": ("secret",)}


class InvalidTemplate(ValueError):
    def __init__(self, problems: list[dict]):
        super().__init__(f"the definition has {len(problems)} problem(s)")
        self.problems = problems


@lru_cache(maxsize=1)
def builtin_templates() -> tuple[dict, ...]:
    """The catalog files, in gallery order; each with its file name as ``slug``."""
    entries = []
    for path in sorted(CATALOG_DIR.glob("*.json")):
        entry = json.loads(path.read_text(encoding="utf-8"))
        entries.append({**entry, "slug": path.stem})
    return tuple(sorted(entries, key=lambda e: (e.get("rank", 1000), e["slug"])))


def seed_builtin_templates() -> int:
    """Insert the built-ins that are missing and refresh changed ones; answers how many rows changed.

    Idempotent, and safe when several processes seed at once: a row another process inserted
    first is left to it.
    """
    existing = {t.slug: t for t in FlowTemplate.query.filter(FlowTemplate.builtin.is_(True))}
    changed = 0
    for entry in builtin_templates():
        fields = {"title": entry["title"], "description": entry["description"], "category": entry["category"],
                  "definition": entry["definition"], "rank": entry.get("rank", 1000)}
        row = existing.get(entry["slug"])
        if row is None:
            try:
                with db.session.begin_nested():
                    db.session.add(FlowTemplate(slug=entry["slug"], builtin=True, created_by=BUILTIN_AUTHOR, **fields))
            except IntegrityError:
                continue
            changed += 1
        elif any(getattr(row, key) != value for key, value in fields.items()):
            for key, value in fields.items():
                setattr(row, key, copy.deepcopy(value))
            row.updated_at = utcnow()
            changed += 1
    db.session.commit()
    return changed


def gallery_query(category: str | None = None):
    query = FlowTemplate.query
    if category:
        query = query.filter(FlowTemplate.category == category)
    return query.order_by(FlowTemplate.builtin.desc(), FlowTemplate.rank, FlowTemplate.id)


def categories() -> list[str]:
    return [c for (c,) in db.session.query(FlowTemplate.category).distinct().order_by(FlowTemplate.category)]


def get(ref: str | int) -> FlowTemplate | None:
    """A template by id, or a built-in by its slug (``pending_too_long``)."""
    if isinstance(ref, int) or str(ref).isdigit():
        return db.session.get(FlowTemplate, int(ref))
    return FlowTemplate.query.filter_by(slug=str(ref)).one_or_none()


def without_secrets(definition: dict) -> tuple[dict, list[str]]:
    """A copy of ``definition`` without literal credentials, and the JSON paths that were removed."""
    clean = copy.deepcopy(definition)
    removed = []
    for index, node in enumerate(clean.get("nodes") or []):
        config = node.get("config") if isinstance(node, dict) else None
        if not isinstance(config, dict):
            continue
        for key in SECRET_SETTINGS.get(node.get("type"), ()):
            if key in config:
                del config[key]
                removed.append(f"$.nodes[{index}].config.{key}")
    return clean, removed


def publish(*, title: str, description: str, category: str, definition: dict,
            user: str | None) -> tuple[FlowTemplate, list[str]]:
    """Add an admin's template to the gallery; only a definition that could be published is accepted.

    Answers the template and the paths of credentials left out of it.
    """
    problems = [p.to_dict() for p in validate_flow(definition)]
    if problems:
        raise InvalidTemplate(problems)
    clean, removed = without_secrets(definition)
    clean["name"] = title
    template = FlowTemplate(title=title, description=description, category=category, definition=clean,
                            builtin=False, created_by=user)
    db.session.add(template)
    db.session.commit()
    return template, removed


def instantiate(template: FlowTemplate, *, name: str | None = None, user: str | None = None) -> Flow:
    """A new draft flow from a template; the template itself stays as it is."""
    definition = copy.deepcopy(template.definition)
    definition["name"] = name or template.title
    return flows.create(definition, user=user)
