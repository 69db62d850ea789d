"""The editor in real Chromium against real `orderflow web` + `orderflow worker` processes."""

from __future__ import annotations

import json
import os

import pytest
import requests
from playwright.sync_api import expect

from builder import ROOT
from tests.browser.conftest import center, drag_from_palette, login, node_ids, open_editor, select_node, wire
from tests.conftest import load_flow, order_event

pytestmark = pytest.mark.browser
SCREENSHOT = ROOT / "docs" / "editor.png"


def create_flow(stack, definition: dict) -> int:
    response = requests.post(f"{stack.url}/api/v1/flows", json=definition, headers=stack.auth, timeout=10)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def api_flow(stack, flow_id: int) -> dict:
    return requests.get(f"{stack.url}/api/v1/flows/{flow_id}", headers=stack.auth, timeout=10).json()


def test_build_publish_test_and_follow_a_run(live_stack, browser_context, tmp_path):
    stack, page = live_stack, browser_context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    login(page, stack)
    page.click("#new-blank-flow")  # from an empty flow
    page.wait_for_selector("body[data-editor-ready='1']")
    flow_id = int(page.url.rstrip("/").split("/")[-2])
    assert node_ids(page) == []

    canvas = page.locator("#canvas").bounding_box()
    drag_from_palette(page, "trigger.order_event", canvas["x"] + 60, canvas["y"] + 110)
    drag_from_palette(page, "condition", canvas["x"] + 300, canvas["y"] + 110)
    drag_from_palette(page, "assign", canvas["x"] + 560, canvas["y"] + 260)
    assert node_ids(page) == ["t1", "c1", "a1"]
    ports = page.eval_on_selector_all(".drawflow-node[data-node-id='c1'] .output", "els => els.map(e => e.dataset.port)")
    assert ports == ["true", "false"]

    # validation is live: unwired nodes and the missing queue are pinned on their nodes
    problems = page.locator("#problem-list")
    expect(problems).to_contain_text("'queue' is a required property")
    expect(problems).to_contain_text("node 'c1' cannot be reached from the trigger")
    expect(page.locator(".drawflow-node[data-node-id='a1'].has-problems")).to_have_count(1)

    wire(page, "t1", "out", "c1")
    wire(page, "c1", "true", "a1")
    expect(problems).not_to_contain_text("cannot be reached")
    page.locator("#problem-list li[data-node-id='a1']").first.click()  # clicking a problem selects its node
    page.wait_for_selector("#settings-form[data-node-id='a1']")
    expect(page.locator("#settings-form [data-path='$.queue'] .field-error")).to_have_text("This field is required.")
    page.fill("#settings-form [name='cfg.queue']", "finance")
    expect(problems).to_contain_text("No problems")
    expect(page.locator(".drawflow-node.has-problems")).to_have_count(0)

    select_node(page, "c1")
    page.click("#settings-form button[value='add:cfg.rules:0']")
    page.fill("#settings-form [name='cfg.rules.0.field']", "order.amount")
    page.select_option("#settings-form [name='cfg.rules.0.op']", ">")
    page.fill("#settings-form [name='cfg.rules.0.value']", "1000")
    expect(page.locator(".drawflow-node[data-node-id='c1'] .node-sub")).to_contain_text("rules: 1")

    page.fill("#flow-name", "High-value orders to finance")
    page.keyboard.press("Control+s")
    expect(page.locator("#save-state")).to_contain_text("Saved")
    draft = api_flow(stack, flow_id)["draft"]
    assert draft["name"] == "High-value orders to finance"
    assert draft["nodes"][1]["config"] == {"match": "all", "rules": [{"field": "order.amount", "op": ">", "value": 1000}]}
    assert draft["nodes"][2]["config"]["queue"] == "finance"
    assert draft["edges"] == [{"from": "t1", "to": "c1"}, {"from": "c1", "port": "true", "to": "a1"}]
    assert all(isinstance(n["ui"]["x"], int) for n in draft["nodes"])

    page.click("[data-cmd=publish]")
    expect(page.locator("#publish-state")).to_have_text("v1 live")

    page.click("[data-tab=test]")
    page.fill("#test-order", json.dumps({"id": "DRY-1", "amount": 2500, "channel": "taobao"}))
    page.click("#test-run")
    expect(page.locator("[data-test-status]")).to_have_text("succeeded")
    assert node_ids(page, ".drawflow-node.ran") == ["t1", "c1", "a1"]
    expect(page.locator(".connection.ran")).to_have_count(2)
    expect(page.locator(".drawflow-node[data-node-id='c1'] .node-result")).to_have_text("→ true")
    page.click("[data-cmd=fit]")
    # the README's picture: taken when missing or asked for, so a test run leaves the checkout clean
    if not SCREENSHOT.exists() or os.environ.get("ORDERFLOW_SCREENSHOT"):
        page.screenshot(path=str(SCREENSHOT))
    page.screenshot(path=str(tmp_path / "editor.png"))
    tasks = requests.get(f"{stack.url}/api/v1/tasks?queue=finance", headers=stack.auth, timeout=10).json()
    assert tasks["total"] == 0  # the dry run created nothing

    answer = requests.post(f"{stack.url}/api/v1/events", json=order_event("BR-1", amount=5000),
                           headers=stack.auth, timeout=10).json()
    run = stack.wait_run(answer["runs"][0])
    assert run["status"] == "succeeded"
    page.goto(f"{stack.url}/runs/{run['id']}")
    page.wait_for_selector("body[data-viewer-ready='1']")
    assert node_ids(page, "#view-canvas .drawflow-node.ran") == ["t1", "c1", "a1"]
    expect(page.locator("#view-canvas .connection.ran")).to_have_count(2)
    expect(page.locator(".steps .step")).to_have_count(3)

    # a recent order can be picked for the next test run instead of pasting JSON
    open_editor(page, stack, flow_id)
    page.click("[data-tab=test]")
    page.locator("#test-pick option[value='BR-1']").wait_for(state="attached")
    page.select_option("#test-pick", "BR-1")
    assert json.loads(page.input_value("#test-order"))["amount"] == 5000
    page.click("#test-run")
    expect(page.locator("[data-test-status]")).to_have_text("succeeded")
    assert node_ids(page, ".drawflow-node.ran") == ["t1", "c1", "a1"]
    assert errors == []


