"""The `orderflow` command: dev, web, worker, scheduler, init-db, seed, create-user, create-token."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time

import click

from builder import create_app
from runtime import schema
from runtime.config import load_settings
from runtime.db import db

log = logging.getLogger("orderflow")


def _app():
    return create_app()


@click.group(help="OrderFlow: a visual workflow builder for order operations.")
def main() -> None:
    pass


@main.command("init-db", help="Create the database tables (safe to run again).")
def init_db() -> None:
    from runtime.templates_catalog import seed_builtin_templates

    app = _app()
    with app.app_context():
        schema.upgrade()
        seed_builtin_templates()
        click.echo(f"database ready: {app.config['ORDERFLOW'].database_label}")


def _ensure_tables() -> None:
    """A first `orderflow web` on an empty database works without `init-db` (once, in the master)."""
    from sqlalchemy.exc import SQLAlchemyError

    from runtime.templates_catalog import seed_builtin_templates

    with _app().app_context():
        try:
            schema.upgrade()
            seed_builtin_templates()
        except SQLAlchemyError as exc:  # another process created them at the same moment
            log.warning("could not prepare the database (run `orderflow init-db`): %s", exc)


@main.command(help="Load demo data: users, a token, published flows and sample orders.")
@click.option("--demo", is_flag=True, required=True, help="Load the demo data set.")
def seed(demo: bool) -> None:
    from runtime.demo import seed_demo

    app = _app()
    with app.app_context():
        schema.upgrade()
        summary = seed_demo()
    for line in summary:
        click.echo(line)


@main.command("create-user", help="Create a user (or reset its role and password). Without --password it asks "
                                   "on a terminal, or else makes one up and prints it.")
@click.argument("name")
@click.option("--role", type=click.Choice(["admin", "operator", "viewer"]), default="operator", show_default=True)
@click.option("--password", help="The login password.")
def create_user_cmd(name: str, role: str, password: str | None) -> None:
    import secrets

    from runtime.accounts import create_user

    generated = False
    if not password:
        if sys.stdin.isatty():
            password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
        else:
            password, generated = secrets.token_urlsafe(12), True
    with _app().app_context():
        schema.upgrade()
        create_user(name, role, password)
    click.echo(f"user {name} ({role}) ready" + (f"; password: {password}" if generated else ""))


@main.command("create-token", help="Create an API token; it is printed once, alone on the last line.")
@click.argument("name")
@click.option("--role", type=click.Choice(["admin", "operator", "viewer"]), default="operator", show_default=True)
def create_token_cmd(name: str, role: str) -> None:
    from runtime.accounts import create_token

    with _app().app_context():
        schema.upgrade()
        token = create_token(name, role)
    click.echo(f"token {name!r} ({role}); store it now, it is not shown again:")
    click.echo(token)


@main.command(help="Serve the web app with gunicorn.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, type=int, help="Web processes.")
@click.option("--threads", default=4, show_default=True, type=int, help="Threads per process.")
def web(host: str, port: int, workers: int, threads: int) -> None:
    from gunicorn.app.base import BaseApplication

    class Server(BaseApplication):
        def load_config(self):
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", workers)
            self.cfg.set("threads", threads)
            self.cfg.set("worker_class", "gthread")
            self.cfg.set("accesslog", None)
            self.cfg.set("graceful_timeout", 5)
            self.cfg.set("keepalive", 5)
            # gunicorn 24+ opens a control socket at one fixed path in $HOME, shared by every server on
            # the machine; OrderFlow does not use it
            if "control_socket_disable" in self.cfg.settings:
                self.cfg.set("control_socket_disable", True)

        def load(self):
            return create_app()

    _ensure_tables()
    Server().run()


@main.command(help="Run an RQ worker (with RQ's scheduler for timers) for the flow runs.")
@click.option("--burst", is_flag=True, help="Stop when the queue is empty.")
def worker(burst: bool) -> None:
    from rq import SimpleWorker

    from runtime import queues

    app = _app()
    with app.app_context():
        # SimpleWorker runs jobs in this process: no fork per job (~4x the jobs/s of the forking worker).
        w = SimpleWorker([queues.queue()], connection=queues.redis())
        w.work(burst=burst, with_scheduler=True, logging_level="WARNING")


@main.command(help="Run the periodic sweep: dispatch stuck events, take over abandoned runs, fire missed timers.")
@click.option("--interval", default=float(os.environ.get("ORDERFLOW_SWEEP_S", "5")), show_default=True, type=float)
@click.option("--once", is_flag=True, help="One pass, then exit.")
def scheduler(interval: float, once: bool) -> None:
    from runtime.sweeper import sweep

    app = _app()
    with app.app_context():
        while True:
            try:
                done = sweep()
                if any(done.values()):
                    log.info("sweep: %s", done)
            except Exception:  # noqa: BLE001 - the next pass tries again
                log.exception("sweep failed")
                db.session.rollback()
            finally:
                db.session.remove()
            if once:
                return
            time.sleep(interval)


@main.command(help="Web + worker + scheduler in one process group, with embedded defaults and demo data.")
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--host", default="127.0.0.1", show_default=True)
def dev(port: int, host: str) -> None:
    from builder import embedded_redis
    from runtime.demo import seed_demo, should_seed

    settings = load_settings()
    env = dict(os.environ, ORDERFLOW_DATA_DIR=str(settings.data_dir))
    redis_process = None
    if not os.environ.get("REDIS_URL"):
        redis_process, url = embedded_redis.start(settings.data_dir)
        env["REDIS_URL"] = url
        redis_label = f"{url} (embedded, {embedded_redis.redis_binary()})"
    else:
        redis_label = os.environ["REDIS_URL"]
    os.environ.update(env)
    from runtime.templates_catalog import seed_builtin_templates

    app = create_app()
    with app.app_context():
        schema.upgrade()
        seed_builtin_templates()
        demo_lines = seed_demo() if should_seed() else []
    click.echo(f"OrderFlow dev\n  database: {settings.database_label}\n  redis:    {redis_label}\n"
               f"  data dir: {settings.data_dir}\n  open:     http://{host}:{port}/")
    for line in demo_lines:
        click.echo("  " + line)
    sys.stdout.flush()
    exe = [sys.executable, "-m", "builder.cli"]
    children = [
        subprocess.Popen([*exe, "web", "--host", host, "--port", str(port), "--workers", "2"], env=env),
        subprocess.Popen([*exe, "worker"], env=env),
        subprocess.Popen([*exe, "scheduler"], env=env),
    ]
    stopping = False

    def stop(*_):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        while not stopping and all(c.poll() is None for c in children):
            time.sleep(0.3)
    finally:
        for child in children:
            if child.poll() is None:
                child.terminate()
        for child in children:
            try:
                child.wait(10)
            except subprocess.TimeoutExpired:
                child.kill()
        if redis_process is not None:
            embedded_redis.stop(redis_process, settings.data_dir)
    failed = [c for c in children if c.returncode not in (0, -signal.SIGTERM, None)]
    sys.exit(1 if failed and not stopping else 0)


if __name__ == "__main__":
    main()
