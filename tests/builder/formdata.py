"""What a browser would submit for a rendered form: the successful controls, in document order."""

from __future__ import annotations

from html.parser import HTMLParser

from werkzeug.datastructures import MultiDict


class _FormReader(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.pairs: list[tuple[str, str]] = []
        self.disabled_depth = 0
        self.stack: list[str] = []
        self.textarea: dict | None = None
        self.select: dict | None = None
        self.option: dict | None = None
        self.html_ids: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.html_ids.append(a["id"])
        if tag == "fieldset":
            self.stack.append("disabled" if "disabled" in a else "")
            if "disabled" in a:
                self.disabled_depth += 1
        off = self.disabled_depth > 0 or "disabled" in a
        if tag == "input" and a.get("name") and not off:
            kind = a.get("type", "text")
            if kind in ("checkbox", "radio"):
                if "checked" in a:
                    self.pairs.append((a["name"], a.get("value", "on")))
            elif kind not in ("submit", "button", "file", "image", "reset"):
                self.pairs.append((a["name"], a.get("value", "")))
        elif tag == "textarea":
            self.textarea = {"name": a.get("name"), "text": "", "off": off}
        elif tag == "select":
            self.select = {"name": a.get("name"), "options": [], "multiple": "multiple" in a, "off": off}
        elif tag == "option" and self.select is not None:
            self.option = {"value": a.get("value"), "selected": "selected" in a, "text": ""}
            self.select["options"].append(self.option)

    def handle_endtag(self, tag):
        if tag == "fieldset" and self.stack and self.stack.pop() == "disabled":
            self.disabled_depth -= 1
        elif tag == "textarea" and self.textarea:
            t = self.textarea
            if t["name"] and not t["off"]:
                self.pairs.append((t["name"], t["text"][1:] if t["text"].startswith("\n") else t["text"]))
            self.textarea = None
        elif tag == "select" and self.select:
            s = self.select
            chosen = [o for o in s["options"] if o["selected"]] or s["options"][:1]
            if s["name"] and not s["off"]:
                for o in chosen if s["multiple"] else chosen[:1]:
                    self.pairs.append((s["name"], o["value"] if o["value"] is not None else o["text"]))
            self.select = None

    def handle_data(self, data):
        if self.textarea is not None:
            self.textarea["text"] += data
        if self.option is not None:
            self.option["text"] += data


def submitted(html: str, submitter: tuple[str, str] | None = None, **changes) -> MultiDict:
    """The form data a browser posts for ``html``; ``changes`` replace single values (name=value)."""
    reader = _FormReader()
    reader.feed(html)
    pairs = [(k, changes.get(k, v)) for k, v in reader.pairs]
    pairs += [(k, v) for k, v in changes.items() if k not in {p[0] for p in reader.pairs}]
    if submitter:
        pairs.append(submitter)
    return MultiDict(pairs)


def element_ids(html: str) -> list[str]:
    reader = _FormReader()
    reader.feed(html)
    return reader.html_ids
