"""notify: in-app and email through the notifier; chat robots with each service's own payload."""

from __future__ import annotations

import base64
import hashlib
import hmac
from urllib.parse import quote_plus

import pytest

from nodes import chat, registry
from nodes.base import NodeError
from tests.nodes.fakes import NOW, FakeContext, FakeHttp, config_errors, reply_with

NOTIFY = registry.get("notify")
TEXT = "Order A100 is stuck in pending"


@pytest.mark.parametrize("fmt, body", [
    ("slack", {"text": TEXT}),
    ("dingtalk", {"msgtype": "text", "text": {"content": TEXT}}),
    ("wecom", {"msgtype": "text", "text": {"content": TEXT}}),
    ("feishu", {"msg_type": "text", "content": {"text": TEXT}}),
    ("generic", {"message": TEXT}),
])
def test_chat_text_payloads(fmt, body):
    """The documented text-message body of each robot webhook."""
    assert chat.payload(fmt, TEXT) == body
    ctx = FakeContext(http=FakeHttp([reply_with(200, {"errcode": 0, "code": 0})]))
    result = NOTIFY.run(ctx, {"channel": "webhook", "format": fmt, "to": "https://robot.example/send",
                              "message": "Order {{ order.id }} is stuck in {{ order.status }}"})
    assert ctx.http.requests[0]["json"] == body and ctx.http.requests[0]["method"] == "POST"
    assert result.output["sent"] is True


def test_wecom_text_is_cut_to_2048_bytes_on_a_character_boundary():
    text = chat.payload("wecom", "订单" * 2000)["text"]["content"]
    assert len(text.encode()) <= 2048 and text.endswith("…") and text.startswith("订单订单")
    assert chat.payload("wecom", "short")["text"]["content"] == "short"


def test_dingtalk_signing_adds_timestamp_and_sign_to_the_url():
    ctx = FakeContext(http=FakeHttp([reply_with(200, {"errcode": 0, "errmsg": "ok"})]),
                      secrets={"ding_sign": "SECabc", "ding_url": "https://oapi.dingtalk.com/robot/send?access_token=T0K"})
    NOTIFY.run(ctx, {"channel": "webhook", "format": "dingtalk", "to": "{{ secret('ding_url') }}",
                     "sign_secret": "ding_sign", "message": "hi"})
    timestamp = str(int(NOW.timestamp() * 1000))
    digest = hmac.new(b"SECabc", f"{timestamp}\nSECabc".encode(), hashlib.sha256).digest()
    expected = f"https://oapi.dingtalk.com/robot/send?access_token=T0K&timestamp={timestamp}" \
               f"&sign={quote_plus(base64.b64encode(digest))}"
    assert ctx.http.requests[0]["url"] == expected


def test_feishu_signing_adds_timestamp_and_sign_to_the_body():
    ctx = FakeContext(http=FakeHttp([reply_with(200, {"code": 0, "msg": "success"})]), secrets={"fs": "k3y"})
    NOTIFY.run(ctx, {"channel": "webhook", "format": "feishu", "to": "https://open.feishu.cn/open-apis/bot/v2/hook/x",
                     "sign_secret": "fs", "message": "hi"})
    timestamp = str(int(NOW.timestamp()))
    sign = base64.b64encode(hmac.new(f"{timestamp}\nk3y".encode(), b"", hashlib.sha256).digest()).decode()
    assert ctx.http.requests[0]["json"] == {"timestamp": timestamp, "sign": sign, "msg_type": "text",
                                            "content": {"text": "hi"}}


@pytest.mark.parametrize("fmt, status, body, retryable", [
    ("dingtalk", 200, {"errcode": 310000, "errmsg": "sign not match"}, False),
    ("dingtalk", 200, {"errcode": 130101, "errmsg": "send too fast"}, True),
    ("wecom", 200, {"errcode": 93000, "errmsg": "invalid webhook url"}, False),
    ("wecom", 200, {"errcode": 45009, "errmsg": "api freq out of limit"}, True),
    ("feishu", 200, {"code": 19021, "msg": "sign match fail"}, False),
    ("feishu", 400, {"code": 11232, "msg": "frequency limited"}, True),
    ("slack", 400, "invalid_payload", False),
    ("slack", 404, "no_team", False),
    ("slack", 429, "rate_limited", True),
    ("generic", 503, None, True),
])
def test_refusals_in_the_answer_fail_the_step(fmt, status, body, retryable):
    """These services answer 200 even when they drop the message: the body decides."""
    ctx = FakeContext(http=FakeHttp([reply_with(status, body)]))
    with pytest.raises(NodeError) as caught:
        NOTIFY.run(ctx, {"channel": "webhook", "format": fmt, "to": "https://robot.example", "message": "m"})
    assert caught.value.retryable is retryable


def test_robot_tokens_stay_out_of_errors_and_dry_runs():
    url = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=SECRET-KEY-1"
    config = {"channel": "webhook", "format": "wecom", "to": "{{ secret('wecom_ops') }}", "message": "m"}
    ctx = FakeContext(http=FakeHttp([NodeError(f"POST {url}: ConnectTimeout", retryable=True)]),
                      secrets={"wecom_ops": url})
    with pytest.raises(NodeError) as caught:
        NOTIFY.run(ctx, config)
    assert "SECRET-KEY-1" not in str(caught.value) and caught.value.retryable
    shown = NOTIFY.run(FakeContext(dry_run=True), config).output
    assert shown == {"dry_run": True, "signed": False,
                     "would_send": {"method": "POST", "url": "***", "json": {"msgtype": "text", "text": {"content": "m"}}}}


def test_in_app_and_email_go_through_the_notifier():
    ctx = FakeContext()
    result = NOTIFY.run(ctx, {"channel": "email", "to": "ops@example.com", "subject": "Stuck {{ order.id }}",
                              "message": "{{ order.id }} pending"})
    assert ctx.notifier.sent == [{"channel": "email", "to": "ops@example.com", "message": "A100 pending",
                                  "payload": {"subject": "Stuck A100"}}]
    assert result.output == {"sent": True, "channel": "email", "to": "ops@example.com", "notification_id": 1}
    NOTIFY.run(ctx, {"to": "finance", "message": "m"})
    assert ctx.notifier.sent[1]["channel"] == "in_app"


@pytest.mark.parametrize("config", [
    {"channel": "in_app", "to": "ops", "message": "Order {{ order.id }}"},
    {"channel": "email", "to": "ops@example.com", "message": "m"},
    {"channel": "webhook", "format": "dingtalk", "to": "https://oapi.dingtalk.com/robot/send", "message": "m",
     "sign_secret": "ding"},
])
def test_dry_run_sends_nothing_and_continues_on_out(config):
    result = NOTIFY.run(FakeContext(dry_run=True), config)
    assert result.port == "out" and result.output["dry_run"] is True and "would_send" in result.output


def test_settings():
    assert [e.split(":")[0] for e in config_errors("notify", {"channel": "webhook", "message": "m"})] == ["to"]
    assert [e.split(":")[0] for e in config_errors("notify", {"channel": "webhook", "to": "u", "format": "slack",
                                                               "sign_secret": "s", "message": "m"})] == ["sign_secret"]
    assert config_errors("notify", {"channel": "sms", "message": "m"})
    assert config_errors("notify", {"channel": "webhook", "to": "u", "format": "feishu", "sign_secret": "s",
                                    "message": "m"}) == []
