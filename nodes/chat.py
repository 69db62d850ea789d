"""Chat robot webhooks: the text-message body, signing and answer of each service.

Checked against each service's documented custom-robot text message:
  Slack incoming webhook   {"text": ...}; errors come back as 4xx with a plain-text reason
  DingTalk custom robot    {"msgtype": "text", "text": {"content": ...}}; signed robots add
                           ``timestamp`` (ms) and ``sign`` = urlencode(base64(HMAC-SHA256(key=secret,
                           msg="<timestamp>\\n<secret>"))) to the URL query; answers {"errcode": 0, ...}
  WeCom group robot        {"msgtype": "text", "text": {"content": ...}}, content at most 2048 bytes;
                           answers {"errcode": 0, ...}
  Feishu custom bot        {"msg_type": "text", "content": {"text": ...}}; signed bots add "timestamp"
                           (s) and "sign" = base64(HMAC-SHA256(key="<timestamp>\\n<secret>", msg=""))
                           to the body; answers {"code": 0, ...}; the body must stay under 20 KB
These services answer HTTP 200 even when they refuse a message, so the answer body decides.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime
from typing import Any
from urllib.parse import quote_plus

from nodes.base import NodeError

FORMATS = ("slack", "dingtalk", "wecom", "feishu", "generic")
SIGNED_FORMATS = ("dingtalk", "feishu")
# Longest text each service takes, in UTF-8 bytes; longer texts are cut with a marker.
MAX_TEXT_BYTES = {"wecom": 2048, "dingtalk": 20000, "feishu": 18000, "slack": 40000, "generic": 100_000}
# Answer codes that mean "too many messages, try later" rather than "refused"
RATE_LIMITED = {"dingtalk": {130101}, "wecom": {45009}, "feishu": {11232}}
CUT_MARK = "…"


def fit(fmt: str, text: str) -> str:
    """``text`` cut to the service's limit, on a character boundary."""
    limit = MAX_TEXT_BYTES.get(fmt, MAX_TEXT_BYTES["generic"])
    raw = text.encode()
    if len(raw) <= limit:
        return text
    room = limit - len(CUT_MARK.encode())
    return raw[:room].decode(errors="ignore") + CUT_MARK


def payload(fmt: str, text: str) -> dict:
    """The body each chat service expects for a plain text message."""
    text = fit(fmt, text)
    if fmt == "slack":
        return {"text": text}
    if fmt in ("dingtalk", "wecom"):
        return {"msgtype": "text", "text": {"content": text}}
    if fmt == "feishu":
        return {"msg_type": "text", "content": {"text": text}}
    return {"message": text}


def sign(fmt: str, url: str, body: dict, secret: str, now: datetime) -> tuple[str, dict]:
    """The URL and body of a signed request (for robots with signing switched on)."""
    if fmt == "dingtalk":
        timestamp = str(int(now.timestamp() * 1000))
        digest = hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()
        separator = "&" if "?" in url else "?"
        return f"{url}{separator}timestamp={timestamp}&sign={quote_plus(base64.b64encode(digest))}", body
    if fmt == "feishu":
        timestamp = str(int(now.timestamp()))
        digest = hmac.new(f"{timestamp}\n{secret}".encode(), b"", hashlib.sha256).digest()
        return url, {"timestamp": timestamp, "sign": base64.b64encode(digest).decode(), **body}
    raise NodeError(f"{fmt} robots are not signed; remove the signing secret")


def check_answer(fmt: str, status: int, body: Any) -> None:
    """Raise NodeError when the service refused the message, retryable when it may take it later."""
    code = None
    if isinstance(body, dict):
        code = body.get("errcode") if fmt in ("dingtalk", "wecom") else body.get("code") if fmt == "feishu" else None
    if code not in (None, 0):
        message = body.get("errmsg") or body.get("msg") or ""
        raise NodeError(f"{fmt} refused the message: {code} {message}".strip(),
                        retryable=code in RATE_LIMITED.get(fmt, ()) or status >= 500)
    if status >= 400:
        raise NodeError(f"{fmt} webhook answered {status}: {str(body)[:200]}",
                        retryable=status >= 500 or status == 429)
