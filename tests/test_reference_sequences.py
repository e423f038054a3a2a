"""reference.py's step-by-step RNN, LSTM, GRU and attention against the fast ops: the same
outputs, δ's and gradients, one sample at a time."""

import numpy as np

import bprop as bp
import bprop.nn.functional as F
from bprop import reference as ref
from bprop.ops.recurrent import GRU, LSTM, RNN
from tests.helpers import rand

T, D, H = 4, 3, 2


def _ops_grads(op, x, states, weights, grad):
    """One sample through the batched op (batch axis of size 1 added and removed)."""
    tensors = [bp.tensor(a, requires_grad=True) for a in (x, *states, *weights)]
    batched = [
        tensors[0].unsqueeze(1),
        *[s.unsqueeze(0) for s in tensors[1 : 1 + len(states)]],
        *tensors[1 + len(states) :],
    ]
    out = op.apply(*batched)
    out.backward(grad[:, None])
    return out.data[:, 0], [t.grad for t in tensors]


def test_rnn_matches_the_op():
    x, h0, w_ih, w_hh, b_ih, b_hh = (
        rand(T, D),
        rand(H, seed=1),
        rand(H, D, seed=2),
        rand(H, H, seed=3),
        rand(H, seed=4),
        rand(H, seed=5),
    )
    gs = rand(T, H, seed=6)
    out, grads = _ops_grads(RNN, x, [h0], [w_ih, w_hh, b_ih, b_hh], gs)
    hs = ref.rnn(x, h0, w_ih, w_hh, b_ih, b_hh)
    back = ref.rnn_backward(x, h0, w_ih, w_hh, hs, gs)
    np.testing.assert_allclose(np.array(hs), out, atol=1e-12)
    for got, name in zip(grads, ["dx", "dh0", "dw_ih", "dw_hh", "db", "db"]):
        np.testing.assert_allclose(got, back[name], atol=1e-12)


def test_lstm_matches_the_op():
    x, h0, c0 = rand(T, D), rand(H, seed=1), rand(H, seed=7)
    w_ih, w_hh, b_ih, b_hh = rand(4 * H, D, seed=2), rand(4 * H, H, seed=3), rand(4 * H, seed=4), rand(4 * H, seed=5)
    gs = np.concatenate([rand(T, H, seed=6), np.zeros((1, H))])  # no gradient on c_T
    out, grads = _ops_grads(LSTM, x, [h0, c0], [w_ih, w_hh, b_ih, b_hh], gs)
    forward = ref.lstm(x, h0, c0, w_ih, w_hh, b_ih + b_hh)
    back = ref.lstm_backward(x, h0, c0, w_ih, w_hh, forward, gs[:T])
    np.testing.assert_allclose(np.array(forward["hs"]), out[:T], atol=1e-12)
    np.testing.assert_allclose(forward["cs"][-1], out[T], atol=1e-12)
    for got, name in zip(grads, ["dx", "dh0", "dc0", "dw_ih", "dw_hh", "db", "db"]):
        np.testing.assert_allclose(got, back[name], atol=1e-12)


def test_gru_matches_the_op():
    x, h0 = rand(T, D), rand(H, seed=1)
    w_ih, w_hh, b_ih, b_hh = rand(3 * H, D, seed=2), rand(3 * H, H, seed=3), rand(3 * H, seed=4), rand(3 * H, seed=5)
    gs = rand(T, H, seed=6)
    out, grads = _ops_grads(GRU, x, [h0], [w_ih, w_hh, b_ih, b_hh], gs)
    forward = ref.gru(x, h0, w_ih, w_hh, b_ih, b_hh)
    back = ref.gru_backward(x, h0, w_ih, w_hh, forward, gs)
    np.testing.assert_allclose(np.array(forward["hs"]), out, atol=1e-12)
    for got, name in zip(grads, ["dx", "dh0", "dw_ih", "dw_hh", "db_ih", "db_hh"]):
        np.testing.assert_allclose(got, back[name], atol=1e-12)


def test_attention_matches_the_op_with_a_mask():
    q, k, v, g = rand(3, 4), rand(5, 4, seed=1), rand(5, 2, seed=2), rand(3, 2, seed=3)
    mask = np.zeros((3, 5))
    mask[0, 1:3] = -np.inf
    tensors = [bp.tensor(a, requires_grad=True) for a in (q, k, v)]
    out = F.scaled_dot_product_attention(*tensors, attn_mask=mask)
    out.backward(g)
    np.testing.assert_allclose(ref.attention(q, k, v, mask), out.data, atol=1e-12)
    for got, expected in zip(tensors, ref.attention_backward(q, k, v, g, mask)):
        np.testing.assert_allclose(got.grad, expected, atol=1e-12)