def test_two_tabs_and_the_stale_save_is_refused(live_stack, browser_context):
    stack = live_stack
    flow_id = create_flow(stack, load_flow("high_value"))
    first, second = browser_context.new_page(), browser_context.new_page()
    login(first, stack)
    open_editor(first, stack, flow_id)
    open_editor(second, stack, flow_id)

    first.fill("#flow-name", "Saved by the first tab")
    first.keyboard.press("Control+s")
    expect(first.locator("#save-state")).to_have_text("Saved · rev 2")

    second.fill("#flow-name", "Saved by the second tab")
    second.keyboard.press("Control+s")
    expect(second.locator("#conflict")).to_be_visible()
    expect(second.locator("#save-state")).to_have_text("Not saved: conflict")
    flow = api_flow(stack, flow_id)
    assert flow["draft_rev"] == 2 and flow["name"] == "Saved by the first tab"  # nothing was overwritten

    second.click("[data-cmd=reload]")
    expect(second.locator("#conflict")).to_be_hidden()
    expect(second.locator("#flow-name")).to_have_value("Saved by the first tab")
    expect(second.locator("#save-state")).to_have_text("Saved · rev 2")


def test_route_ports_keyboard_undo_and_versions(live_stack, browser_context):
    stack, page = live_stack, browser_context.new_page()
    flow_id = create_flow(stack, load_flow("high_value"))
    login(page, stack)
    open_editor(page, stack, flow_id)
    assert node_ids(page) == ["t1", "c1", "a1", "u1"]

    canvas = page.locator("#canvas").bounding_box()
    drag_from_palette(page, "route", canvas["x"] + 120, canvas["y"] + 380)
    page.click("#settings-form button[value='add:cfg.routes:0']")
    page.fill("#settings-form [name='cfg.routes.0.port']", "vip")
    route_ports = ".drawflow-node[data-node-id='r1'] .output"
    expect(page.locator(route_ports)).to_have_count(2)
    assert page.eval_on_selector_all(route_ports, "els => els.map(e => e.dataset.port)") == ["vip", "default"]

    page.mouse.click(*center(page, ".drawflow-node[data-node-id='r1'] .node-head"))
    page.mouse.click(canvas["x"] + canvas["width"] - 40, canvas["y"] + canvas["height"] - 40)  # the background
    page.mouse.click(*center(page, ".drawflow-node[data-node-id='r1'] .node-head"))
    page.keyboard.press("Delete")
    expect(page.locator(".drawflow-node[data-node-id='r1']")).to_have_count(0)
    page.keyboard.press("Control+z")
    expect(page.locator(".drawflow-node[data-node-id='r1']")).to_have_count(1)
    assert page.eval_on_selector_all(route_ports, "els => els.map(e => e.dataset.port)") == ["vip", "default"]
    page.keyboard.press("Control+y")
    expect(page.locator(".drawflow-node[data-node-id='r1']")).to_have_count(0)
    page.click("[data-cmd=fit]")

    page.click("[data-cmd=publish]")
    expect(page.locator("#publish-state")).to_have_text("v1 live")
    page.fill("#flow-name", "Renamed after v1")
    page.keyboard.press("Control+s")
    expect(page.locator("#save-state")).to_contain_text("Saved")
    page.click("[data-tab=versions]")
    expect(page.locator("#versions")).to_contain_text("admin")
    page.click("#versions [data-restore='1']")
    expect(page.locator("#flow-name")).to_have_value("High-value review")
    assert api_flow(stack, flow_id)["name"] == "High-value review"
    page.click("#versions button:has-text('Compare with v1')")
    expect(page.locator("#diff")).to_contain_text("No differences")

    imported = {**load_flow("high_value"), "name": "Imported from a file"}
    page.set_input_files("#import-file", files=[{"name": "flow.json", "mimeType": "application/json",
                                                 "buffer": json.dumps(imported).encode()}])
    expect(page.locator("#flow-name")).to_have_value("Imported from a file")
    assert api_flow(stack, flow_id)["draft"] == imported
    page.set_input_files("#import-file", files=[{"name": "junk.json", "mimeType": "application/json",
                                                 "buffer": b'{"nodes": 3}'}])
    expect(page.locator("#toast")).to_contain_text("Not imported")
    assert api_flow(stack, flow_id)["draft"] == imported

    page.goto(f"{stack.url}/flows/{flow_id}/versions/1")
    page.wait_for_selector("body[data-viewer-ready='1']")
    assert node_ids(page, "#view-canvas .drawflow-node") == ["t1", "c1", "a1", "u1"]


