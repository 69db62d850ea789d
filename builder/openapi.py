"""The OpenAPI description of the public HTTP contract (docs/ and DESIGN.md say the same)."""

from __future__ import annotations

ERROR = {"$ref": "#/components/schemas/Error"}


def _op(summary: str, ok: str = "200", *, body: str | None = None, errors=("400", "401", "404"), params=()) -> dict:
    op: dict = {"summary": summary, "responses": {ok: {"description": "OK"}}}
    for code in errors:
        op["responses"][code] = {"description": "Error", "content": {"application/json": {"schema": ERROR}}}
    if body:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": {"$ref": body}}}}
    if params:
        op["parameters"] = [{"name": p, "in": "query", "schema": {"type": "string"}} for p in params]
    return op


PAGE = ("limit", "page")

OPENAPI = {
    "openapi": "3.1.0",
    "info": {"title": "OrderFlow", "version": "1"},
    "components": {
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        "schemas": {
            "Error": {"type": "object", "required": ["error", "details"], "properties": {
                "error": {"type": "string"},
                "details": {"type": "array", "items": {"type": "object", "properties": {
                    "path": {"type": "string"}, "message": {"type": "string"}, "node_id": {"type": "string"}}}}}},
            "Event": {"type": "object", "required": ["type", "source", "event_id", "order"]},
            "Flow": {"$ref": "/static/schemas/flow.schema.json"},
            "Decision": {"type": "object", "required": ["decision"], "properties": {
                "decision": {"enum": ["approve", "reject", "done"]}, "comment": {"type": "string"}}},
        },
    },
    "security": [{"bearer": []}],
    "paths": {
        "/api/v1/events": {"post": _op("Ingest an order event", "202", body="#/components/schemas/Event",
                                       errors=("400", "401", "403"))},
        "/hooks/{key}": {"post": _op("A flow's webhook trigger", "202", errors=("400", "401", "404", "422"))},
        "/api/v1/flows": {"get": _op("List flows", params=PAGE),
                          "post": _op("Create a flow from a definition", "201", body="#/components/schemas/Flow")},
        "/api/v1/flows/{id}": {"get": _op("A flow with its draft (ETag = draft_rev)")},
        "/api/v1/flows/{id}/draft": {"put": _op("Save the draft (If-Match)", body="#/components/schemas/Flow",
                                                errors=("400", "401", "404", "412"))},
        "/api/v1/flows/{id}/publish": {"post": _op("Publish the draft", errors=("401", "404", "422"))},
        "/api/v1/flows/{id}/unpublish": {"post": _op("Deactivate the flow")},
        "/api/v1/flows/{id}/versions": {"get": _op("Published versions")},
        "/api/v1/flows/{id}/test": {"post": _op("Dry run the draft", errors=("400", "401", "404", "422"))},
        "/api/v1/flows/{id}/validate": {"post": _op("Validate a definition without saving it")},
        "/api/v1/flows/{id}/diff": {"get": _op("Differences between two versions", params=("from", "to"))},
        "/api/v1/flows/{id}/versions/{n}/restore": {"post": _op("Copy a version into the draft",
                                                                errors=("401", "404", "412"))},
        "/api/v1/flows/{id}/discard": {"post": _op("Reset the draft to the published version",
                                                   errors=("401", "404", "409"))},
        "/api/v1/flows/{id}/export": {"get": _op("The flow as a JSON file", params=("version",),
                                                 errors=("401", "404", "422"))},
        "/api/v1/flows/{id}/import": {"post": _op("Replace the draft from a JSON file",
                                                  errors=("400", "401", "404", "412", "422"))},
        "/api/v1/runs": {"get": _op("List runs", params=("flow", "status", *PAGE))},
        "/api/v1/runs/{id}": {"get": _op("A run with its steps")},
        "/api/v1/runs/{id}/retry": {"post": _op("Retry from the failed step", "202", errors=("401", "404", "409"))},
        "/api/v1/runs/{id}/rerun": {"post": _op("Run again from the trigger", "202", errors=("401", "404", "409"))},
        "/api/v1/orders": {"get": _op("List orders", params=("status", "flag", "tag", *PAGE))},
        "/api/v1/orders/{id}": {"get": _op("One order")},
        "/api/v1/orders/{id}/versions": {"get": _op("An order's versions and audit trail")},
        "/api/v1/tasks": {"get": _op("Tasks in team queues", params=("queue", "status", *PAGE))},
        "/api/v1/tasks/{id}/resolve": {"post": _op("Resolve a task", body="#/components/schemas/Decision",
                                                   errors=("400", "401", "404", "409"))},
        "/api/v1/node-types": {"get": _op("The node palette")},
        "/api/v1/runs/replay": {"post": _op("Retry every failed run of a flow", "202", errors=("400", "401", "404"))},
        "/api/v1/boards/stuck": {"get": _op("Orders by status and time in it")},
        "/api/v1/boards/profit": {"get": _op("Revenue, profit and margin by day or product and channel",
                                             params=("from", "to", "by"))},
        "/api/v1/boards/connectors": {"get": _op("Connectors and their health")},
        "/api/v1/connectors": {"post": _op("Declare a connector (admin)", errors=("400", "401", "403"))},
        "/api/v1/templates": {"get": _op("The template gallery", params=("category", *PAGE)),
                              "post": _op("Publish a template (admin)", "201", errors=("400", "401", "403", "422"))},
        "/api/v1/templates/{id}": {"get": _op("One template")},
        "/api/v1/templates/{id}/use": {"post": _op("Start a draft flow from a template", "201")},
        "/healthz": {"get": {"summary": "Health", "security": [], "responses": {"200": {"description": "OK"}}}},
        "/metrics": {"get": {"summary": "Prometheus metrics", "security": [], "responses": {"200": {"description": "OK"}}}},
    },
}
