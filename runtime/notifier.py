"""In-app notifications and email; chat webhooks go through the node's HTTP client."""

from __future__ import annotations

import os
import smtplib
from collections.abc import Mapping
from email.message import EmailMessage
from typing import Any

from nodes.base import NodeError
from runtime.db import db
from runtime.models import Notification


class Notifier:
    def __init__(self, run_id: int | None):
        self.run_id = run_id

    def send(self, channel: str, to: str, message: str, payload: Mapping[str, Any] | None = None) -> dict:
        if channel == "email":
            self._email(to, (payload or {}).get("subject") or message[:80], message)
        elif channel != "in_app":
            raise NodeError(f"unknown notification channel {channel!r}")
        note = Notification(channel=channel, recipient=to or "", message=message, run_id=self.run_id)
        db.session.add(note)
        db.session.flush()
        return {"notification_id": note.id}

    @staticmethod
    def _email(to: str, subject: str, body: str) -> None:
        host = os.environ.get("ORDERFLOW_SMTP_HOST")
        if not host:
            raise NodeError("email is not configured: set ORDERFLOW_SMTP_HOST (and ORDERFLOW_SMTP_PORT)")
        if "@" not in to:
            raise NodeError(f"not an email address: {to!r}")
        mail = EmailMessage()
        mail["From"] = os.environ.get("ORDERFLOW_MAIL_FROM", "orderflow@localhost")
        mail["To"], mail["Subject"] = to, subject
        mail.set_content(body)
        try:
            with smtplib.SMTP(host, int(os.environ.get("ORDERFLOW_SMTP_PORT", "25")), timeout=10) as smtp:
                smtp.send_message(mail)
        except (OSError, smtplib.SMTPException) as exc:
            raise NodeError(f"email to {to}: {exc}", retryable=True) from exc
