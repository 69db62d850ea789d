"""Outgoing HTTP for nodes, behind a guard against requests into our own network (SSRF).

Private, loopback, link-local and reserved addresses are refused unless allowed by
ORDERFLOW_ALLOWED_HOSTS or the admin setting; cloud metadata addresses stay refused unless
named explicitly. Redirects are not followed, so a public host cannot bounce us inward.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

import requests

from nodes.base import HttpResponse, NodeError

METADATA_HOSTS = {"169.254.169.254", "fd00:ec2::254", "metadata.google.internal", "100.100.100.200"}
MAX_BODY_BYTES = 2_000_000


class HostRefused(NodeError):
    pass


def _allowed(host: str, ip: ipaddress._BaseAddress, allowed: Iterable[str]) -> bool:
    for entry in allowed:
        entry = entry.strip().lower()
        if not entry:
            continue
        if entry == host.lower():
            return True
        try:
            if ip in ipaddress.ip_network(entry, strict=False):
                return True
        except ValueError:
            continue
    return False


def check_url(url: str, allowed: Iterable[str]) -> None:
    """Raise HostRefused unless ``url`` is http(s) to a public address or an allowed host."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise HostRefused(f"refused {url!r}: only http and https URLs with a host are allowed")
    host = parts.hostname
    allowed = list(allowed)
    try:
        infos = socket.getaddrinfo(host, parts.port or (443 if parts.scheme == "https" else 80),
                                   type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise NodeError(f"cannot resolve {host!r}: {exc}", retryable=True) from exc
    for info in infos:
        ip = ipaddress.ip_address(info[4][0].split("%")[0])
        if host in METADATA_HOSTS or str(ip) in METADATA_HOSTS:
            if not any(e.strip().lower() in (host.lower(), str(ip)) for e in allowed):
                raise HostRefused(f"refused {host!r} ({ip}): cloud metadata address")
            continue
        internal = (ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_reserved
                    or ip.is_multicast or ip.is_unspecified)
        if internal and not _allowed(host, ip, allowed):
            raise HostRefused(f"refused {host!r} ({ip}): private, loopback or link-local address; "
                              "an admin can allow it (ORDERFLOW_ALLOWED_HOSTS or the admin page)")


class GuardedHttp:
    """The ``Http`` service nodes use."""

    def __init__(self, allowed_hosts: Iterable[str], session: requests.Session | None = None):
        self.allowed_hosts = tuple(allowed_hosts)
        self.session = session or requests.Session()

    def request(self, method: str, url: str, *, headers: Mapping[str, str], json: Any,
                timeout: float) -> HttpResponse:
        check_url(url, self.allowed_hosts)
        started = time.perf_counter()
        try:
            response = self.session.request(method, url, headers=dict(headers), json=json, timeout=timeout,
                                            allow_redirects=False)
        except requests.RequestException as exc:
            raise NodeError(f"{method} {url}: {type(exc).__name__}: {exc}", retryable=True) from exc
        elapsed = (time.perf_counter() - started) * 1000
        content = response.content[:MAX_BODY_BYTES]
        try:
            body = response.json() if content else None
        except ValueError:
            body = content.decode("utf-8", "replace")
        return HttpResponse(response.status_code, dict(response.headers), body, elapsed)
