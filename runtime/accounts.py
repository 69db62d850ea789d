"""Users and API tokens. Tokens are stored as SHA-256 hashes and shown once."""

from __future__ import annotations

import hashlib
import secrets
import time

from werkzeug.security import check_password_hash, generate_password_hash

from runtime.db import db
from runtime.models import ApiToken, User

ROLES = ("viewer", "operator", "admin")


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(name: str, role: str = "operator", prefix: str = "of_") -> str:
    _check_role(role)
    token = prefix + secrets.token_urlsafe(32)
    db.session.add(ApiToken(name=name, role=role, token_hash=hash_token(token)))
    db.session.commit()
    return token


TOKEN_CACHE_S = 30.0
_token_cache: dict[str, tuple[float, tuple[str, str] | None]] = {}


def token_identity(token: str) -> tuple[str, str] | None:
    """(name, role) of a token. Answers are kept for 30 s per process: every API call asks."""
    key = hash_token(token)
    now = time.monotonic()
    cached = _token_cache.get(key)
    if cached is not None and cached[0] > now:
        return cached[1]
    row = ApiToken.query.filter_by(token_hash=key).one_or_none()
    found = (row.name, row.role) if row is not None else None
    if len(_token_cache) > 10_000:
        _token_cache.clear()
    _token_cache[key] = (now + TOKEN_CACHE_S, found)
    return found


def create_user(name: str, role: str, password: str) -> User:
    _check_role(role)
    user = User.query.filter_by(name=name).one_or_none() or User(name=name)
    user.role, user.password_hash = role, generate_password_hash(password)
    db.session.add(user)
    db.session.commit()
    return user


def check_login(name: str, password: str) -> User | None:
    user = User.query.filter_by(name=name).one_or_none()
    if user is None or not user.password_hash or not check_password_hash(user.password_hash, password):
        return None
    return user
