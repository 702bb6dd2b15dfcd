"""Make the screenshots of docs/watch.md: the moons playground at three moments.

    python docs/_static/watch/make_screenshots.py

Runs demos/playground.py on the moons, opens its page in headless Chromium at 1920×1080
(tests/browser.py's settings), and saves frames early, midway and at the end as
1200-pixel-wide PNGs with a reduced palette next to this script.
"""
from __future__ import annotations

import importlib.util
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from PIL import Image  # noqa: E402  (matplotlib's dependency)
from playwright.sync_api import sync_playwright  # noqa: E402

from browser import CHROMIUM_ARGS, chromium_path  # noqa: E402

SHOTS = {"early": 5, "middle": 16, "end": -1}     # frame index (-1: the last)


def main() -> None:
    spec = importlib.util.spec_from_file_location("playground", ROOT / "demos" / "playground.py")
    demo = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(demo)
    with tempfile.TemporaryDirectory() as tmp:
        page_path = demo.main(["--data", "moons", "--out", tmp])["moons"]["file"]
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1920, "height": 1080})
            page.goto(page_path.resolve().as_uri())
            for name, frame in SHOTS.items():
                page.evaluate(f"window.mgWatch.show({frame} < 0 ? "
                              f"window.mgWatch.frames.length - 1 : {frame})")
                png = Path(tmp) / f"{name}.png"
                page.screenshot(path=str(png))
                img = Image.open(png).convert("RGB").resize((1200, 675), Image.LANCZOS)
                img.quantize(colors=128).save(HERE / f"moons_{name}.png", optimize=True)
                print(page.inner_text("#counter"), "->", HERE / f"moons_{name}.png")
            browser.close()


if __name__ == "__main__":
    main()
