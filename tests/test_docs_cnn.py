"""docs/cnn-backprop.md's worked example, recomputed with bprop's fast ops and the reference."""

import numpy as np

import bprop as bp
from bprop import reference as ref
from bprop.ops.conv import Conv2d
from bprop.ops.pooling import MaxPool2d
from tests.helpers import worked_example


def test_forward_and_backward_numbers_of_the_doc():
    e = worked_example("cnn-backprop.md")
    x = bp.tensor(e["x"][None, None], requires_grad=True)
    k = bp.tensor(e["k"][None, None], requires_grad=True)
    b = bp.tensor(e["bias"].reshape(1), requires_grad=True)
    z = Conv2d.apply(x, k, b, stride=2, padding=1)
    np.testing.assert_array_equal(z.data[0, 0], e["z"])
    z.backward(e["delta"][None, None])
    np.testing.assert_array_equal(x.grad[0, 0], e["dx"])
    np.testing.assert_array_equal(k.grad[0, 0], e["dk"])
    assert b.grad[0] == e["dbias"]


def test_intermediate_steps_of_the_doc():
    e = worked_example("cnn-backprop.md")
    np.testing.assert_array_equal(ref.dilate(e["delta"], 2, 2), e["delta_dilated"])
    np.testing.assert_array_equal(ref.rotate180(e["k"]), e["k_rotated"])
    full = ref.convolve_full(e["delta_dilated"], e["k"])
    np.testing.assert_array_equal(full, e["dx_padded"])
    np.testing.assert_array_equal(full[1:5, 1:5], e["dx"])
    assert (4 + 2 * 1 - 2) // 2 + 1 == e["z"].shape[0]


def test_pooling_numbers_of_the_doc():
    e = worked_example("cnn-backprop.md")
    x = bp.tensor(e["x"][None, None], requires_grad=True)
    y = MaxPool2d.apply(x, kernel_size=2)
    np.testing.assert_array_equal(y.data[0, 0], e["pooled"])
    y.backward(e["delta_pool"][None, None])
    np.testing.assert_array_equal(x.grad[0, 0], e["dx_pool"])


def test_dilated_input_gradient_is_the_full_convolution_with_the_dilated_kernel():
    # the doc's "Dilation and groups": the same recursion with zeros inserted between the kernel taps
    rng = np.random.default_rng(0)
    x, k = rng.standard_normal((7, 8)), rng.standard_normal((2, 3))
    (u, v), (a, b), (d1, d2) = (2, 1), (1, 2), (2, 3)
    xt = bp.tensor(x[None, None], requires_grad=True)
    z = Conv2d.apply(xt, bp.tensor(k[None, None]), stride=(u, v), padding=(a, b), dilation=(d1, d2))
    delta = rng.standard_normal(z.shape[2:])
    z.backward(delta[None, None])
    full = ref.convolve_full(ref.dilate(delta, u, v), ref.dilate(k, d1, d2))
    dx_padded = np.zeros((7 + 2 * a, 8 + 2 * b))
    dx_padded[: full.shape[0], : full.shape[1]] = full
    np.testing.assert_allclose(xt.grad[0, 0], dx_padded[a : a + 7, b : b + 8], atol=1e-12)


def test_the_page_sums_over_the_batch_and_writes_the_crop_and_channel_of_the_recursion():
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "docs" / "cnn-backprop.md").read_text(encoding="utf-8")
    assert "∂C/∂bias[o] = Σ_r Σ_p Σ_q δ[r, o, p, q]" in text
    assert "∂C/∂k[o, c, m, n] = Σ_r Σ_p Σ_q δ[r, o, p, q] · x̃[r, c, p·u + m, q·v + n]" in text
    assert "δ^l[c, i, j] = σ′(z^l[c, i, j]) · crop_{a,b}( Σ_o δ′^{l+1}[o] ∗ k^{l+1}[o, c] )[i, j]" in text
