"""``call_api``: an HTTP request to an outside system, its answer mapped into ``vars``.

The request carries an ``Idempotency-Key`` derived from run id + node id, because a step may be
repeated after a crash. Which answers succeed, retry or fail is a per-status policy.
"""

from __future__ import annotations

from nodes.base import RETRY_SCHEMA, Context, NodeError, NodeType, Result, scope_of
from nodes.fields import resolve
from nodes.templating import render, render_value

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def _policy(config: dict, status: int) -> str:
    explicit = (config.get("status_policy") or {}).get(str(status))
    if explicit:
        return explicit
    if status in (config.get("retry") or {}).get("on_status", RETRY_SCHEMA["properties"]["on_status"]["default"]):
        return "retry"
    return "succeed" if status < 400 else "fail"


def run(ctx: Context, config: dict) -> Result:
    scope = {**scope_of(ctx), "secret": ctx.secret}
    method = config.get("method", "POST")
    url = render(config["url"], scope)
    headers = {k: render(str(v), scope) for k, v in (config.get("headers") or {}).items()}
    headers.setdefault("Idempotency-Key", f"orderflow-{ctx.run_id}-{ctx.node_id}")
    body = render_value(config["body"], scope) if "body" in config else None
    if ctx.dry_run:
        declared = config.get("headers") or {}
        shown = {k: "***" if "secret(" in str(declared.get(k, "")) else v for k, v in headers.items()}
        return Result("out", {"would_send": {"method": method, "url": url, "headers": shown, "json": body}})
    response = ctx.http.request(method, url, headers=headers, json=body,
                                timeout=float(config.get("timeout_s", 10)))
    answer = {"status": response.status, "body": response.body, "elapsed_ms": round(response.elapsed_ms, 1)}
    policy = _policy(config, response.status)
    if policy == "retry":
        raise NodeError(f"{method} {url} answered {response.status}", retryable=True, output=answer)
    if policy == "fail":
        raise NodeError(f"{method} {url} answered {response.status}", output=answer)
    saved = {name: resolve(path, answer) for name, path in (config.get("response_vars") or {}).items()}
    if config.get("save_as"):
        saved[config["save_as"]] = answer
    return Result("out", answer, vars=saved)


CALL_API = NodeType(
    type="call_api", title="Call API", category="action", icon="globe",
    description="Calls an outside system (carrier, ERP, payment) and keeps its answer",
    help="Text fields accept templates such as {{ order.id }}; use {{ secret('name') }} for a stored "
         "secret, which is never shown back. Answers on the retry list are tried again with "
         "exponential backoff; other 4xx/5xx go to the error port. Private and loopback "
         "addresses are refused unless an admin allows them.",
    config_schema={
        "type": "object", "required": ["url"], "additionalProperties": False,
        "properties": {
            "method": {"type": "string", "title": "Method", "enum": list(METHODS), "default": "POST"},
            "url": {"type": "string", "title": "URL", "minLength": 1, "format": "template",
                    "description": "e.g. https://carrier.example.com/shipments/{{ order.id }}"},
            "headers": {"type": "object", "title": "Headers", "additionalProperties": {"type": "string"},
                        "description": "Header name and value; values may use templates"},
            "body": {"title": "JSON body", "format": "json",
                     "description": "JSON sent as the body; strings inside may use templates"},
            "timeout_s": {"type": "number", "title": "Timeout (s)", "minimum": 0.1, "maximum": 120, "default": 10},
            "retry": RETRY_SCHEMA,
            "status_policy": {"type": "object", "title": "Per-status policy",
                              "description": "e.g. {\"404\": \"succeed\", \"429\": \"retry\"}",
                              "propertyNames": {"pattern": "^[1-5][0-9][0-9]$"},
                              "additionalProperties": {"type": "string", "enum": ["succeed", "retry", "fail"]}},
            "save_as": {"type": "string", "title": "Save answer as", "pattern": "^[A-Za-z_][A-Za-z0-9_]*$",
                        "description": "The whole answer goes to vars.<name>"},
            "response_vars": {"type": "object", "title": "Map answer into vars",
                              "description": "vars name -> path in the answer, e.g. tracking -> body.tracking_no",
                              "additionalProperties": {"type": "string"}},
        },
    },
    ports=("out", "error"),
    run=run,
)

NODE_TYPES = [CALL_API]
