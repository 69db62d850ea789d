"""The database schema over time: Alembic migrations (through Flask-Migrate) in runtime/migrations.

`orderflow init-db` (and `dev`, and a first `web`) bring a database to the newest revision. When a
model changes, add a revision: `FLASK_APP=wsgi .venv/bin/flask db migrate -d runtime/migrations -m "why"`,
read it, and commit it; tests check that the migrations give exactly the models' schema.
"""

from __future__ import annotations

from pathlib import Path

import flask_migrate
from flask import Flask
from flask_migrate import Migrate
from sqlalchemy import inspect

from runtime import models, template_models  # noqa: F401 - every table must be known to Alembic
from runtime.db import db

MIGRATIONS = str(Path(__file__).with_name("migrations"))
migrate = Migrate(directory=MIGRATIONS, render_as_batch=True, compare_type=True)


def init_app(app: Flask) -> None:
    migrate.init_app(app, db)


def upgrade() -> None:
    """Apply every migration not applied yet. A database that tables were created in before
    migrations existed (same schema as the first revision) is marked as being at that revision."""
    tables = set(inspect(db.engine).get_table_names())
    if "flows" in tables and "alembic_version" not in tables:
        flask_migrate.stamp(MIGRATIONS, "baseline")
    flask_migrate.upgrade(MIGRATIONS)
