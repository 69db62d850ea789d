"""The template gallery's table: the built-in templates (seeded from runtime/template_catalog/)
and the ones admins publish from their own flows.

Kept out of runtime/models.py so the gallery can change without touching the run-time model.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, DateTime, Integer, String, Text

from runtime.db import JsonType, db, iso, utcnow
from runtime.definition import trigger_of


class FlowTemplate(db.Model):
    __tablename__ = "flow_templates"
    id = Column(Integer, primary_key=True)
    # Built-ins carry the catalog file's name, so seeding finds its own rows again; admin ones have none.
    slug = Column(String(100), unique=True)
    title = Column(String(200), nullable=False)
    description = Column(Text, nullable=False, default="")
    category = Column(String(40), nullable=False, default="other")
    definition = Column(JsonType, nullable=False)
    builtin = Column(Boolean, nullable=False, default=False)
    rank = Column(Integer, nullable=False, default=1000)  # gallery order: built-ins first, in catalog order
    created_at = Column(DateTime, nullable=False, default=utcnow)
    created_by = Column(String(200))
    updated_at = Column(DateTime, nullable=False, default=utcnow)

    def to_dict(self, with_definition: bool = True) -> dict:
        trigger = trigger_of(self.definition) if isinstance(self.definition, dict) else None
        out = {"id": self.id, "slug": self.slug, "title": self.title, "description": self.description,
               "category": self.category, "builtin": self.builtin,
               "trigger_type": trigger["type"] if trigger else None,
               "node_count": len(self.definition.get("nodes") or []) if isinstance(self.definition, dict) else 0,
               "created_at": iso(self.created_at), "created_by": self.created_by,
               "updated_at": iso(self.updated_at)}
        if with_definition:
            out["definition"] = self.definition
        return out
