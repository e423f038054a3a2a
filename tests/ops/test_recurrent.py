"""The whole-sequence recurrent ops beyond the op table (op_db.py runs gradcheck, torch parity and
the reference over both directions, with and without biases, length 1, saturated gates and NaN):
NaN travelling forward in time only, float32, the LSTM's final-cell row, empty batches, errors."""

import numpy as np
import pytest
from tests.helpers import assert_float32_throughout, rand

import bprop as bp
from bprop.ops.recurrent import GRU, LSTM, RNN

T, N, D, H = 4, 2, 3, 3
GATES = {RNN: 1, LSTM: 4, GRU: 3}


def _arrays(op, bias=True, scale=1.0):
    g = GATES[op]
    states = [rand(N, H, seed=2)] + ([rand(N, H, seed=3)] if op is LSTM else [])
    weights = [rand(g * H, D, seed=4) * 0.6, rand(g * H, H, seed=5) * 0.6]
    biases = [rand(g * H, seed=6), rand(g * H, seed=7)] if bias else []
    return [rand(T, N, D, seed=1) * scale, *states, *weights, *biases]


@pytest.mark.parametrize("op", [RNN, LSTM, GRU])
def test_nan_propagates_forward_in_time_only(op):
    arrays = _arrays(op)
    arrays[0][2, 0, 0] = np.nan  # step 2 of sample 0
    out = op.apply(*[bp.tensor(a) for a in arrays]).data
    assert not np.isnan(out[:2]).any()  # earlier steps are untouched
    assert np.isnan(out[2:T, 0]).all() and not np.isnan(out[:T, 1]).any()


@pytest.mark.parametrize("op", [RNN, LSTM, GRU])
def test_float32_throughout(op):
    assert_float32_throughout(lambda *a: op.apply(*a), *_arrays(op))


def test_lstm_final_cell_state_is_the_last_row():
    arrays = _arrays(LSTM)
    out = LSTM.apply(*[bp.tensor(a) for a in arrays]).data
    assert out.shape == (T + 1, N, H)
    # h_T = o ⊙ tanh(c_T) with o ∈ (0, 1): |h_T| < |tanh c_T|
    assert np.all(np.abs(out[T - 1]) < np.abs(np.tanh(out[T])) + 1e-12)


def test_errors_name_the_shapes():
    x, h, w_ih, w_hh = np.zeros((T, N, D)), np.zeros((N, H)), np.zeros((4 * H, D)), np.zeros((4 * H, H))
    with pytest.raises(ValueError, match=r"lstm: input must be \(T, N, input_size\), got shape \(2, 3\)"):
        LSTM.apply(np.zeros((2, 3)), h, h, w_ih, w_hh)
    with pytest.raises(ValueError, match=r"weight_ih must be \(12, 3\) .* got \(12, 2\)"):
        LSTM.apply(x, h, h, np.zeros((4 * H, 2)), w_hh)
    with pytest.raises(ValueError, match=r"initial state must be \(N, H\) = \(2, 3\), got \(1, 3\)"):
        LSTM.apply(x, np.zeros((1, H)), h, w_ih, w_hh)
    with pytest.raises(ValueError, match="sequence is empty"):
        LSTM.apply(np.zeros((0, N, D)), h, h, w_ih, w_hh)


@pytest.mark.parametrize("op", [RNN, LSTM, GRU])
def test_an_empty_batch_gives_empty_states_and_gradients(op):
    """Regression: the input projection was reshaped to (T, N, -1), which fails for N = 0."""
    g = GATES[op]
    states = [np.zeros((0, H))] * (2 if op is LSTM else 1)
    arrays = [np.zeros((T, 0, D)), *states, rand(g * H, D, seed=4), rand(g * H, H, seed=5)]
    tensors = [bp.tensor(a, requires_grad=True) for a in arrays]
    out = op.apply(*tensors)
    assert out.shape == ((T + 1 if op is LSTM else T), 0, H)
    out.sum().backward()
    assert tensors[0].grad.shape == (T, 0, D)
    np.testing.assert_array_equal(tensors[-1].grad, np.zeros((g * H, H)))
