"""The web layer: editor UI, REST API, webhook ingress, CLI. Thin over ``runtime``."""

from __future__ import annotations

import logging
from pathlib import Path

from flask import Flask

from runtime import queues, schema
from runtime.config import Settings, load_settings
from runtime.db import db, engine_options

ROOT = Path(__file__).resolve().parent.parent


def create_app(settings: Settings | None = None, **overrides) -> Flask:
    """The app: settings from the environment unless given; nothing connects until first use."""
    settings = settings or load_settings()
    app = Flask(__name__, template_folder=str(ROOT / "templates"), static_folder=str(ROOT / "static"))
    app.config.update(
        SECRET_KEY=settings.secret_key,
        SQLALCHEMY_DATABASE_URI=settings.database_url,
        SQLALCHEMY_ENGINE_OPTIONS=engine_options(settings.database_url),
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_HTTPONLY=True,
        JSON_SORT_KEYS=False,
        MAX_CONTENT_LENGTH=5 * 1024 * 1024,
        ORDERFLOW=settings,
    )
    app.config.update(overrides)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    db.init_app(app)
    schema.init_app(app)
    queues.init_app(app, settings.redis_url, settings.queue_name)

    from builder import (
        api_boards,
        api_connectors,
        api_events,
        api_flows,
        api_meta,
        api_orders,
        api_runs,
        api_tasks,
        api_templates,
        auth,
        editor,
        errors,
        pages,
        pages_admin,
        pages_boards,
        pages_gallery,
    )

    errors.init_app(app)
    for blueprint in (auth.bp, api_events.bp, api_flows.bp, api_runs.bp, api_orders.bp, api_tasks.bp,
                      api_meta.bp, api_connectors.bp, pages.bp, editor.bp, api_boards.bp, api_templates.bp,
                      pages_boards.bp, pages_gallery.bp, pages_admin.bp):
        app.register_blueprint(blueprint)
    pages.init_app(app)
    return app
