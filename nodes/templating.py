"""Sandboxed Jinja2 for the strings operators write (messages, URLs, bodies).

The sandbox refuses attribute access to internals; templates see only plain data (the scope).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from nodes.base import NodeError

_env = ImmutableSandboxedEnvironment(undefined=StrictUndefined, autoescape=False)
MAX_OUTPUT = 100_000


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
    try:
        text = _compiled(source).render(scope)
    except Exception as exc:  # the sandbox raises SecurityError, UndefinedError, TypeError...
        raise NodeError(f"template {source!r}: {exc}") from exc
    if len(text) > MAX_OUTPUT:
        raise NodeError(f"template {source!r} rendered over {MAX_OUTPUT} characters")
    return text


def render_value(value: Any, scope: dict) -> Any:
    """Render every string inside a JSON value (for bodies and headers)."""
    if isinstance(value, str):
        return render(value, scope)
    if isinstance(value, list):
        return [render_value(v, scope) for v in value]
    if isinstance(value, dict):
        return {k: render_value(v, scope) for k, v in value.items()}
    return value