def test_a_wire_is_selected_with_the_mouse_and_deleted_with_the_keyboard(live_stack, browser_context):
    stack, page = live_stack, browser_context.new_page()
    flow_id = create_flow(stack, load_flow("high_value"))
    login(page, stack)
    open_editor(page, stack, flow_id)
    expect(page.locator("#canvas .connection")).to_have_count(3)
    source = page.get_attribute(".drawflow-node[data-node-id='c1']", "id")
    target = page.get_attribute(".drawflow-node[data-node-id='u1']", "id")
    path = f"#canvas .connection.node_out_{source}.node_in_{target} path"
    # a point on the curve itself (the middle of its box may miss the stroke)
    x, y = page.eval_on_selector(path, """p => { const at = p.getPointAtLength(p.getTotalLength() / 2);
        const m = p.getScreenCTM(); return [at.x * m.a + at.y * m.c + m.e, at.x * m.b + at.y * m.d + m.f]; }""")
    page.mouse.click(x, y)
    page.keyboard.press("Delete")
    expect(page.locator("#canvas .connection")).to_have_count(2)
    expect(page.locator("#problem-list")).to_contain_text("node 'u1' cannot be reached from the trigger")
    page.keyboard.press("Control+s")
    expect(page.locator("#save-state")).to_contain_text("Saved")
    assert {"from": "c1", "port": "false", "to": "u1"} not in api_flow(stack, flow_id)["draft"]["edges"]
    page.keyboard.press("Control+z")
    expect(page.locator("#canvas .connection")).to_have_count(3)
    expect(page.locator("#problem-list")).not_to_contain_text("cannot be reached")
