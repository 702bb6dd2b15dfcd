"""The backpropagation stepper in a real browser (headless Chromium at 1920×1080).

The XOR network of demos/xor.py, after a plain backward() recorded inside viz.keep():
keys step through the frames; the counter, the highlighted node, the caption, the text
size on screen, zoom and the URL fragment are read back from the page. Screenshots go
to the test's temporary folder (MICROGRADNN_SCREENSHOTS=dir keeps a copy to look at).
"""
import importlib.util
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

import microgradnn as mg
from microgradnn import nn
from microgradnn.viz import backward_steps

from browser import open_page

pytestmark = pytest.mark.skipif(shutil.which("dot") is None,
                                reason="Graphviz's `dot` is needed to render the stepper")

DEMOS = Path(__file__).resolve().parents[1] / "demos"

# the smallest text on screen, in CSS px: font size times the SVG's scale on screen
SMALLEST_TEXT = """() => {
  const texts = [...document.querySelectorAll('.frame.current svg text')]
      .filter(t => t.textContent.trim() && t.getAttribute('fill') !== '#ffffff');
  const sizes = texts.map(t => parseFloat(t.getAttribute('font-size')) * t.getScreenCTM().a);
  return [Math.min(...sizes), texts.length];
}"""


def xor_stepper(tmp_path):
    spec = importlib.util.spec_from_file_location("demo_xor_b", DEMOS / "xor.py")
    xor = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(xor)
    model = xor.build(np.random.default_rng(0))
    x, y = mg.tensor(xor.X), mg.tensor(xor.Y)
    x.name, y.name = "x", "target"
    with mg.viz.keep():
        loss = nn.functional.mse_loss(model(x), y)
    loss.name = "loss"
    model.zero_grad()
    loss.backward()                      # plain: the stepper uses what keep() kept
    steps = backward_steps(loss, model, title="XOR network")
    return steps, steps.save(tmp_path / "xor_steps.html", title="XOR backpropagation")


def shot(page, tmp_path, name):
    path = tmp_path / f"{name}.png"
    page.screenshot(path=str(path))
    keep = os.environ.get("MICROGRADNN_SCREENSHOTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(keep) / path.name)
    return path


def test_stepper_keys_counter_highlight_caption_and_text_size(tmp_path):
    steps, path = xor_stepper(tmp_path)
    n = len(steps)
    with open_page(path) as page:
        counter = page.locator("#counter")
        assert counter.inner_text() == f"1 / {n}"
        assert page.locator("#caption").inner_text().startswith("Forward pass done")
        assert page.locator(".frame.current g.current").count() >= 1   # the loss node
        smallest, count = page.evaluate(SMALLEST_TEXT)
        assert count > 20 and smallest >= 14, f"smallest text {smallest:.1f} px"
        caption_px = page.evaluate(
            "() => parseFloat(getComputedStyle(document.getElementById('caption')).fontSize)")
        assert caption_px >= 14
        shot(page, tmp_path, "stepper_forward")

        page.keyboard.press("ArrowRight")
        assert counter.inner_text() == f"2 / {n}"
        assert page.evaluate("location.hash") == "#2"
        caption = page.locator("#caption").inner_text()
        assert caption.startswith("Backward step 1 of")
        assert "mse_loss" in caption and "∂L/∂loss = 1" in caption
        current = " ".join(page.locator(".frame.current g.node.current").all_text_contents())
        assert "mse_loss" in current

        page.keyboard.press("ArrowRight")
        page.keyboard.press("ArrowRight")
        assert counter.inner_text() == f"4 / {n}"
        caption = page.locator("#caption").inner_text()
        assert "Linear: receives ∂L/∂y, shape (4, 1)" in caption
        assert "∂L/∂2.weight = Σ gᵀ x" in caption
        current = page.locator(".frame.current g.node.current").all_text_contents()
        assert any(t.split() and t.split()[1] == "Linear" for t in current), current
        smallest, _ = page.evaluate(SMALLEST_TEXT)
        assert smallest >= 14, f"smallest text {smallest:.1f} px at step 3"
        shot(page, tmp_path, "stepper_step3")

        page.keyboard.press("ArrowLeft")
        assert counter.inner_text() == f"3 / {n}"
        page.keyboard.press("End")
        assert counter.inner_text() == f"{n} / {n}"
        assert page.evaluate("location.hash") == f"#{n}"
        page.keyboard.press("Home")
        assert counter.inner_text() == f"1 / {n}"


def test_fragment_moves_the_stepper_and_zoom_keeps_the_current_node_in_view(tmp_path):
    steps, path = xor_stepper(tmp_path)
    n = len(steps)
    with open_page(path) as page:
        page.evaluate("location.hash = '#5'")
        page.wait_for_function("document.getElementById('counter').textContent.startsWith('5 ')")
        assert page.locator("#caption").inner_text().startswith("Backward step 4 of")
        fit = page.evaluate("document.querySelector('.frame.current svg')"
                            ".getBoundingClientRect().width")
        for _ in range(3):
            page.keyboard.press("+")
        zoomed = page.evaluate("document.querySelector('.frame.current svg')"
                               ".getBoundingClientRect().width")
        assert zoomed > 1.5 * fit
        inside = page.evaluate("""() => {
          const s = document.getElementById('stage').getBoundingClientRect();
          const r = document.querySelector('.frame.current g.node.current')
              .getBoundingClientRect();
          return r.left >= s.left - 1 && r.right <= s.right + 1 &&
                 r.top >= s.top - 1 && r.bottom <= s.bottom + 1;
        }""")
        assert inside, "the current node is scrolled into view"
        shot(page, tmp_path, "stepper_zoomed")
        page.keyboard.press("0")
        back = page.evaluate("document.querySelector('.frame.current svg')"
                             ".getBoundingClientRect().width")
        assert back == pytest.approx(fit, abs=1)
        page.keyboard.press("ArrowRight")
        assert page.evaluate("location.hash") == "#6"
    # a link to one step opens there
    with open_page(path) as page:
        page.goto(path.resolve().as_uri() + f"#{n}")
        assert page.locator("#counter").inner_text() == f"{n} / {n}"
