"""Settings an admin changes at run time: hosts call_api may reach, and named secrets.

Secrets are referenced by name in node settings (``{{ secret('carrier_token') }}``) and never
shown back: the admin page lists names only. They are stored in the database as given; keep the
database as private as the systems the secrets open.
"""

from __future__ import annotations

import ipaddress
import re

from runtime.db import db
from runtime.models import Setting

ALLOWED_HOSTS_KEY = "allowed_hosts"
SECRET_PREFIX = "secret:"
SECRET_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
HOST = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}))*$")


class SettingError(ValueError):
    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


def allowed_hosts() -> tuple[str, ...]:
    row = db.session.get(Setting, ALLOWED_HOSTS_KEY)
    return tuple((row.value if row else None) or ())


def set_allowed_hosts(entries: list[str]) -> tuple[str, ...]:
    """Host names, IP addresses or CIDR blocks; anything else is refused naming the entry."""
    cleaned: list[str] = []
    for entry in (e.strip() for e in entries):
        if not entry:
            continue
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError:
            if not HOST.match(entry):
                raise SettingError("allowed_hosts", f"{entry!r} is not a host name, IP address or CIDR block") from None
        if entry.lower() not in cleaned:
            cleaned.append(entry.lower())
    row = db.session.get(Setting, ALLOWED_HOSTS_KEY) or Setting(key=ALLOWED_HOSTS_KEY)
    row.value = cleaned
    db.session.add(row)
    db.session.commit()
    return tuple(cleaned)


def secret_names() -> list[str]:
    rows = Setting.query.filter(Setting.key.startswith(SECRET_PREFIX)).order_by(Setting.key).all()
    return [r.key[len(SECRET_PREFIX):] for r in rows]


def secret_values() -> dict[str, str]:
    rows = Setting.query.filter(Setting.key.startswith(SECRET_PREFIX)).all()
    return {r.key[len(SECRET_PREFIX):]: r.value for r in rows}


def set_secret(name: str, value: str) -> None:
    if not SECRET_NAME.match(name or ""):
        raise SettingError("name", "a secret's name is lower-case letters, digits and _ (e.g. carrier_token)")
    if not value:
        raise SettingError("value", "the secret's value is empty")
    row = db.session.get(Setting, SECRET_PREFIX + name) or Setting(key=SECRET_PREFIX + name)
    row.value = value
    db.session.add(row)
    db.session.commit()


def delete_secret(name: str) -> bool:
    row = db.session.get(Setting, SECRET_PREFIX + name)
    if row is None:
        return False
    db.session.delete(row)
    db.session.commit()
    return True
