"""Recurrent cells and layers: values against a NumPy transcription of the equations,
first- and second-order gradients against finite differences, PyTorch's names, shapes and
initialisation, errors, dropout; and against PyTorch itself when it is installed."""
import numpy as np
import pytest
from hypothesis import assume, given, settings, strategies as hst

import microgradnn as mg
from microgradnn import autograd, nn
from microgradnn.nn import functional as F
from microgradnn.testing import gradcheck, gradgradcheck

GATES = {"rnn_tanh": 1, "rnn_relu": 1, "lstm": 4, "gru": 3}
CELL_FN = {"rnn_tanh": F.rnn_tanh_cell, "rnn_relu": F.rnn_relu_cell, "lstm": F.lstm_cell,
           "gru": F.gru_cell}


# ---------------------------------------------------------------------------- NumPy reference
def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def ref_cell(kind, x, h, c, w_ih, w_hh, b_ih, b_hh):
    """The textbook equations, one step, in NumPy. Returns h' (and c' for the LSTM)."""
    b_ih = 0 if b_ih is None else b_ih
    b_hh = 0 if b_hh is None else b_hh
    gi = x @ w_ih.T + b_ih
    gh = h @ w_hh.T + b_hh
    if kind == "rnn_tanh":
        return np.tanh(gi + gh)
    if kind == "rnn_relu":
        return np.maximum(gi + gh, 0)
    if kind == "lstm":
        i, f, g, o = np.split(gi + gh, 4, axis=-1)
        c_new = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
        return sigmoid(o) * np.tanh(c_new), c_new
    r_i, z_i, n_i = np.split(gi, 3, axis=-1)
    r_h, z_h, n_h = np.split(gh, 3, axis=-1)
    r, z = sigmoid(r_i + r_h), sigmoid(z_i + z_h)
    n = np.tanh(n_i + r * n_h)
    return (1 - z) * n + z * h


def ref_sequence(kind, x, h0, c0, layers):
    """Stacked layers over x (seq, batch, in); ``layers`` = [(w_ih, w_hh, b_ih, b_hh), ...]."""
    out, h_n, c_n = x, [], []
    for k, params in enumerate(layers):
        h, c = h0[k], (c0[k] if c0 is not None else None)
        steps = []
        for t in range(out.shape[0]):
            if kind == "lstm":
                h, c = ref_cell(kind, out[t], h, c, *params)
            else:
                h = ref_cell(kind, out[t], h, None, *params)
            steps.append(h)
        out = np.stack(steps)
        h_n.append(h)
        c_n.append(c)
    return out, np.stack(h_n), (np.stack(c_n) if kind == "lstm" else None)


# ---------------------------------------------------------------------------- drawing cases
def leaf(a):
    return mg.tensor(np.asarray(a, dtype=np.float64), requires_grad=True)


