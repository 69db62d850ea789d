"""``call_api``: an HTTP request to an outside system, its answer mapped into ``vars``.

The request carries an ``Idempotency-Key`` derived from run id + node id, because a step may be
repeated after a crash. Which answers succeed, retry or fail is a per-status policy. Secrets are
referenced by name (``{{ secret('carrier_token') }}``) and never appear in what a person sees:
dry runs render them as ***, and errors are scrubbed of their values.
"""

from __future__ import annotations

from nodes.base import RETRY_SCHEMA, ConfigProblem, Context, NodeError, NodeType, Result, scope_of
from nodes.fields import resolve
from nodes.templating import SecretLookup, render, render_value, template_problems

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
DEFAULT_RETRY_STATUS = RETRY_SCHEMA["properties"]["on_status"]["default"]
POLICIES = ("succeed", "retry", "fail")


def _policy(config: dict, status: int) -> str:
    """An exact status in the policy wins over its class (5xx), which wins over the retry list."""
    policies = config.get("status_policy") or {}
    explicit = policies.get(str(status)) or policies.get(f"{str(status)[0]}xx")
    if explicit:
        return explicit
    if status in (config.get("retry") or {}).get("on_status", DEFAULT_RETRY_STATUS):
        return "retry"
    return "succeed" if status < 400 else "fail"


def _request(config: dict, scope: dict) -> dict:
    url = render(config["url"], scope)
    headers = {k: render(str(v), scope) for k, v in (config.get("headers") or {}).items()}
    body = render_value(config["body"], scope) if "body" in config else None
    return {"method": config.get("method", "POST"), "url": url, "headers": headers, "json": body}


def _with_idempotency_key(headers: dict, ctx: Context) -> dict:
    if not any(k.lower() == "idempotency-key" for k in headers):
        headers = {**headers, "Idempotency-Key": f"orderflow-{ctx.run_id}-{ctx.node_id}"}
    return headers


def run(ctx: Context, config: dict) -> Result:
    if ctx.dry_run:
        shown = _request(config, {**scope_of(ctx), "secret": SecretLookup.masked})
        shown["headers"] = _with_idempotency_key(shown["headers"], ctx)
        return Result("out", {"dry_run": True, "would_send": shown})
    secrets = SecretLookup(ctx.secret)
    request = _request(config, {**scope_of(ctx), "secret": secrets})
    method, url = request["method"], request["url"]
    shown_url = secrets.scrub(url)
    try:
        response = ctx.http.request(method, url, headers=_with_idempotency_key(request["headers"], ctx),
                                    json=request["json"], timeout=float(config.get("timeout_s", 10)))
    except NodeError as exc:  # network errors and the address guard's refusal
        retry = config.get("retry") or {}
        retryable = exc.retryable and retry.get("on_network_error", True)
        raise NodeError(secrets.scrub(str(exc)), retryable=retryable, output=exc.output) from None
    answer = {"status": response.status, "body": response.body, "elapsed_ms": round(response.elapsed_ms, 1)}
    policy = _policy(config, response.status)
    if policy in ("retry", "fail"):
        raise NodeError(f"{method} {shown_url} answered {response.status}", retryable=policy == "retry",
                        output=answer)
    saved = {name: resolve(path, answer) for name, path in (config.get("response_vars") or {}).items()}
    if config.get("save_as"):
        saved[config["save_as"]] = answer
    return Result("out", answer, vars=saved)


def check(config: dict) -> list[ConfigProblem]:
    """Templates nested in headers and the body (the flow validator checks only top-level fields)."""
    found = []
    for key in ("headers", "body"):
        if key in config:
            found += [ConfigProblem((key, *path), message) for path, message in template_problems(config[key])]
    return found


CALL_API = NodeType(
    type="call_api", title="Call API", category="action", icon="globe",
    description="Calls an outside system (carrier, ERP, payment) and keeps its answer",
    help="Text fields accept templates such as {{ order.id }}; use {{ secret('name') }} for a stored "
         "secret, which is never shown back. Every request carries an Idempotency-Key header made of "
         "the run and node, so a repeated step is recognisable. Answers on the retry list, and network "
         "errors, are tried again with exponential backoff; other 4xx/5xx go to the error port. "
         "Per-status policy overrides this, e.g. 404: succeed or 5xx: retry. Private and loopback "
         "addresses are refused unless an admin allows them. A dry run only shows the request.",
    config_schema={
        "type": "object", "required": ["url"], "additionalProperties": False,
        "properties": {
            "method": {"type": "string", "title": "Method", "enum": list(METHODS), "default": "POST"},
            "url": {"type": "string", "title": "URL", "minLength": 1, "format": "template",
                    "description": "e.g. https://carrier.example.com/shipments/{{ order.id }}"},
            "headers": {"type": "object", "title": "Headers", "additionalProperties": {"type": "string"},
                        "description": "Header name and value; values may use templates and {{ secret('name') }}"},
            "body": {"title": "JSON body", "format": "json",
                     "description": "JSON sent as the body; strings inside may use templates"},
            "timeout_s": {"type": "number", "title": "Timeout (s)", "minimum": 0.1, "maximum": 120, "default": 10},
            "retry": {**RETRY_SCHEMA, "properties": {
                **RETRY_SCHEMA["properties"],
                "on_network_error": {"type": "boolean", "title": "Retry on network errors", "default": True,
                                     "description": "Timeouts, refused connections, DNS failures"}}},
            "status_policy": {"type": "object", "title": "Per-status policy",
                              "description": "Status or class -> succeed, retry or fail, "
                                             "e.g. {\"404\": \"succeed\", \"5xx\": \"retry\"}",
                              "propertyNames": {"pattern": "^[1-5]([0-9][0-9]|xx)$"},
                              "additionalProperties": {"type": "string", "enum": list(POLICIES)}},
            "save_as": {"type": "string", "title": "Save answer as", "pattern": "^[A-Za-z_][A-Za-z0-9_]*$",
                        "description": "The whole answer goes to vars.<name>"},
            "response_vars": {"type": "object", "title": "Map answer into vars",
                              "description": "vars name -> path in the answer, e.g. tracking -> body.tracking_no",
                              "propertyNames": {"pattern": "^[A-Za-z_][A-Za-z0-9_]*$"},
                              "additionalProperties": {"type": "string"}},
        },
    },
    ports=("out", "error"),
    run=run,
    check=check,
)

NODE_TYPES = [CALL_API]
