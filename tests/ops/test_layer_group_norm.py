"""The layer-norm and group-norm ops beyond the op table (op_db.py checks their shapes, D = 1,
size-1 dims, no-affine, extremes and NaN against torch and reference.py): channels-last views,
rows far from zero, NaN staying in its row, float32, empty batches and errors."""

import numpy as np
import pytest
from tests.helpers import assert_float32_throughout, check, leaf, rand

import bprop as bp
import bprop.nn.functional as F


def test_group_norm_on_a_channels_last_view_matches_contiguous():
    nhwc = leaf(rand(2, 3, 4, 6))
    view = nhwc.permute(0, 3, 1, 2)
    contiguous = leaf(np.moveaxis(np.asarray(nhwc), -1, 1).copy())
    g = rand(2, 6, 3, 4, seed=3)
    F.group_norm(view, 3).backward(g)
    F.group_norm(contiguous, 3).backward(g)
    np.testing.assert_allclose(np.moveaxis(np.asarray(nhwc.grad), -1, 1), contiguous.grad, atol=1e-12)


def test_rows_far_from_zero_and_constant_rows():
    """1000 + noise in float32 keeps its variance (the mean is subtracted first); a constant row
    gives x̂ = 0 and a finite gradient thanks to ε."""
    x = (1000.0 + rand(3, 64)).astype(np.float32)
    out = np.asarray(F.layer_norm(bp.tensor(x), 64, eps=0.0))
    x64 = x.astype(np.float64)
    expected = (x64 - x64.mean(1, keepdims=True)) / x64.std(1, keepdims=True)
    np.testing.assert_allclose(out, expected, atol=2e-3)
    flat = leaf(np.full((2, 5), 3.0))
    y = F.layer_norm(flat, 5)
    y.backward(rand(2, 5))
    assert np.all(np.asarray(y) == 0) and np.all(np.isfinite(flat.grad))
    check(lambda x: F.layer_norm(x, 5), np.full((2, 5), 3.0) + 1e-3 * rand(2, 5))


def test_nan_stays_in_its_own_row_or_group():
    x = rand(3, 4)
    x[1, 2] = np.nan
    xt = leaf(x)
    out = F.layer_norm(xt, 4)
    out.backward(np.ones((3, 4)))
    assert np.isnan(np.asarray(out)[1]).all() and np.isfinite(np.asarray(out)[[0, 2]]).all()
    assert np.isnan(xt.grad[1]).all() and np.isfinite(xt.grad[[0, 2]]).all()
    images = rand(2, 4, 2, 2)
    images[0, 3, 0, 0] = np.nan
    out = np.asarray(F.group_norm(bp.tensor(images), 2))
    assert np.isnan(out[0, 2:]).all() and np.isfinite(out[0, :2]).all() and np.isfinite(out[1]).all()


def test_float32_throughout():
    assert_float32_throughout(lambda x, g, b: F.layer_norm(x, 3, g, b), rand(4, 3), rand(3), rand(3))
    assert_float32_throughout(lambda x, g, b: F.group_norm(x, 2, g, b), rand(2, 4, 3), rand(4), rand(4))


def test_errors_name_the_op_and_the_shapes():
    with pytest.raises(ValueError, match=r"layer_norm: normalized_shape \(3,\) must be the trailing dims.*\(4, 5\)"):
        F.layer_norm(bp.randn(4, 5), 3)
    with pytest.raises(ValueError, match=r"layer_norm: weight must have shape normalized_shape \(5,\), got \(4,\)"):
        F.layer_norm(bp.randn(4, 5), 5, bp.ones(4))
    with pytest.raises(ValueError, match=r"group_norm: num_groups 4 must divide the 6 channels"):
        F.group_norm(bp.randn(2, 6, 3), 4)
    with pytest.raises(ValueError, match=r"group_norm: weight must have one entry per channel"):
        F.group_norm(bp.randn(2, 6, 3), 3, bp.ones(3))


def test_group_norm_of_an_empty_batch():
    """Regression: (N·G, −1) cannot be reshaped when N = 0 ("cannot reshape array of size 0")."""
    x = bp.tensor(np.zeros((0, 4, 3)), requires_grad=True)
    w = bp.tensor(np.ones(4), requires_grad=True)
    y = F.group_norm(x, 2, w)
    assert y.shape == (0, 4, 3)
    y.sum().backward()
    assert x.grad.shape == (0, 4, 3)
    np.testing.assert_array_equal(w.grad, np.zeros(4))
