"""ops/kernels/elementwise.unary: the same bits as NumPy whatever the thread count and layout."""

import numpy as np
import pytest

from bprop import runtime
from bprop.ops.kernels import elementwise


@pytest.mark.parametrize("layout", ["nchw", "channels-last", "strided", "small"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_unary_tanh_equals_numpy_bit_for_bit_split_or_not(monkeypatch, layout, dtype):
    monkeypatch.setattr(elementwise, "UNARY_MIN_ITEMS", 1000)  # every large case splits
    rng = np.random.default_rng(0)
    x = (rng.standard_normal((5, 7, 30, 31)) * 3).astype(dtype)
    if layout == "channels-last":
        x = np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    elif layout == "strided":
        x = x[:, :, ::2]
    elif layout == "small":
        x = x[:1, :1, :3]
    x.flat[:3] = [np.nan, np.inf, -np.inf] if layout != "small" else x.flat[:3]
    for threads in (1, 2):
        with runtime.using_threads(threads):
            out = elementwise.unary(np.tanh, x)
        assert out.shape == x.shape and out.dtype == x.dtype
        np.testing.assert_array_equal(out, np.tanh(x))
