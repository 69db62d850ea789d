"""call_api: the request it sends, its status policy, retries, secrets kept out of sight, dry runs."""

from __future__ import annotations

import pytest

from nodes import registry
from nodes.base import NodeError
from tests.nodes.fakes import FakeContext, FakeHttp, config_errors, reply_with

CALL = registry.get("call_api")
CONFIG = {"method": "POST", "url": "https://carrier.example.com/shipments/{{ order.id }}/address",
          "headers": {"Authorization": "Bearer {{ secret('carrier_token') }}", "X-Order": "{{ order.id }}"},
          "body": {"order": "{{ order.id }}", "city": "{{ order.address.city }}", "qty": 1},
          "timeout_s": 5, "response_vars": {"tracking": "body.tracking_no"}}
SECRETS = {"carrier_token": "tok-s3cr3t-value"}


def ctx_with(*replies, **kwargs) -> FakeContext:
    return FakeContext(http=FakeHttp(list(replies)), secrets=SECRETS, **kwargs)


def test_sends_the_rendered_request_with_an_idempotency_key():
    ctx = ctx_with(reply_with(200, {"tracking_no": "SF123"}))
    result = CALL.run(ctx, CONFIG)
    assert ctx.http.requests == [{
        "method": "POST", "url": "https://carrier.example.com/shipments/A100/address",
        "headers": {"Authorization": "Bearer tok-s3cr3t-value", "X-Order": "A100",
                    "Idempotency-Key": "orderflow-7-n1"},
        "json": {"order": "A100", "city": "Hangzhou", "qty": 1}, "timeout": 5.0}]
    assert result.port == "out" and result.vars == {"tracking": "SF123"}
    assert result.output == {"status": 200, "body": {"tracking_no": "SF123"}, "elapsed_ms": 12.0}


def test_the_idempotency_key_is_stable_for_a_run_and_node():
    first, again = ctx_with(), ctx_with()
    CALL.run(first, {"url": "https://x.example"})
    CALL.run(again, {"url": "https://x.example"})
    assert first.http.requests[0]["headers"] == again.http.requests[0]["headers"] == {
        "Idempotency-Key": "orderflow-7-n1"}
    other = FakeContext(run_id=8)
    CALL.run(other, {"url": "https://x.example"})
    assert other.http.requests[0]["headers"]["Idempotency-Key"] == "orderflow-8-n1"


def test_a_given_idempotency_key_is_kept_whatever_its_case():
    ctx = ctx_with()
    CALL.run(ctx, {"url": "https://x.example", "headers": {"idempotency-key": "{{ order.id }}"}})
    assert ctx.http.requests[0]["headers"] == {"idempotency-key": "A100"}


def test_save_as_keeps_the_whole_answer():
    result = CALL.run(ctx_with(reply_with(201, {"ok": True})), {"url": "https://x.example", "save_as": "carrier"})
    assert result.vars == {"carrier": {"status": 201, "body": {"ok": True}, "elapsed_ms": 12.0}}


@pytest.mark.parametrize("status, config, outcome", [
    (503, {}, "retry"),                                          # the default retry list: 502, 503, 504
    (500, {}, "fail"),
    (404, {}, "fail"),
    (302, {}, "succeed"),
    (429, {"retry": {"on_status": [429]}}, "retry"),
    (503, {"retry": {"on_status": [429]}}, "fail"),              # an explicit list replaces the default
    (404, {"status_policy": {"404": "succeed"}}, "succeed"),
    (500, {"status_policy": {"5xx": "retry"}}, "retry"),
    (503, {"status_policy": {"5xx": "fail"}}, "fail"),           # the policy wins over the retry list
    (503, {"status_policy": {"503": "succeed", "5xx": "fail"}}, "succeed"),  # exact beats class
    (200, {"status_policy": {"2xx": "fail"}}, "fail"),
])
def test_status_policy(status, config, outcome):
    ctx = ctx_with(reply_with(status, {"error": "x"}))
    if outcome == "succeed":
        assert CALL.run(ctx, {"url": "https://x.example", **config}).port == "out"
        return
    with pytest.raises(NodeError) as caught:
        CALL.run(ctx, {"url": "https://x.example", **config})
    assert caught.value.retryable is (outcome == "retry")
    assert caught.value.output == {"status": status, "body": {"error": "x"}, "elapsed_ms": 12.0}
    assert f"answered {status}" in str(caught.value)


def test_network_errors_are_retryable_unless_switched_off():
    network = NodeError("POST https://x.example: ConnectTimeout", retryable=True)
    with pytest.raises(NodeError) as caught:
        CALL.run(ctx_with(network), {"url": "https://x.example"})
    assert caught.value.retryable
    with pytest.raises(NodeError) as caught:
        CALL.run(ctx_with(network), {"url": "https://x.example", "retry": {"on_network_error": False}})
    assert not caught.value.retryable


def test_the_address_guards_refusal_is_the_steps_error():
    refusal = NodeError("refused '127.0.0.1': private, loopback or link-local address")
    with pytest.raises(NodeError, match="refused '127.0.0.1'") as caught:
        CALL.run(ctx_with(refusal), {"url": "http://127.0.0.1/admin"})
    assert not caught.value.retryable


def test_secrets_never_appear_in_errors():
    config = {"url": "https://x.example/hook?key={{ secret('carrier_token') }}"}
    with pytest.raises(NodeError) as caught:
        CALL.run(ctx_with(NodeError("POST https://x.example/hook?key=tok-s3cr3t-value: timeout",
                                    retryable=True)), config)
    assert "tok-s3cr3t-value" not in str(caught.value) and "key=***" in str(caught.value)
    with pytest.raises(NodeError) as caught:
        CALL.run(ctx_with(reply_with(500)), config)
    assert "tok-s3cr3t-value" not in str(caught.value)


def test_an_unknown_secret_fails_the_step():
    with pytest.raises(NodeError, match="secret 'carrier_token' is not defined"):
        CALL.run(FakeContext(), CONFIG)


def test_dry_run_shows_the_request_with_secrets_masked_and_sends_nothing():
    result = CALL.run(FakeContext(dry_run=True), CONFIG)  # no secrets defined: a rehearsal does not need them
    assert result.port == "out"
    assert result.output == {"dry_run": True, "would_send": {
        "method": "POST", "url": "https://carrier.example.com/shipments/A100/address",
        "headers": {"Authorization": "Bearer ***", "X-Order": "A100", "Idempotency-Key": "orderflow-7-n1"},
        "json": {"order": "A100", "city": "Hangzhou", "qty": 1}}}


def test_settings():
    assert config_errors("call_api", CONFIG) == []
    assert config_errors("call_api", {"url": "https://x", "status_policy": {"5x": "retry"}})
    assert config_errors("call_api", {"url": "https://x", "status_policy": {"404": "ignore"}})
    assert config_errors("call_api", {"url": "https://x", "retry": {"max_attempts": 3, "on_network_error": False,
                                                                     "backoff_s": 2, "on_status": [503]}}) == []
    problems = config_errors("call_api", {"url": "https://x", "headers": {"A": "{{ x"}, "body": {"a": ["{% if %}"]}})
    assert [p.split(":")[0] for p in problems] == ["headers.A", "body.a.0"]