@hst.composite
def cell_cases(draw, kinds=tuple(GATES)):
    """A cell kind, sizes (input ≤ 3, hidden ≤ 3, batch ≤ 2 or unbatched) and float64 values."""
    kind = draw(hst.sampled_from(kinds))
    n_in, hidden = draw(hst.integers(1, 3)), draw(hst.integers(1, 3))
    batch = draw(hst.sampled_from([None, 1, 2]))
    bias = draw(hst.booleans())
    seed = draw(hst.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    lead = () if batch is None else (batch,)
    g = GATES[kind] * hidden
    arrays = dict(x=rng.uniform(-1.5, 1.5, lead + (n_in,)),
                  h=rng.uniform(-1, 1, lead + (hidden,)), c=rng.uniform(-1, 1, lead + (hidden,)),
                  w_ih=rng.uniform(-1, 1, (g, n_in)), w_hh=rng.uniform(-1, 1, (g, hidden)),
                  b_ih=rng.uniform(-1, 1, g) if bias else None,
                  b_hh=rng.uniform(-1, 1, g) if bias else None)
    if kind == "rnn_relu":  # finite differences need the pre-activations away from the kink
        pre = arrays["x"] @ arrays["w_ih"].T + arrays["h"] @ arrays["w_hh"].T
        if bias:
            pre = pre + arrays["b_ih"] + arrays["b_hh"]
        assume(np.abs(pre).min() > 1e-2)
    return kind, arrays


def cell_fn(kind, bias):
    """fn(x, h, c, w_ih, w_hh[, b_ih, b_hh]) -> tuple of outputs, for gradcheck."""
    def fn(x, h, c, w_ih, w_hh, b_ih=None, b_hh=None):
        if kind == "lstm":
            return F.lstm_cell(x, (h, c), w_ih, w_hh, b_ih, b_hh)
        return CELL_FN[kind](x, h, w_ih, w_hh, b_ih, b_hh)
    return fn


def cell_inputs(kind, arrays):
    names = ["x", "h", "c", "w_ih", "w_hh"] + (["b_ih", "b_hh"] if arrays["b_ih"] is not None
                                                 else [])
    ts = [leaf(arrays[n]) for n in names]
    if kind != "lstm":
        ts[2].requires_grad = False  # no cell state outside the LSTM
    return ts


# ---------------------------------------------------------------------------- cells: values
@given(cell_cases())
def test_cell_matches_numpy_equations(case):
    kind, a = case
    out = cell_fn(kind, a["b_ih"] is not None)(*cell_inputs(kind, a))
    ref = ref_cell(kind, a["x"], a["h"], a["c"], a["w_ih"], a["w_hh"], a["b_ih"], a["b_hh"])
    outs = out if isinstance(out, tuple) else (out,)
    refs = ref if isinstance(ref, tuple) else (ref,)
    for o, r in zip(outs, refs):
        assert o.shape == r.shape
        np.testing.assert_allclose(o.data, r, rtol=1e-12, atol=1e-12)


@given(cell_cases())
def test_cell_gradcheck(case):
    kind, a = case
    assert gradcheck(cell_fn(kind, a["b_ih"] is not None), cell_inputs(kind, a))


@settings(max_examples=8)
@given(cell_cases())
def test_cell_gradgradcheck(case):
    kind, a = case
    assert gradgradcheck(cell_fn(kind, a["b_ih"] is not None), cell_inputs(kind, a))


@given(cell_cases(kinds=("lstm",)))
def test_lstm_plain_and_recorded_backward_agree(case):
    """The fused step's backward runs on arrays (plain) and on Tensors (create_graph)."""
    _, a = case
    xs = cell_inputs("lstm", a)
    h, c = cell_fn("lstm", True)(*xs)
    seed = [np.cos(np.arange(h.numel())).reshape(h.shape), np.sin(np.arange(c.numel())).reshape(c.shape)]
    plain = autograd.grad([h, c], xs, seed, retain_graph=True)
    recorded = autograd.grad([h, c], xs, seed, create_graph=True)
    for p, r in zip(plain, recorded):
        np.testing.assert_allclose(p.data, r.data, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("kind", list(GATES))
def test_hidden_state_defaults_to_zeros(kind):
    rng = np.random.default_rng(0)
    g = GATES[kind] * 3
    x, w_ih, w_hh = (mg.tensor(rng.standard_normal(s)) for s in [(2, 4), (g, 4), (g, 3)])
    zeros = mg.zeros((2, 3))
    if kind == "lstm":
        got, want = F.lstm_cell(x, None, w_ih, w_hh), F.lstm_cell(x, (zeros, zeros), w_ih, w_hh)
    else:
        got, want = CELL_FN[kind](x, None, w_ih, w_hh), CELL_FN[kind](x, zeros, w_ih, w_hh)
    for a, b in zip(got if kind == "lstm" else [got], want if kind == "lstm" else [want]):
        np.testing.assert_array_equal(a.data, b.data)


# ---------------------------------------------------------------------------- unrolled LSTM cells
@hst.composite
def unrolled_cases(draw):
    n_in, hidden = draw(hst.integers(1, 3)), draw(hst.integers(1, 3))
    batch, seq = draw(hst.integers(1, 2)), draw(hst.integers(1, 4))
    rng = np.random.default_rng(draw(hst.integers(0, 2**32 - 1)))
    return (rng.uniform(-1.5, 1.5, (seq, batch, n_in)), rng.uniform(-1, 1, (batch, hidden)),
            rng.uniform(-1, 1, (batch, hidden)))


@given(unrolled_cases())
def test_unrolled_lstm_cell_gradients_through_every_h(case):
    """Each step hands its packed state to the next; gradients must also reach the h and c
    the user keeps from every step."""
    x, h0, c0 = case
    cell = nn.LSTMCell(x.shape[2], h0.shape[1], dtype=mg.float64)

    def unroll(x, h, c, *params):
        hs, state = [], (h, c)
        for t in range(x.shape[0]):
            state = cell(x[t], state)
            hs.append(state[0])
        return mg.stack(hs), state[1]

    assert gradcheck(unroll, [leaf(x), leaf(h0), leaf(c0)] + list(cell.parameters()))


@settings(max_examples=5)
@given(unrolled_cases())
def test_unrolled_lstm_cell_second_order(case):
    x, h0, c0 = case
    cell = nn.LSTMCell(x.shape[2], h0.shape[1], dtype=mg.float64)

    def unroll(x, h, c, *params):
        state = (h, c)
        for t in range(x.shape[0]):
            state = cell(x[t], state)
        return state

    assert gradgradcheck(unroll, [leaf(x), leaf(h0), leaf(c0)] + list(cell.parameters()))


def test_lstm_cell_mixing_states_of_different_steps():
    """(h, c) from two different steps cannot be passed on packed; still exact."""
    rng = np.random.default_rng(1)
    cell = nn.LSTMCell(2, 3, dtype=mg.float64)
    x = leaf(rng.standard_normal((3, 2, 2)))

    def fn(x, *params):
        s1 = cell(x[0])
        s2 = cell(x[1], s1)
        return cell(x[2], (s2[0], s1[1]))

    assert gradcheck(fn, [x] + list(cell.parameters()))


def test_lstm_cell_under_no_grad():
    cell = nn.LSTMCell(2, 3)
    with mg.no_grad():
        state = None
        for _ in range(3):
            state = cell(mg.ones((4, 2)), state)
    assert not state[0].requires_grad and state[0].shape == (4, 3)


# ---------------------------------------------------------------------------- modules
CELLS = {"rnn_tanh": nn.RNNCell, "rnn_relu": lambda *a, **k: nn.RNNCell(
    *a, nonlinearity="relu", **k), "lstm": nn.LSTMCell, "gru": nn.GRUCell}
SEQUENCE = {"rnn_tanh": nn.RNN, "rnn_relu": lambda *a, **k: nn.RNN(*a, nonlinearity="relu", **k),
            "lstm": nn.LSTM, "gru": nn.GRU}


@pytest.mark.parametrize("kind", list(GATES))
@pytest.mark.parametrize("bias", [True, False])
def test_cell_parameters_names_shapes_and_init(kind, bias):
    mg.manual_seed(0)
    cell = CELLS[kind](5, 4, bias=bias)
    g = GATES[kind] * 4
    want = {"weight_ih": (g, 5), "weight_hh": (g, 4)}
    if bias:
        want.update(bias_ih=(g,), bias_hh=(g,))
    assert {k: v.shape for k, v in cell.state_dict().items()} == want
    assert list(cell.state_dict()) == list(want)
    for p in cell.parameters():
        assert p.dtype == mg.float32 and p.requires_grad
        assert np.abs(p.data).max() <= 0.5  # U(-1/sqrt(4), 1/sqrt(4))
    values = np.concatenate([p.data.ravel() for p in cell.parameters()])
    assert 0.2 < values.std() < 0.37        # spread over it: the std of U(-a, a) is a/sqrt(3)
    mg.manual_seed(0)
    again = CELLS[kind](5, 4, bias=bias)
    for a, b in zip(cell.parameters(), again.parameters()):
        np.testing.assert_array_equal(a.data, b.data)


@pytest.mark.parametrize("kind", list(GATES))
def test_sequence_parameter_names(kind):
    m = SEQUENCE[kind](3, 4, num_layers=2)
    g = GATES[kind] * 4
    assert {k: v.shape for k, v in m.state_dict().items()} == {
        "weight_ih_l0": (g, 3), "weight_hh_l0": (g, 4), "bias_ih_l0": (g,), "bias_hh_l0": (g,),
        "weight_ih_l1": (g, 4), "weight_hh_l1": (g, 4), "bias_ih_l1": (g,), "bias_hh_l1": (g,)}
    assert list(SEQUENCE[kind](3, 4, bias=False).state_dict()) == ["weight_ih_l0", "weight_hh_l0"]


@hst.composite
def sequence_cases(draw, kinds=tuple(GATES)):
    kind = draw(hst.sampled_from(kinds))
    n_in, hidden = draw(hst.integers(1, 3)), draw(hst.integers(1, 3))
    batch, seq = draw(hst.sampled_from([None, 1, 2])), draw(hst.integers(1, 4))
    layers, batch_first = draw(hst.integers(1, 2)), draw(hst.booleans())
    bias, with_state = draw(hst.booleans()), draw(hst.booleans())
    rng = np.random.default_rng(draw(hst.integers(0, 2**32 - 1)))
    m = SEQUENCE[kind](n_in, hidden, num_layers=layers, bias=bias, batch_first=batch_first,
                       dtype=mg.float64)
    for p in m.parameters():  # wider than the default init, so the test is not near-linear
        p.data = rng.uniform(-1, 1, p.shape)
    b = 1 if batch is None else batch
    x = rng.uniform(-1.5, 1.5, (seq, b, n_in))
    h0 = rng.uniform(-1, 1, (layers, b, hidden)) if with_state else np.zeros((layers, b, hidden))
    c0 = rng.uniform(-1, 1, (layers, b, hidden)) if with_state else np.zeros((layers, b, hidden))
    if kind == "rnn_relu":
        assume(_relu_pre_activations_clear(m, x, h0))
    return kind, m, x, h0, c0, batch is None, with_state


def _relu_pre_activations_clear(m, x, h0, margin=1e-2):
    out = x
    for k in range(m.num_layers):
        w_ih, w_hh, b_ih, b_hh = (None if p is None else p.data for p in m._layer_params(k))
        h, steps = h0[k], []
        for t in range(out.shape[0]):
            pre = out[t] @ w_ih.T + h @ w_hh.T + (0 if b_ih is None else b_ih + b_hh)
            if np.abs(pre).min() <= margin:
                return False
            h = np.maximum(pre, 0)
            steps.append(h)
        out = np.stack(steps)
    return True


def _layout(x, h0, c0, unbatched, batch_first):
    """Arrays as the module takes them: (seq, batch, in) -> batch_first / unbatched."""
    if unbatched:
        return x[:, 0], h0[:, 0], c0[:, 0]
    return (x.transpose(1, 0, 2) if batch_first else x), h0, c0


def _run(kind, m, x, h0, c0, with_state):
    if kind == "lstm":
        out, (h_n, c_n) = m(x, (h0, c0) if with_state else None)
        return out, h_n, c_n
    out, h_n = m(x, h0 if with_state else None)
    return out, h_n


@given(sequence_cases())
def test_sequence_matches_numpy_equations(case):
    kind, m, x, h0, c0, unbatched, with_state = case
    layers = [tuple(None if p is None else p.data for p in m._layer_params(k))
              for k in range(m.num_layers)]
    want_out, want_h, want_c = ref_sequence(kind, x, h0, c0 if kind == "lstm" else None, layers)
    xi, hi, ci = _layout(x, h0, c0, unbatched, m.batch_first)
    got = _run(kind, m, mg.tensor(xi), mg.tensor(hi), mg.tensor(ci), with_state)
    want_out, want_h, want_c = _layout(want_out, want_h, want_c if kind == "lstm" else want_h,
                                       unbatched, m.batch_first)
    wants = [want_out, want_h] + ([want_c] if kind == "lstm" else [])
    for g, w in zip(got, wants):
        assert g.shape == w.shape
        np.testing.assert_allclose(g.data, w, rtol=1e-12, atol=1e-12)


@settings(max_examples=10)
@given(sequence_cases())
def test_sequence_gradcheck(case):
    """First order w.r.t. the input, the initial states and every parameter."""
    kind, m, x, h0, c0, unbatched, with_state = case
    xi, hi, ci = _layout(x, h0, c0, unbatched, m.batch_first)
    states = [leaf(hi)] + ([leaf(ci)] if kind == "lstm" else [])
    if not with_state:
        for s in states:
            s.requires_grad = False

    def fn(x, *rest):
        return _run(kind, m, x, rest[0], rest[1] if kind == "lstm" else None, with_state)

    assert gradcheck(fn, [leaf(xi)] + states + list(m.parameters()))


def test_dropout_between_layers():
    mg.manual_seed(0)
    m = nn.LSTM(3, 4, num_layers=2, dropout=0.5, dtype=mg.float64)
    x = mg.tensor(np.random.default_rng(0).standard_normal((5, 2, 3)))
    a, b = m(x)[0], m(x)[0]
    assert not np.allclose(a.data, b.data)  # fresh masks each call in training mode
    m.eval()
    e1, e2 = m(x)[0], m(x)[0]
    np.testing.assert_array_equal(e1.data, e2.data)
    plain = nn.LSTM(3, 4, num_layers=2, dtype=mg.float64)
    plain.load_state_dict(m.state_dict())
    np.testing.assert_allclose(plain(x)[0].data, e1.data)
    # dropout=1 in training: the second layer sees only zeros, whatever the input
    m1 = nn.RNN(3, 4, num_layers=2, dropout=1.0, dtype=mg.float64)
    np.testing.assert_allclose(m1(x)[0].data, m1(x * 2)[0].data)
    with pytest.warns(UserWarning, match="num_layers=1"):
        nn.GRU(3, 4, dropout=0.2)


def test_lstm_packed_sequence_gradient_flows_to_every_parameter():
    m = nn.LSTM(3, 4, num_layers=2, batch_first=True)
    out, (h, c) = m(mg.ones((2, 5, 3)))
    (out.sum() + c.sum()).backward()
    for name, p in m.named_parameters():
        assert p.grad is not None and p.grad.shape == p.shape, name
        assert p.grad.dtype == np.float32


def test_float32_stays_float32():
    cell = nn.LSTMCell(3, 4)
    h, c = cell(mg.ones((2, 3)))
    assert h.dtype == c.dtype == np.float32
    assert nn.GRU(3, 4)(mg.ones((5, 2, 3)))[0].dtype == np.float32


def test_repr():
    assert repr(nn.LSTMCell(16, 64)) == "LSTMCell(16, 64)"
    assert repr(nn.RNNCell(3, 4, bias=False, nonlinearity="relu")) == \
        "RNNCell(3, 4, bias=False, nonlinearity=relu)"
    assert repr(nn.LSTM(3, 4, num_layers=2, batch_first=True, dropout=0.5)) == \
        "LSTM(3, 4, num_layers=2, batch_first=True, dropout=0.5)"


# ---------------------------------------------------------------------------- errors
def test_errors_name_the_operation_and_shapes():
    cell = nn.LSTMCell(16, 64)
    with pytest.raises(ValueError, match=r"lstm_cell: input must be \(batch, 16\).*got \(4, 8\)"):
        cell(mg.zeros((4, 8)))
    with pytest.raises(ValueError, match=r"lstm_cell: c must be \(4, 64\).*got \(4, 32\)"):
        cell(mg.zeros((4, 16)), (mg.zeros((4, 64)), mg.zeros((4, 32))))
    with pytest.raises(ValueError, match=r"gru_cell: hx must be \(5,\).*got \(1, 5\)"):
        nn.GRUCell(3, 5)(mg.zeros(3), mg.zeros((1, 5)))
    with pytest.raises(TypeError, match="lstm_cell: input must be a floating-point tensor"):
        cell(mg.zeros((4, 16), dtype=mg.int64))
    with pytest.raises(TypeError, match="lstm_cell: hx must be a pair"):
        cell(mg.zeros((4, 16)), mg.zeros((4, 64)))
    with pytest.raises(ValueError, match=r"LSTM: input must be \(batch, seq, 3\)"):
        nn.LSTM(3, 4, batch_first=True)(mg.zeros((2, 5, 4)))
    with pytest.raises(ValueError, match=r"RNN: hx must be \(2, 3, 4\).*got \(1, 3, 4\)"):
        nn.RNN(3, 4, num_layers=2)(mg.zeros((5, 3, 3)), mg.zeros((1, 3, 4)))
    with pytest.raises(ValueError, match=r"rnn_tanh_cell: weights must be"):
        F.rnn_tanh_cell(mg.zeros((2, 3)), None, mg.zeros((4, 3)), mg.zeros((5, 5)))


def test_unsupported_options_are_refused():
    with pytest.raises(NotImplementedError, match="bidirectional"):
        nn.LSTM(3, 4, bidirectional=True)
    with pytest.raises(NotImplementedError, match="proj_size"):
        nn.LSTM(3, 4, proj_size=2)
    with pytest.raises(ValueError, match="nonlinearity"):
        nn.RNN(3, 4, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match="dropout"):
        nn.LSTM(3, 4, num_layers=2, dropout=1.5)
    with pytest.raises(ValueError, match="num_layers"):
        nn.GRU(3, 4, num_layers=0)


# ---------------------------------------------------------------------------- PyTorch
def _to_torch(torch, m_ours, m_torch):
    with torch.no_grad():
        for k, v in m_ours.state_dict().items():
            m_torch.state_dict()[k].copy_(torch.from_numpy(v.data))


@pytest.mark.parametrize("kind", list(GATES))
@pytest.mark.parametrize("unbatched", [False, True])
def test_cells_match_pytorch(kind, unbatched):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    ours = CELLS[kind](3, 4, dtype=mg.float64)
    name = {"rnn_tanh": "RNNCell", "rnn_relu": "RNNCell", "lstm": "LSTMCell", "gru": "GRUCell"}
    extra = {"nonlinearity": "relu"} if kind == "rnn_relu" else {}
    theirs = getattr(torch.nn, name[kind])(3, 4, **extra).double()
    assert list(ours.state_dict()) == list(theirs.state_dict())
    _to_torch(torch, ours, theirs)
    lead = () if unbatched else (2,)
    x, h, c = (rng.standard_normal(lead + (n,)) for n in (3, 4, 4))
    tx, th, tc = (torch.tensor(a, requires_grad=True) for a in (x, h, c))
    mx, mh, mc = leaf(x), leaf(h), leaf(c)
    if kind == "lstm":
        t_out, m_out = theirs(tx, (th, tc)), ours(mx, (mh, mc))
    else:
        t_out, m_out = (theirs(tx, th),), (ours(mx, mh),)
    for a, b in zip(m_out, t_out):
        np.testing.assert_allclose(a.data, b.detach().numpy(), rtol=1e-10, atol=1e-12)
    sum(o.sum() * (k + 1) for k, o in enumerate(m_out)).backward()
    sum(o.sum() * (k + 1) for k, o in enumerate(t_out)).backward()
    for (k, p), tp in zip(ours.named_parameters(), theirs.parameters()):
        np.testing.assert_allclose(p.grad.data, tp.grad.numpy(), rtol=1e-10, atol=1e-12, err_msg=k)
    np.testing.assert_allclose(mx.grad.data, tx.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(mh.grad.data, th.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("kind", ["rnn_tanh", "lstm", "gru"])
@pytest.mark.parametrize("batch_first", [False, True])
def test_two_layer_sequences_match_pytorch(kind, batch_first):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    ours = SEQUENCE[kind](3, 5, num_layers=2, batch_first=batch_first, dtype=mg.float64)
    theirs = getattr(torch.nn, {"rnn_tanh": "RNN", "lstm": "LSTM", "gru": "GRU"}[kind])(
        3, 5, num_layers=2, batch_first=batch_first).double()
    assert list(ours.state_dict()) == list(theirs.state_dict())
    _to_torch(torch, ours, theirs)
    x = rng.standard_normal((2, 6, 3) if batch_first else (6, 2, 3))
    h0, c0 = rng.standard_normal((2, 2, 5)), rng.standard_normal((2, 2, 5))
    tx = torch.tensor(x, requires_grad=True)
    mx = leaf(x)
    if kind == "lstm":
        t_out, (t_h, t_c) = theirs(tx, (torch.tensor(h0), torch.tensor(c0)))
        m_out, (m_h, m_c) = ours(mx, (mg.tensor(h0), mg.tensor(c0)))
        pairs = [(m_out, t_out), (m_h, t_h), (m_c, t_c)]
    else:
        t_out, t_h = theirs(tx, torch.tensor(h0))
        m_out, m_h = ours(mx, mg.tensor(h0))
        pairs = [(m_out, t_out), (m_h, t_h)]
    for a, b in pairs:
        assert a.shape == tuple(b.shape)
        np.testing.assert_allclose(a.data, b.detach().numpy(), rtol=1e-10, atol=1e-12)
    weights = rng.standard_normal(m_out.shape)
    (m_out * weights).sum().backward()
    (t_out * torch.tensor(weights)).sum().backward()
    for (k, p), tp in zip(ours.named_parameters(), theirs.parameters()):
        np.testing.assert_allclose(p.grad.data, tp.grad.numpy(), rtol=1e-9, atol=1e-12, err_msg=k)
    np.testing.assert_allclose(mx.grad.data, tx.grad.numpy(), rtol=1e-9, atol=1e-12)


def test_default_init_range_matches_pytorch():
    torch = pytest.importorskip("torch")
    ours, theirs = nn.LSTM(8, 16, num_layers=2), torch.nn.LSTM(8, 16, num_layers=2)
    for (k, p), tp in zip(ours.named_parameters(), theirs.parameters()):
        assert p.shape == tuple(tp.shape) and p.dtype == np.float32, k
        bound = 1 / np.sqrt(16)
        assert np.abs(p.data).max() <= bound and float(tp.detach().abs().max()) <= bound
