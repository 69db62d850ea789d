"""The migrations give exactly the models' schema, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from builder import create_app
from runtime import schema
from runtime.db import db
from tests.conftest import make_settings


def _drop_everything() -> None:
    db.drop_all()
    with db.engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")


def test_migrations_match_the_models(tmp_path, database_url, redis_url):
    app = create_app(make_settings(tmp_path, database_url, redis_url), TESTING=True)
    with app.app_context():
        _drop_everything()  # the shared PostgreSQL test database may hold another test's tables
        schema.upgrade()
        with db.engine.connect() as conn:
            differences = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), db.metadata)
        assert differences == []
        schema.upgrade()  # again: nothing to do, nothing fails
        assert "alembic_version" in inspect(db.engine).get_table_names()
        db.session.remove()
        _drop_everything()
        db.engine.dispose()


def test_a_database_made_before_migrations_is_adopted(tmp_path, redis_url):
    app = create_app(make_settings(tmp_path, f"sqlite:///{tmp_path / 'old.db'}", redis_url), TESTING=True)
    with app.app_context():
        db.create_all()  # how init-db made tables before there were migrations
        schema.upgrade()
        with db.engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar() == "baseline"
