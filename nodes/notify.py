"""``notify``: an in-app notification, an email, or a chat robot message (DingTalk, WeCom, Feishu, Slack)."""

from __future__ import annotations

from nodes import chat
from nodes.base import ConfigProblem, Context, NodeError, NodeType, Result, scope_of
from nodes.templating import SecretLookup, render


def _webhook(ctx: Context, config: dict, message: str) -> Result:
    fmt = config.get("format", "generic")
    body = chat.payload(fmt, message)
    shown_url = render(config.get("to") or "", {**scope_of(ctx), "secret": SecretLookup.masked})
    if not shown_url:
        raise NodeError("a webhook notification needs the chat webhook URL in 'to'")
    if ctx.dry_run:
        request = {"method": "POST", "url": shown_url, "json": body}
        return Result("out", {"dry_run": True, "would_send": request, "signed": bool(config.get("sign_secret"))})
    secrets = SecretLookup(ctx.secret)
    url = render(config["to"], {**scope_of(ctx), "secret": secrets})
    if config.get("sign_secret"):
        url, body = chat.sign(fmt, url, body, secrets(config["sign_secret"]), ctx.now())
    try:
        response = ctx.http.request("POST", url, headers={}, json=body, timeout=10)
        chat.check_answer(fmt, response.status, response.body)
    except NodeError as exc:  # robot URLs carry their access token: keep it out of the step's error
        raise NodeError(secrets.scrub(str(exc)), retryable=exc.retryable) from None
    return Result("out", {"sent": True, "channel": "webhook", "format": fmt, "to": shown_url,
                          "status": response.status})


def run(ctx: Context, config: dict) -> Result:
    scope = scope_of(ctx)
    message = render(config["message"], scope)
    channel = config.get("channel", "in_app")
    if channel == "webhook":
        return _webhook(ctx, config, message)
    to = render(config.get("to") or "", scope)
    subject = render(config.get("subject") or "", scope)
    if ctx.dry_run:
        return Result("out", {"dry_run": True,
                              "would_send": {"channel": channel, "to": to, "subject": subject, "message": message}})
    record = ctx.notifier.send(channel, to, message, {"subject": subject})
    return Result("out", {"sent": True, "channel": channel, "to": to, **record})


def check(config: dict) -> list[ConfigProblem]:
    problems = []
    if config.get("channel") == "webhook" and not config.get("to"):
        problems.append(ConfigProblem(("to",), "the webhook channel needs the chat robot's URL in 'to'"))
    if config.get("sign_secret") and config.get("format", "generic") not in chat.SIGNED_FORMATS:
        problems.append(ConfigProblem(("sign_secret",), "only DingTalk and Feishu robots are signed"))
    return problems


NOTIFY = NodeType(
    type="notify", title="Notify", category="action", icon="bell",
    description="Sends a message in the app, by email or to a chat group",
    help="in_app: shown in the notifications list for the team or user in 'to'. email: 'to' is the "
         "address. webhook: 'to' is the chat robot URL, and format picks DingTalk, WeCom, Feishu or "
         "Slack; a robot URL holds an access token, so store it as a secret and write "
         "{{ secret('ops_robot') }}. For DingTalk or Feishu robots with signing on, name the stored "
         "signing secret. Long messages are cut to what the service accepts (WeCom: 2048 bytes). "
         "A dry run only shows the message.",
    config_schema={
        "type": "object", "required": ["message"], "additionalProperties": False,
        "properties": {
            "channel": {"type": "string", "title": "Channel", "enum": ["in_app", "email", "webhook"],
                        "default": "in_app"},
            "to": {"type": "string", "title": "To", "format": "template",
                   "description": "Team or user (in_app), email address, or chat webhook URL"},
            "format": {"type": "string", "title": "Chat format", "enum": list(chat.FORMATS),
                       "default": "generic", "description": "Only for the webhook channel"},
            "sign_secret": {"type": "string", "title": "Signing secret (name)", "pattern": "^[A-Za-z0-9_.-]{1,64}$",
                            "description": "The stored secret a DingTalk or Feishu robot signs with"},
            "subject": {"type": "string", "title": "Subject (email)", "format": "template"},
            "message": {"type": "string", "title": "Message", "minLength": 1, "format": "template",
                        "default": "Order {{ order.id }} needs attention"},
        },
    },
    ports=("out", "error"),
    run=run,
    check=check,
)

NODE_TYPES = [NOTIFY]
