"""A real browser for the tests of our HTML pages (the stepper, the training view).

``page = open_page(path)`` loads a local HTML file in headless Chromium through Playwright
and returns Playwright's ``Page``; tests then press keys, read the DOM and take screenshots.
When Chromium or Playwright is missing, ``open_page`` skips the test and says which, so a
machine without a browser reports the skip instead of passing silently.

Chromium is Debian's ``chromium`` package (scripts/test installs it where it can);
Playwright drives it through ``executable_path``, so no browser download is needed.
"""
from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path

import pytest

# Flags for a closed network: without the background-networking ones Chromium keeps trying
# to reach its update and sync services.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


def chromium_path() -> str | None:
    """The Chromium executable: $MICROGRADNN_CHROMIUM, else chromium on PATH."""
    return os.environ.get("MICROGRADNN_CHROMIUM") or shutil.which("chromium") \
        or shutil.which("chromium-browser")


@contextlib.contextmanager
def open_page(path, width: int = 1920, height: int = 1080):
    """Yield a Playwright page showing the local file ``path`` at ``width`` x ``height``.

    Skips (with the reason) when Playwright or Chromium is not installed. The page's
    JavaScript errors are collected; leaving the block fails the test if there were any.
    """
    sync_api = pytest.importorskip("playwright.sync_api",
                                   reason="playwright is not installed (the test extra has it)")
    exe = chromium_path()
    if exe is None:
        pytest.skip("Chromium not found: install Debian's 'chromium' package "
                    "(scripts/test does where it can) or set MICROGRADNN_CHROMIUM")
    url = Path(path).resolve().as_uri()
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=exe, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(url)
            yield page
            assert not errors, f"JavaScript errors on {path}: {errors}"
        finally:
            browser.close()
