"""Debian's headless Chromium for the page tests (playwright pointed at /usr/bin/chromium, never a
downloaded browser). Where either is missing the tests are skipped with the reason, except under CI or
with SYMBIOSIS_BROWSER_TESTS=1, where a missing browser fails the run."""
from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
#: flags for a closed network: no background requests, no first-run pages
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]


def browser_or_skip():
    """playwright's sync_playwright, or a skip (a failure under CI) naming what is missing."""
    required = os.environ.get("CI") == "true" or os.environ.get("SYMBIOSIS_BROWSER_TESTS") == "1"
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        if required:
            raise
        pytest.skip("playwright is not installed (pip install -e '.[test]')")
    if not Path(CHROMIUM).exists():
        if required:
            pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium package (apt-get install chromium)")
        pytest.skip(f"{CHROMIUM} is missing: apt-get install chromium to run the browser tests")
    return sync_playwright


def open_page(browser, path: Path):
    """Open a page; record every request, console error, page error and dialog."""
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    seen = {"requests": [], "errors": [], "dialogs": []}
    page.on("request", lambda request: seen["requests"].append(request.url))
    page.on("console", lambda message: seen["errors"].append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: seen["errors"].append(str(error)))
    page.on("dialog", lambda dialog: (seen["dialogs"].append(dialog.message), dialog.dismiss()))
    page.goto(path.as_uri())
    return page, seen


def wait_drawn(frame, seconds: float = 60) -> None:
    """Wait until the map says it is drawn and stable. The page's CSP forbids eval, so poll with evaluate
    (a DevTools call) instead of wait_for_function."""
    deadline = time.monotonic() + seconds
    check = "() => !!(window.symbiosisMap && window.symbiosisMap.drawn && window.symbiosisMap.stabilised)"
    while not frame.evaluate(check):
        assert time.monotonic() < deadline, "the map did not finish drawing"
        time.sleep(0.05)
