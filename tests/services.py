"""Real Redis and PostgreSQL for the tests: use the ones on 127.0.0.1, start them when they are down."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import time
import uuid

import psycopg
from redis import Redis

REDIS_PORT = int(os.environ.get("ORDERFLOW_TEST_REDIS_PORT", "6379"))
PG_DSN = os.environ.get("ORDERFLOW_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


def _wait(check, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except Exception:  # noqa: BLE001 - not up yet
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{what} did not come up within {seconds} s")


def ensure_redis() -> str:
    url = f"redis://127.0.0.1:{REDIS_PORT}/0"
    try:
        Redis.from_url(url, socket_timeout=1).ping()
        return url
    except Exception:  # noqa: BLE001 - start it below
        pass
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server is not installed (make test installs it with apt)")
    os.makedirs("/tmp/orderflow-test-redis", exist_ok=True)
    subprocess.run([binary, "--daemonize", "yes", "--bind", "127.0.0.1", "--port", str(REDIS_PORT), "--save", "",
                    "--appendonly", "no", "--dir", "/tmp/orderflow-test-redis",
                    "--logfile", "/tmp/orderflow-test-redis/redis.log"], check=True)
    _wait(lambda: Redis.from_url(url, socket_timeout=1).ping(), 15, "redis-server")
    return url


def ensure_postgres() -> str:
    def up() -> bool:
        with psycopg.connect(PG_DSN, connect_timeout=2):
            return True

    try:
        up()
        return PG_DSN
    except Exception:  # noqa: BLE001 - start it below
        pass
    versions = sorted(os.path.basename(p) for p in glob.glob("/etc/postgresql/*"))
    if not versions or not shutil.which("pg_ctlcluster"):
        raise RuntimeError("PostgreSQL is not installed (make test installs it with apt)")
    subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", versions[-1], "main", "start"], check=False)
    _wait(up, 30, "PostgreSQL")
    return PG_DSN


def create_pg_database() -> tuple[str, str]:
    """A fresh database for one test session; returns (name, SQLAlchemy URL)."""
    dsn = ensure_postgres()
    name = f"orderflow_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return name, dsn.rsplit("/", 1)[0] + f"/{name}"


def drop_pg_database(name: str) -> None:
    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
