"""The template sandbox: plain data in, text out; no way to Python's internals or to huge outputs."""

from __future__ import annotations

import pytest

from nodes.base import NodeError
from nodes.templating import MAX_OUTPUT, SecretLookup, check_template, render, render_value, template_problems

SCOPE = {"order": {"id": "A100", "amount": 99.5, "items": [{"sku": "X"}], "customer": {"name": "Li Lei"}},
         "vars": {"profit": 12.3}, "event": {"payload": {"n": 3}}}


@pytest.mark.parametrize("source, expected", [
    ("Order {{ order.id }}", "Order A100"),
    ("{{ order.customer.name | upper }}", "LI LEI"),
    ("{{ '%.1f' | format(vars.profit) }}", "12.3"),
    ("{% if order.amount > 50 %}big{% else %}small{% endif %}", "big"),
    ("{{ order['items'][0].sku }}", "X"),
    ("{{ order['items'] | length }}", "1"),
    ("{{ order.items | length }}", "1"),                 # the order's items, not dict.items
    ("{{ order.items[0].sku }}", "X"),
    ("{% for i in range(3) %}{{ i }}{% endfor %}", "012"),
    ("{{ 'ab' * 3 }}", "ababab"),
    ("{{ 2 ** 10 }}", "1024"),
    ("no template at all", "no template at all"),
])
def test_renders(source, expected):
    assert render(source, SCOPE) == expected


@pytest.mark.parametrize("source", [
    "{{ order.__class__ }}",
    "{{ order.__class__.__mro__[1].__subclasses__() }}",
    "{{ ''.__class__.__base__ }}",
    "{{ order.items.__len__() }}",
    "{{ cycler.__init__.__globals__.os }}",
    "{{ joiner.__init__.__globals__ }}",
    "{{ namespace.__init__.__globals__['__builtins__'] }}",
    "{{ lipsum.__globals__['os'].popen('id').read() }}",
    "{{ self._TemplateReference__context }}",
    "{{ order.items.append(1) }}",            # immutable sandbox: no changing the data
    "{{ order.update({'id': 'X'}) }}",
    "{{ config }}",                           # not Flask: nothing beyond the scope is defined
    "{{ request }}",
    "{{ undefined_name }}",
])
def test_refuses_internals_mutation_and_unknown_names(source):
    with pytest.raises(NodeError):
        render(source, SCOPE)
    assert SCOPE["order"]["id"] == "A100" and SCOPE["order"]["items"] == [{"sku": "X"}]


@pytest.mark.parametrize("source", [
    "{{ 'x' * 100000000 }}",
    "{{ ['x'] * 100000000 }}",
    "{{ 100000000 * 'x' }}",
    "{{ 2 ** 100000 }}",
    "{{ 9 ** 9 ** 999 }}",
    "{% for i in range(100000) %}x{% endfor %}",
    "{% for i in range(1000) %}{% for j in range(1000) %}xxxxxxxxxx{% endfor %}{% endfor %}",
])
def test_refuses_runaway_output(source):
    with pytest.raises(NodeError):
        render(source, SCOPE)


def test_output_limit():
    exactly = "{{ 'x' * " + str(MAX_OUTPUT) + " }}"
    assert len(render(exactly, SCOPE)) == MAX_OUTPUT
    with pytest.raises(NodeError, match="over"):
        render(exactly + "y", SCOPE)


def test_render_value_walks_json():
    assert render_value({"a": ["{{ order.id }}", 1, None], "b": {"c": "{{ event.payload.n }}"}}, SCOPE) == \
        {"a": ["A100", 1, None], "b": {"c": "3"}}


def test_syntax_errors_are_found_without_rendering():
    assert check_template("{{ order.id }}") is None
    assert "unexpected" in check_template("{{ order.id }")
    assert template_problems({"a": ["ok", "{% if %}"], "b": 1}) == [(("a", 1), template_problems("{% if %}")[0][1])]


def test_secrets_are_looked_up_by_name_and_scrubbed():
    lookup = SecretLookup({"k": "s3cr3t-token"}.get)
    assert render("Bearer {{ secret('k') }}", {"secret": lookup}) == "Bearer s3cr3t-token"
    assert lookup.scrub("GET https://x/?t=s3cr3t-token failed") == "GET https://x/?t=*** failed"
    assert render("{{ secret('k') }}", {"secret": SecretLookup.masked}) == "***"
    with pytest.raises(NodeError, match="secret 'nope' is not defined"):
        render("{{ secret('nope') }}", {"secret": lookup})
