"""The lecture's exercise: predict a linear feedback shift register (LFSR) with an LSTM.

An LFSR is itself a recurrent system: a register of n bits shifts by one at each step and
the new bit is the XOR of two tapped bits, here x[t] = x[t-n] ⊕ x[t-k] with n = 10, k = 7
(polynomial x¹⁰ + x⁷ + 1: the sequence repeats only after 2¹⁰ − 1 = 1023 bits). An LSTM
(``nn.LSTM``, ``batch_first``) reads a window of the last n bits and predicts the next
one; it is trained on the first 400 bits only, then

- scored on the next 400 bits, whose windows it never saw (every window of n bits occurs
  once per period, so none of them repeat the training windows), and
- run on its own: seeded with the last training window it generates the continuation
  bit by bit, feeding each prediction back in, and the demo compares it with the true
  sequence.

Finally the trained weights are copied into an ``nn.LSTMCell`` that is unrolled over the
window in a Python loop (the same numbers as ``nn.LSTM``: the demo prints the difference),
and that unrolled graph is drawn folded, ``draw_graph(..., collapse="modules", fold=True)``:
the repeated time steps appear once, marked ×N, with the state fed back into them
(demos/out/lstm_lfsr.svg).

    python demos/lstm_sequence.py
    python demos/lstm_sequence.py --bits 7 --steps 300 --no-draw
    python demos/lstm_sequence.py --watch      # also lstm_training.html: watch it learn
"""
from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout
sys.path.insert(0, str(Path(__file__).resolve().parent))  # the demos' _figures.py

import microgradnn as mg  # noqa: E402
from microgradnn import nn  # noqa: E402
from microgradnn.nn import functional as F  # noqa: E402

OUT = Path(__file__).resolve().parent / "out"
# register length n -> second tap k of a maximal-length trinomial x^n + x^k + 1
TAPS = {4: 3, 5: 3, 6: 5, 7: 6, 9: 5, 10: 7, 11: 9, 15: 14}


def lfsr(n: int, k: int, length: int, state: int = 1) -> np.ndarray:
    """``length`` output bits of the Fibonacci LFSR x^n + x^k + 1 started from ``state``:
    each step outputs the lowest bit, shifts right and feeds in the XOR of two taps, so
    x[t] = x[t-n] ⊕ x[t-k]."""
    bits = np.empty(length, dtype=np.int64)
    for t in range(length):
        bits[t] = state & 1
        feedback = (state ^ (state >> (n - k))) & 1
        state = (state >> 1) | (feedback << (n - 1))
    return bits


def period(bits: np.ndarray, n: int) -> int:
    """The first p with the n-bit window at p equal to the first window (0 if none)."""
    for p in range(1, len(bits) - n + 1):
        if np.array_equal(bits[p:p + n], bits[:n]):
            return p
    return 0


def windows(bits: np.ndarray, w: int) -> tuple[np.ndarray, np.ndarray]:
    """Inputs (N, w, 1) as ±1 (centred inputs train faster) and next-bit targets (N,)."""
    index = np.arange(len(bits) - w)[:, None] + np.arange(w)
    return (2.0 * bits[index] - 1.0).astype(np.float32)[..., None], \
        bits[w:].astype(np.float32)


class NextBit(nn.Module):
    """LSTM over the window, a linear read-out of the last hidden state: one logit."""

    def __init__(self, hidden_size: int = 16) -> None:
        super().__init__()
        self.lstm = nn.LSTM(1, hidden_size, batch_first=True)
        self.head = nn.Linear(hidden_size, 1)

    def forward(self, x):                  # x: (batch, window, 1)
        out, _ = self.lstm(x)              # (batch, window, hidden)
        return self.head(out[:, -1])[:, 0]


def train(model: NextBit, x: np.ndarray, y: np.ndarray, steps: int, lr: float,
          log_every: int = 100, view=None) -> list[float]:
    """Full-batch Adam on the binary cross-entropy of the logits (``view``: an
    ``mg.viz.watch`` recorder given every step's loss)."""
    opt = mg.optim.Adam(model.parameters(), lr=lr)
    xt, yt = mg.tensor(x), mg.tensor(y)
    losses = []
    for step in range(steps):
        loss = F.binary_cross_entropy_with_logits(model(xt), yt)
        opt.zero_grad()
        loss.backward()                   # backpropagation through time
        opt.step()
        losses.append(loss.item())
        if view is not None:
            view.record(loss)
        if step % log_every == 0 or step == steps - 1:
            print(f"step {step:4d}  loss {loss.item():.4f}  training accuracy "
                  f"{(predict(model, x) == y).mean():.4f}")
    return losses


def predict(model: NextBit, x: np.ndarray) -> np.ndarray:
    with mg.no_grad():
        return (model(mg.tensor(x)).data > 0).astype(np.float32)


def generate(model: NextBit, seed_bits: np.ndarray, length: int) -> np.ndarray:
    """Run free: predict a bit, append it to the window, repeat."""
    window = list(seed_bits)
    out = []
    for _ in range(length):
        x = (2.0 * np.array(window, dtype=np.float32) - 1.0)[None, :, None]
        bit = int(predict(model, x)[0])
        out.append(bit)
        window = window[1:] + [bit]
    return np.array(out)


def bit_string(bits, width: int = 80) -> str:
    return "".join(str(int(b)) for b in bits[:width])


