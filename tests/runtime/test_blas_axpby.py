"""runtime.blas.axpby: y ← αx + βy in one pass through NumPy's OpenBLAS, or a clear refusal
(False, y untouched) that sends the caller to NumPy."""

import numpy as np
import pytest

from bprop.runtime import blas


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_axpby_matches_numpy(dtype):
    if blas.openblas() is None or not blas.openblas().axpby_of:
        pytest.skip("NumPy's BLAS here is not an OpenBLAS with axpby")
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal(10_001).astype(dtype), rng.standard_normal(10_001).astype(dtype)
    expected = (0.25 * x.astype(np.float64) - 1.5 * y.astype(np.float64)).astype(dtype)
    assert blas.axpby(np.float32(0.25), x, -1.5, y)
    tol = 1e-6 if dtype == np.float32 else 1e-14  # absolute too: αx + βy may cancel
    np.testing.assert_allclose(y, expected, rtol=tol, atol=tol)


@pytest.mark.parametrize(
    "case",
    ["small", "strided", "dtypes", "sizes", "read-only", "int"],
)
def test_axpby_refuses_what_it_cannot_do_in_one_pass_and_leaves_y_alone(case):
    x, y = np.ones(8192, np.float32), np.full(8192, 2.0, np.float32)
    if case == "small":
        x, y = x[:10], y[:10].copy()
    elif case == "strided":
        x = np.ones(16384, np.float32)[::2]
    elif case == "dtypes":
        x = x.astype(np.float64)
    elif case == "sizes":
        x = x[:8191]
    elif case == "read-only":
        y.flags.writeable = False
    elif case == "int":
        x, y = x.astype(np.int64), y.astype(np.int64)
    before = y.copy()
    assert blas.axpby(1.0, x, 0.5, y) is False
    np.testing.assert_array_equal(y, before)


def test_sgd_with_momentum_takes_the_same_steps_with_and_without_blas(monkeypatch):
    """The one-pass update and NumPy's fallback give torch's SGD to rounding."""
    import bprop as bp

    def train(use_blas: bool) -> np.ndarray:
        if not use_blas:
            monkeypatch.setattr(blas, "axpby", lambda *args: False)
        bp.manual_seed(0)
        layer = bp.nn.Linear(300, 40)
        opt = bp.optim.SGD(layer.parameters(), lr=0.1, momentum=0.9, dampening=0.1)
        x = bp.randn(8, 300)
        for _ in range(5):
            opt.zero_grad()
            (layer(x) ** 2).mean().backward()
            opt.step()
        monkeypatch.undo()
        return layer.weight.detach().numpy().copy()

    np.testing.assert_allclose(train(True), train(False), rtol=1e-5, atol=1e-7)
