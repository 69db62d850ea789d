"""Editor load time for a 200-node flow, and save / validate times. Not a test: it prints figures.

Starts a real `orderflow web` (gunicorn) + worker on a fresh SQLite data dir (the tests' LiveStack),
creates a valid 200-node flow, then in headless Chromium (Playwright, /usr/bin/chromium):
- page load: navigation start -> editor ready (canvas drawn, fitted, problems shown), and the
  part of it spent in editor.js (parse the flow, build the canvas, draw 200 nodes and their wires);
- save: the editor's own save (PUT draft with If-Match, answer with the validation problems);
- validate: the live-validation round trip from the page (POST .../validate), and validate_flow
  alone in this process.

    .venv/bin/python bench/editor_load.py [--nodes 200] [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from playwright.sync_api import sync_playwright  # noqa: E402

from runtime.definition import validate_flow  # noqa: E402
from tests import services  # noqa: E402 - reuse the tests' service starters
from tests.conftest import LiveStack  # noqa: E402

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
KINDS = [
    ("condition", {"match": "all", "rules": [{"field": "order.amount", "op": ">", "value": 1000}]}, ["true", "false"]),
    ("update_order", {"add_tags": ["bench"]}, ["out"]),
    ("assign", {"queue": "finance", "title": "Check {{ order.id }}", "priority": "normal"}, ["out"]),
    ("notify", {"channel": "in_app", "to": "ops", "message": "Order {{ order.id }}"}, ["out", "error"]),
]


def big_flow(count: int) -> dict:
    """A valid tree: a trigger, then nodes each wired from an earlier one, laid out in columns."""
    nodes = [{"id": "t1", "type": "trigger.order_event", "config": {"events": ["order.created"]}, "ui": {"x": 40, "y": 40}}]
    ports = {"t1": ["out"]}
    free = [("t1", "out")]
    edges = []
    for i in range(1, count):
        node_type, config, node_ports = KINDS[i % len(KINDS)]
        node_id = f"n{i}"
        nodes.append({"id": node_id, "type": node_type, "config": config,
                      "ui": {"x": 40 + (i // 12) * 260, "y": 40 + (i % 12) * 110}})
        source, port = free.pop(0)
        edges.append({"from": source, "to": node_id} if port == "out" else {"from": source, "port": port, "to": node_id})
        ports[node_id] = node_ports
        free += [(node_id, p) for p in node_ports if p != "error"]
    return {"schema_version": 1, "name": f"bench: {count} nodes", "nodes": nodes, "edges": edges}


def median_ms(values: list[float]) -> str:
    return f"{statistics.median(values):7.1f} ms  (min {min(values):.1f}, max {max(values):.1f}, n={len(values)})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    flow = big_flow(args.nodes)
    assert validate_flow(flow) == [], validate_flow(flow)[:3]
    inproc = []
    for _ in range(20):
        t0 = time.perf_counter()
        validate_flow(flow)
        inproc.append((time.perf_counter() - t0) * 1000)

    with tempfile.TemporaryDirectory() as tmp:
        stack = LiveStack(Path(tmp), services.ensure_redis())
        try:
            created = requests.post(f"{stack.url}/api/v1/flows", json=flow, headers=stack.auth, timeout=30)
            created.raise_for_status()
            flow_id = created.json()["id"]
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                                                     args=CHROMIUM_ARGS)
                page = browser.new_page(viewport={"width": 1280, "height": 800})
                page.goto(stack.url + "/login")
                page.fill("input[name=name]", "admin")
                page.fill("input[name=password]", "admin-pw")
                page.click("form button")
                page.wait_for_url("**/flows")
                loads, boots = [], []
                for _ in range(args.repeat):
                    page.goto(f"{stack.url}/flows/{flow_id}/edit")
                    page.wait_for_selector("body[data-editor-ready='1']", timeout=60_000)
                    timing = page.evaluate("() => ({ready: orderflowEditor.readyAt, boot: orderflowEditor.bootMs})")
                    loads.append(timing["ready"])
                    boots.append(timing["boot"])
                drawn = page.eval_on_selector_all(".drawflow-node", "els => els.length")
                wires = page.eval_on_selector_all(".connection", "els => els.length")
                saves, validates = [], []
                for i in range(args.repeat):
                    page.fill("#flow-name", f"bench: {args.nodes} nodes, save {i}")
                    saves.append(page.evaluate(
                        "async () => { const t = performance.now(); const ok = await orderflowEditor.save();"
                        " if (!ok) throw new Error('save failed'); return performance.now() - t; }"))
                    validates.append(page.evaluate(
                        "async () => { const body = JSON.stringify(orderflowEditor.composeFlow());"
                        " const t = performance.now();"
                        f" const r = await fetch('/api/v1/flows/{flow_id}/validate', {{method: 'POST', body,"
                        " headers: {'Content-Type': 'application/json', 'X-CSRF-Token':"
                        " document.querySelector('meta[name=csrf-token]').content}});"
                        " await r.json(); return performance.now() - t; }"))
                browser.close()
            size = len(requests.get(f"{stack.url}/api/v1/flows/{flow_id}", headers=stack.auth, timeout=30).content)
        finally:
            stack.stop()

    print(f"flow: {args.nodes} nodes, {len(flow['edges'])} wires; canvas drew {drawn} nodes, {wires} wires; "
          f"draft JSON {size / 1024:.0f} KiB")
    print(f"editor load (navigation start -> editor ready): {median_ms(loads)}")
    print(f"  of which editor.js boot (JSON -> canvas):      {median_ms(boots)}")
    print(f"save (PUT draft + If-Match, answer with problems): {median_ms(saves)}")
    print(f"validate round trip from the page:             {median_ms(validates)}")
    print(f"validate_flow in process:                      {median_ms(inproc)}")


if __name__ == "__main__":
    main()
