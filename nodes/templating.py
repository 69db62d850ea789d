"""Sandboxed Jinja2 for the strings operators write (messages, URLs, bodies).

The sandbox refuses attribute access to internals; templates see only plain data (the scope).
Repetition and powers are capped, so a template cannot build a gigabyte string or a huge number
before the output limit gets a chance to refuse it.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, TemplateError
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from nodes.base import NodeError

MAX_OUTPUT = 100_000
MAX_EXPONENT = 100
MAX_RANGE = 1000  # the sandbox allows 100,000; two nested loops of that would run for hours


class _Sandbox(ImmutableSandboxedEnvironment):
    # Intercepting also stops Jinja's compile-time constant folding of these operators.
    intercepted_binops = frozenset(["*", "**"])

    def getattr(self, obj: Any, attribute: str) -> Any:
        # Data first: order.items must be the order's items, not the dict method of that name.
        if isinstance(obj, dict) and attribute in obj:
            return obj[attribute]
        return super().getattr(obj, attribute)

    def call_binop(self, context, operator: str, left: Any, right: Any) -> Any:
        if operator == "**" and isinstance(right, (int, float)) and abs(right) > MAX_EXPONENT:
            raise SecurityError(f"exponent {right} is above {MAX_EXPONENT}")
        if operator == "*":
            for seq, times in ((left, right), (right, left)):
                if isinstance(seq, (str, list, tuple)) and isinstance(times, int) \
                        and len(seq) * times > MAX_OUTPUT:
                    raise SecurityError(f"repetition would exceed {MAX_OUTPUT} characters")
        return super().call_binop(context, operator, left, right)


def _range(*args: int) -> range:
    numbers = range(*args)
    if len(numbers) > MAX_RANGE:
        raise SecurityError(f"range() is limited to {MAX_RANGE} numbers in templates")
    return numbers


_env = _Sandbox(undefined=StrictUndefined, autoescape=False)
_env.globals["range"] = _range


@lru_cache(maxsize=2048)
def _compiled(source: str):
    return _env.from_string(source)


def check_template(source: str) -> str | None:
    """The syntax error of a template, or None."""
    try:
        _compiled(source)
    except TemplateError as exc:
        return str(exc)
    return None


def render(source: str, scope: dict) -> str:
    if "{" not in source:
        return source
    parts, size = [], 0
    try:
        # streamed, so a runaway loop is stopped at the limit instead of filling memory first
        for chunk in _compiled(source).generate(scope):
            size += len(chunk)
            if size > MAX_OUTPUT:
                raise NodeError(f"template {source!r} rendered over {MAX_OUTPUT} characters")
            parts.append(chunk)
    except NodeError:
        raise
    except Exception as exc:  # the sandbox raises SecurityError, UndefinedError, TypeError...
        raise NodeError(f"template {source!r}: {exc}") from exc
    return "".join(parts)


class SecretLookup:
    """``secret('name')`` inside templates. Remembers the values it handed out, so whatever a node
    shows afterwards (errors, step output) can be scrubbed of them."""

    MASK = "***"

    def __init__(self, lookup: Callable[[str], str | None]):
        self.lookup, self.used = lookup, set()

    def __call__(self, name: str) -> str:
        value = self.lookup(name)
        if value is None:
            raise NodeError(f"secret {name!r} is not defined")
        if value:
            self.used.add(value)
        return value

    @classmethod
    def masked(cls, name: str) -> str:
        """Stands in for ``secret`` when rendering what a person will see (dry runs)."""
        return cls.MASK

    def scrub(self, text: str) -> str:
        for value in sorted(self.used, key=len, reverse=True):
            text = text.replace(value, self.MASK)
        return text


def template_problems(value: Any, path: tuple = ()) -> list[tuple[tuple, str]]:
    """Template syntax errors anywhere inside a JSON value, each with its path (for nested settings)."""
    if isinstance(value, str):
        error = check_template(value) if "{" in value else None
        return [(path, f"template error: {error}")] if error else []
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in template_problems(v, (*path, i))]
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in template_problems(v, (*path, k))]
    return []


def render_value(value: Any, scope: dict) -> Any:
    """Render every string inside a JSON value (for bodies and headers)."""
    if isinstance(value, str):
        return render(value, scope)
    if isinstance(value, list):
        return [render_value(v, scope) for v in value]
    if isinstance(value, dict):
        return {k: render_value(v, scope) for k, v in value.items()}
    return value
