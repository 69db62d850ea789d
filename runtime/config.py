"""Settings from the environment, with defaults that work on a bare machine."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

DEFAULT_REDIS = "redis://127.0.0.1:6379/0"


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database_url: str
    redis_url: str
    secret_key: str
    allowed_hosts: tuple[str, ...]
    queue_name: str = "orderflow"

    @property
    def database_label(self) -> str:
        return self.database_url.split("@")[-1] if "@" in self.database_url else self.database_url


def normalize_database_url(url: str) -> str:
    """postgresql:// means psycopg 3 here (SQLAlchemy would otherwise pick psycopg2)."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def _secret_key(data_dir: Path) -> str:
    """A random key kept in the data dir, so sessions survive restarts without configuration."""
    path = data_dir / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def embedded_redis_url(data_dir: Path) -> str | None:
    """The URL of the private Redis that `orderflow dev` started in this data dir, if it runs."""
    path = data_dir / "redis" / "url"
    return path.read_text().strip() if path.exists() else None


def load_settings(env: dict | None = None) -> Settings:
    env = os.environ if env is None else env
    data_dir = Path(env.get("ORDERFLOW_DATA_DIR") or ".orderflow").resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    database_url = normalize_database_url(env.get("DATABASE_URL") or f"sqlite:///{data_dir / 'orderflow.db'}")
    redis_url = env.get("REDIS_URL") or embedded_redis_url(data_dir) or DEFAULT_REDIS
    hosts = tuple(h.strip() for h in (env.get("ORDERFLOW_ALLOWED_HOSTS") or "").split(",") if h.strip())
    return Settings(data_dir=data_dir, database_url=database_url, redis_url=redis_url,
                    secret_key=env.get("SECRET_KEY") or _secret_key(data_dir), allowed_hosts=hosts,
                    queue_name=env.get("ORDERFLOW_QUEUE") or "orderflow")
