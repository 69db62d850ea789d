"""Chromium (Debian's /usr/bin/chromium) driven by Playwright's sync API, against a live stack."""

from __future__ import annotations

import pytest
from playwright.sync_api import sync_playwright

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
VIEWPORT = {"width": 1280, "height": 800}


@pytest.fixture(scope="session")
def chromium():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def browser_context(chromium):
    context = chromium.new_context(viewport=VIEWPORT)
    context.set_default_timeout(10_000)
    yield context
    context.close()


def login(page, stack, name: str = "admin", password: str = "admin-pw") -> None:
    page.goto(stack.url + "/login")
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", password)
    page.click("form button")
    page.wait_for_url("**/flows")


def open_editor(page, stack, flow_id: int) -> None:
    page.goto(f"{stack.url}/flows/{flow_id}/edit")
    page.wait_for_selector("body[data-editor-ready='1']")


def center(page, selector: str) -> tuple[float, float]:
    # A node's content is redrawn when its settings come back from the server; an element found
    # just before that has no box any more, so look it up again.
    for _ in range(40):
        box = page.locator(selector).bounding_box()
        if box is not None:
            return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        page.wait_for_timeout(50)
    raise AssertionError(f"{selector} is not on the page")


def drag_from_palette(page, node_type: str, x: float, y: float) -> None:
    """A real mouse drag: press on the palette item, move in steps, release over the canvas."""
    page.fill("#palette-search", node_type.split(".")[-1])
    item = page.locator(f".palette-item[data-type='{node_type}']")
    item.scroll_into_view_if_needed()
    page.mouse.move(*center(page, f".palette-item[data-type='{node_type}']"))
    page.mouse.down()
    page.mouse.move(x, y, steps=10)
    page.mouse.up()
    page.fill("#palette-search", "")


def wire(page, source: str, port: str, target: str) -> None:
    page.mouse.move(*center(page, f".drawflow-node[data-node-id='{source}'] .output[data-port='{port}']"))
    page.mouse.down()
    page.mouse.move(*center(page, f".drawflow-node[data-node-id='{target}'] .input"), steps=10)
    page.mouse.up()


def select_node(page, node_id: str) -> None:
    page.mouse.click(*center(page, f".drawflow-node[data-node-id='{node_id}'] .node-head"))
    page.wait_for_selector(f"#settings-form[data-node-id='{node_id}']")


def node_ids(page, selector: str = ".drawflow-node") -> list[str]:
    return page.eval_on_selector_all(selector, "els => els.map(e => e.dataset.nodeId)")
