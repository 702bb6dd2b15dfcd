"""The training view in a real browser (headless Chromium at 1920×1080): it loads without
JavaScript errors, the controls and keys move through the frames, the pictures change from
frame to frame, the edges carry the recorded weights, and everything fits the screen with
text of at least 14 px. Skipped, with the reason, where Chromium or Playwright is missing.
"""
from __future__ import annotations

import numpy as np
import pytest
from browser import open_page

import microgradnn as mg
from microgradnn import nn
from microgradnn.nn import functional as F
from microgradnn.viz.watch import read_view

X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
Y = np.array([[0], [1], [1], [0]], dtype=np.float32)

SNAPSHOT = """() => ({
  counter: document.getElementById('counter').textContent,
  net: document.getElementById('net').innerHTML,
  surface: document.getElementById('surface').toDataURL(),
  loss: document.getElementById('losscurve').innerHTML,
  grads: document.getElementById('grads').innerHTML})"""

SMALLEST_TEXT = """() => {
  let small = [];
  for (const e of document.querySelectorAll('text, button, h1, h2, li, span, div, select')) {
    if (!e.textContent.trim() || e.getClientRects().length === 0) continue;
    const px = parseFloat(getComputedStyle(e).fontSize);
    if (px < 14) small.push([e.tagName, e.textContent.slice(0, 30), px]);
  }
  return small; }"""


@pytest.fixture(scope="module")
def xor_page(tmp_path_factory):
    mg.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 1), nn.Sigmoid())
    view = mg.viz.watch(model, inputs=X, targets=Y, max_frames=12, title="XOR")
    opt = mg.optim.SGD(model.parameters(), lr=5.0)
    x, y = mg.tensor(X), mg.tensor(Y)
    for _ in range(120):
        loss = F.mse_loss(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        view.record(loss)
    return view.save(tmp_path_factory.mktemp("watch") / "xor.html")


def test_controls_pictures_and_fit(xor_page, tmp_path):
    frames = read_view(xor_page)["frames"]
    n = len(frames)
    with open_page(xor_page) as page:
        first = page.evaluate(SNAPSHOT)
        assert first["counter"].startswith(f"frame 1 / {n} · step 0")
        edges = page.eval_on_selector_all(
            "#net line.edge", "es => es.map(e => [+e.dataset.l, +e.dataset.j, +e.dataset.k, "
            "+e.dataset.w, +e.getAttribute('stroke-width')])")
        assert len(edges) == 2 * 4 + 4 * 1
        for l, j, k, w, width in edges:        # the page draws the recorded weights
            assert w == pytest.approx(float(frames[0]["weights"][l][j, k]), rel=1e-6)
        big = max(edges, key=lambda e: abs(e[3]))
        small = min(edges, key=lambda e: abs(e[3]))
        assert big[4] > small[4]                 # thickness grows with |w|
        page.screenshot(path=str(tmp_path / "first.png"))

        page.keyboard.press("ArrowRight")
        second = page.evaluate(SNAPSHOT)
        assert second["counter"].startswith(f"frame 2 / {n} · step {frames[1]['step']}")
        for part in ("net", "surface", "loss"):
            assert second[part] != first[part], f"the {part} did not change between frames"

        page.keyboard.press("End")
        last = page.evaluate(SNAPSHOT)
        assert last["counter"].startswith(f"frame {n} / {n} · step 119")
        assert last["surface"] != first["surface"] and last["grads"] != first["grads"]
        page.screenshot(path=str(tmp_path / "last.png"))

        page.keyboard.press("ArrowLeft")
        assert page.inner_text("#counter").startswith(f"frame {n - 1} / {n}")
        page.click("#first")
        assert page.inner_text("#counter").startswith(f"frame 1 / {n}")

        page.keyboard.press(" ")                 # play: frames advance by themselves
        assert page.inner_text("#play") == "pause"
        page.wait_for_function("() => window.mgWatch.current() >= 3")
        page.keyboard.press(" ")
        assert page.inner_text("#play") == "play"
        stopped = page.evaluate("window.mgWatch.current()")
        page.wait_for_timeout(500)
        assert page.evaluate("window.mgWatch.current()") == stopped

        page.fill("#slider", "5")                # the slider jumps to a frame
        page.dispatch_event("#slider", "input")
        assert page.inner_text("#counter").startswith(f"frame 6 / {n}")

        # it fits the screen, with text of at least 14 px
        size = page.evaluate("() => [document.documentElement.scrollWidth, "
                             "document.documentElement.scrollHeight]")
        assert size[0] <= 1920 and size[1] <= 1080, f"page overflows the screen: {size}"
        assert page.evaluate(SMALLEST_TEXT) == []
        radius = page.eval_on_selector("#net circle.ring", "c => +c.getAttribute('r')")
        assert radius >= 30                      # neurons big enough to read their maps


def test_summaries_filters_and_notes_for_a_cnn(tmp_path):
    mg.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 6, 3), nn.ReLU(), nn.Flatten(), nn.Linear(6 * 4 * 4, 3))
    x = mg.randn(9, 1, 6, 6)
    y = mg.tensor(np.arange(9) % 3)
    view = mg.viz.watch(model, inputs=x, targets=y)
    opt = mg.optim.Adam(model.parameters(), lr=0.05)
    for _ in range(6):
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        view.record(loss)
    path = view.save(tmp_path / "cnn.html")
    with open_page(path) as page:
        assert page.locator(".card").count() == 2
        assert page.locator("#filters").count() == 1
        assert "not flat feature vectors" in page.inner_text("#notes")
        before = page.evaluate("document.getElementById('filters').toDataURL()")
        page.keyboard.press("End")
        assert page.evaluate("document.getElementById('filters').toDataURL()") != before
        assert page.evaluate(SMALLEST_TEXT) == []
