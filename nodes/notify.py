"""``notify``: an in-app notification, an email, or a chat webhook message (DingTalk, WeCom, Feishu, Slack)."""

from __future__ import annotations

from nodes.base import Context, NodeError, NodeType, Result, scope_of
from nodes.templating import render

CHAT_FORMATS = ("slack", "dingtalk", "wecom", "feishu", "generic")


def chat_payload(fmt: str, text: str) -> dict:
    """The body each chat service expects for a plain text message."""
    if fmt == "slack":
        return {"text": text}
    if fmt in ("dingtalk", "wecom"):
        return {"msgtype": "text", "text": {"content": text}}
    if fmt == "feishu":
        return {"msg_type": "text", "content": {"text": text}}
    return {"message": text}


def run(ctx: Context, config: dict) -> Result:
    scope = scope_of(ctx)
    message = render(config["message"], scope)
    channel = config.get("channel", "in_app")
    to = render(config.get("to") or "", scope)
    if channel == "webhook":
        if not to:
            raise NodeError("a webhook notification needs the chat webhook URL in 'to'")
        payload = chat_payload(config.get("format", "generic"), message)
        request = {"method": "POST", "url": to, "json": payload}
        if ctx.dry_run:
            return Result("out", {"would_send": request})
        response = ctx.http.request("POST", to, headers={}, json=payload, timeout=10)
        if response.status >= 400:
            raise NodeError(f"chat webhook answered {response.status}", retryable=response.status >= 500)
        return Result("out", {"sent": True, "channel": channel, "status": response.status})
    if ctx.dry_run:
        return Result("out", {"would_send": {"channel": channel, "to": to, "message": message}})
    record = ctx.notifier.send(channel, to, message, {"subject": render(config.get("subject") or "", scope)})
    return Result("out", {"sent": True, "channel": channel, **record})


NOTIFY = NodeType(
    type="notify", title="Notify", category="action", icon="bell",
    description="Sends a message in the app, by email or to a chat group",
    help="in_app: shown in the notifications list for the team or user in 'to'. email: 'to' is the "
         "address. webhook: 'to' is the chat robot URL, and format picks DingTalk, WeCom, Feishu or Slack.",
    config_schema={
        "type": "object", "required": ["message"], "additionalProperties": False,
        "properties": {
            "channel": {"type": "string", "title": "Channel", "enum": ["in_app", "email", "webhook"],
                        "default": "in_app"},
            "to": {"type": "string", "title": "To", "format": "template",
                   "description": "Team or user (in_app), email address, or chat webhook URL"},
            "format": {"type": "string", "title": "Chat format", "enum": list(CHAT_FORMATS),
                       "default": "generic", "description": "Only for the webhook channel"},
            "subject": {"type": "string", "title": "Subject (email)", "format": "template"},
            "message": {"type": "string", "title": "Message", "minLength": 1, "format": "template",
                        "default": "Order {{ order.id }} needs attention"},
        },
    },
    ports=("out", "error"),
    run=run,
)

NODE_TYPES = [NOTIFY]
