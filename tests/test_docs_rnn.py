"""docs/rnn-backprop.md's worked examples, recomputed with bprop's ops and the reference."""

import numpy as np

import bprop as bp
from bprop import reference as ref
from bprop.ops.recurrent import LSTM, RNN
from tests.helpers import worked_example

ROUNDING = 5e-5  # the doc prints four decimals


def _leaf(value, shape):
    return bp.tensor(np.asarray(value, dtype=np.float64).reshape(shape), requires_grad=True)


def test_rnn_numbers_of_the_doc():
    e = worked_example("rnn-backprop.md")
    x, h0 = _leaf(e["x"], (3, 1, 1)), _leaf(e["h0"], (1, 1))
    weights = [_leaf(e[k], s) for k, s in (("w_ih", (1, 1)), ("w_hh", (1, 1)), ("b_ih", (1,)), ("b_hh", (1,)))]
    h = RNN.apply(x, h0, *weights)
    np.testing.assert_allclose(np.ravel(h.data), e["h"], atol=ROUNDING)
    h.backward(e["g"].reshape(3, 1, 1))
    np.testing.assert_allclose(np.ravel(x.grad), e["dx"], atol=ROUNDING)
    np.testing.assert_allclose(np.ravel(h0.grad), e["dh0"], atol=ROUNDING)
    for leaf, name in zip(weights, ("dw_ih", "dw_hh", "db", "db")):
        np.testing.assert_allclose(np.ravel(leaf.grad), e[name], atol=ROUNDING)


def test_rnn_deltas_of_the_doc_are_the_reference_recursion():
    e = worked_example("rnn-backprop.md")
    args = (e["x"].reshape(3, 1), e["h0"].reshape(1), e["w_ih"].reshape(1, 1), e["w_hh"].reshape(1, 1))
    hs = ref.rnn(*args, e["b_ih"].reshape(1), e["b_hh"].reshape(1))
    back = ref.rnn_backward(*args, hs, e["g"].reshape(3, 1))
    np.testing.assert_allclose(np.ravel(back["deltas"]), e["delta"], atol=ROUNDING)
    # each step back multiplies by w_hh·(1 − h_t²), the one-unit Jacobian
    ratios = e["delta"][:-1] / e["delta"][1:]
    np.testing.assert_allclose(ratios, e["w_hh"] * (1 - e["h"][:-1] ** 2), atol=1e-3)


def test_lstm_cell_path_numbers_of_the_doc():
    e = worked_example("rnn-backprop.md")
    w_ih = e["lstm_w_ih"].reshape(4, 1)
    x = _leaf(e["lstm_x"], (3, 1, 1))
    zero = np.zeros((1, 1))
    out = LSTM.apply(x, zero, zero, w_ih, np.zeros((4, 1)), e["lstm_b"], np.zeros(4))
    np.testing.assert_allclose(np.ravel(out.data[:3]), e["lstm_h"], atol=ROUNDING)
    forward = ref.lstm(e["lstm_x"].reshape(3, 1), np.zeros(1), np.zeros(1), w_ih, np.zeros((4, 1)), e["lstm_b"])
    np.testing.assert_allclose(np.ravel(forward["cs"]), e["lstm_c"], atol=ROUNDING)
    np.testing.assert_allclose([gates[1][0] for gates in forward["gates"]], e["lstm_f"], atol=ROUNDING)
    back = ref.lstm_backward(
        e["lstm_x"].reshape(3, 1),
        np.zeros(1),
        np.zeros(1),
        w_ih,
        np.zeros((4, 1)),
        forward,
        np.array([[0], [0], [1.0]]),
    )
    np.testing.assert_allclose(np.ravel(back["dc"]), e["lstm_dc"], atol=ROUNDING)
    # the additive path: ∂c_{t−1} = f_t ∂c_t exactly, with no other factor
    np.testing.assert_allclose(e["lstm_dc"][:-1], e["lstm_f"][1:] * e["lstm_dc"][1:], atol=2e-4)
    out.backward(np.array([0, 0, 1.0, 0]).reshape(4, 1, 1))  # C = h_3: the op agrees with the reference
    np.testing.assert_allclose(np.ravel(x.grad), back["dx"].ravel(), atol=1e-12)