def unrolled_cell(model: NextBit, x: np.ndarray, y: np.ndarray):
    """The trained LSTM as an LSTMCell called once per time step; returns the loss of
    that unrolled network (backward done), the module names, and max |difference| of the
    logits from nn.LSTM's."""
    lstm = model.lstm
    cell = nn.LSTMCell(1, lstm.hidden_size)
    with mg.no_grad():
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(cell, name).data[...] = getattr(lstm, name + "_l0").data
    state = None
    xt = mg.tensor(x)
    target = mg.tensor(y)
    target.name = "next bits"
    with mg.viz.keep():                     # values and gradients stay for the picture
        for t in range(x.shape[1]):
            state = cell(xt[:, t], state)   # (h, c) carried to the next step
        logits = model.head(state[0])[:, 0]
        loss = F.binary_cross_entropy_with_logits(logits, target)
    loss.name = "loss"
    model.head.zero_grad()   # the picture shows this pass's gradients, not training's sum
    loss.backward()
    with mg.no_grad():
        diff = float(np.abs(logits.data - model(xt).data).max())
    return loss, nn.ModuleDict({"cell": cell, "head": model.head}), diff


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bits", type=int, default=10, choices=sorted(TAPS),
                    help="register length n (the window is n bits)")
    ap.add_argument("--train", type=int, default=400, help="bits to train on")
    ap.add_argument("--test", type=int, default=400, help="bits of continuation to check")
    ap.add_argument("--steps", type=int, default=500, help="Adam steps (full batch)")
    ap.add_argument("--hidden", type=int, default=16, help="LSTM hidden size")
    ap.add_argument("--lr", type=float, default=0.01)
    ap.add_argument("--no-draw", action="store_true", help="skip the folded graph picture")
    ap.add_argument("--watch", action="store_true",
                    help="record the training as a page, lstm_training.html in --out")
    ap.add_argument("--out", type=Path, default=OUT, help="folder for lstm_lfsr.svg")
    args = ap.parse_args(argv)
    mg.manual_seed(0)   # the LSTM's initial weights (the LFSR itself is deterministic)

    n, k = args.bits, TAPS[args.bits]
    bits = lfsr(n, k, max(args.train + args.test, 2 ** n + n))
    p = period(bits, n)
    print(f"LFSR x^{n} + x^{k} + 1: x[t] = x[t-{n}] xor x[t-{k}], period {p} "
          f"(= 2^{n} - 1: {p == 2 ** n - 1})")
    print(f"first bits: {bit_string(bits, 60)}...")
    if args.train + args.test - n > p:
        print(f"(note: {args.train} + {args.test} bits exceed one period: the test "
              "windows repeat training windows)")

    w = n
    xtr, ytr = windows(bits[:args.train], w)
    xte, yte = windows(bits[args.train - w:args.train + args.test], w)
    print(f"training windows: {len(ytr)} (bits 0..{args.train - 1}); test windows: "
          f"{len(yte)} (the next {args.test} bits)\n")

    model = NextBit(args.hidden)
    print(nn.summary(model, (1, w, 1)))
    print()
    view = mg.viz.watch(model, inputs=xtr, targets=ytr, title=f"LSTM predicting the LFSR "
                        f"x^{n} + x^{k} + 1") if args.watch else None
    losses = train(model, xtr, ytr, args.steps, args.lr, view=view)

    test_acc = float((predict(model, xte) == yte).mean())
    print(f"\nnext-bit accuracy on the {args.test} bits it never saw: {test_acc:.4f}")
    generated = generate(model, bits[args.train - w:args.train], args.test)
    truth = bits[args.train:args.train + args.test]
    gen_acc = float((generated == truth).mean())
    first_miss = int(np.argmax(generated != truth)) if gen_acc < 1 else None
    print(f"running free from the last training window, {args.test} bits generated: "
          f"{gen_acc:.4f} match the LFSR"
          + ("" if first_miss is None else f" (first mistake at bit {first_miss})"))
    print(f"  LFSR      {bit_string(truth)}")
    print(f"  LSTM      {bit_string(generated)}")
    print("  mistakes  " + "".join("^" if a != b else " " for a, b in
                                   zip(truth[:80], generated[:80])))

    result = {"period": p, "test_accuracy": test_acc, "generated_accuracy": gen_acc,
              "files": []}
    import _figures
    args.out.mkdir(parents=True, exist_ok=True)
    if view is not None:
        result["watch"] = view.save(args.out / "lstm_training.html")
        print(f"wrote {result['watch']}: the training, step by step")
    if not args.no_draw:
        from microgradnn.viz import draw_graph
        with mg.viz.keep():  # the picture reads the recorded graph's values
            loss, names, diff = unrolled_cell(model, xte[:4], yte[:4])
        print(f"\nnn.LSTM == LSTMCell unrolled over {w} steps: max |difference| {diff:.1e}")
        picture = draw_graph(loss, names, collapse="modules", fold=True,
                             title=f"LSTMCell unrolled over {w} time steps, folded "
                                   "(×N = N repeated calls)")
        if shutil.which("dot"):
            picture.render(args.out / "lstm_lfsr", format="svg", cleanup=True)
            path = args.out / "lstm_lfsr.svg"
            print(f"wrote {path}")
        else:
            path = args.out / "lstm_lfsr.dot"
            path.write_text(picture.source, encoding="utf-8")
            _figures.have_dot(f"lstm_lfsr.svg (wrote the DOT text {path})")
        result["files"].append(path)
        result["unrolled_difference"] = diff
    curve = _figures.loss_curve(losses, args.out / "lstm_loss.png",
                                "LSTM on the LFSR: binary cross-entropy per Adam step")
    if curve:
        result["files"].append(curve)
    return result


if __name__ == "__main__":
    main()
