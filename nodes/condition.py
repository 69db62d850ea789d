"""``condition``: all/any of field-op-value rules, to the ``true`` or ``false`` port."""

from __future__ import annotations

from nodes.base import Context, NodeType, Result, scope_of
from nodes.rules import evaluate_group, group_schema


def run(ctx: Context, config: dict) -> Result:
    passed = evaluate_group(config, scope_of(ctx), ctx.now())
    return Result("true" if passed else "false", {"result": passed})


CONDITION = NodeType(
    type="condition", title="Condition", category="logic", icon="split",
    description="Checks order fields and continues on true or false",
    help="Each rule compares a field with a value. 'all' needs every rule, 'any' one of them. "
         "Groups nest for (a and (b or c)). Numbers compare as numbers, timestamps as times.",
    config_schema={**group_schema(3), "additionalProperties": False},
    ports=("true", "false"),
    run=run,
)

NODE_TYPES = [CONDITION]
