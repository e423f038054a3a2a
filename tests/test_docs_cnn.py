"""docs/cnn-backprop.md's worked example, recomputed with bprop's fast ops and the reference."""

import re
from pathlib import Path

import numpy as np

import bprop as bp
from bprop import reference as ref
from bprop.ops.conv import Conv2d, MaxPool2d

DOC = Path(__file__).resolve().parents[1] / "docs" / "cnn-backprop.md"


def example() -> dict:
    block = re.search(r"## Worked example.*?```python\n(.*?)```", DOC.read_text(), re.S).group(1)
    values: dict = {}
    exec(block, {}, values)
    return {k: np.asarray(v, dtype=np.float64) for k, v in values.items()}


def test_forward_and_backward_numbers_of_the_doc():
    e = example()
    x = bp.tensor(e["x"][None, None], requires_grad=True)
    k = bp.tensor(e["K"][None, None], requires_grad=True)
    b = bp.tensor(e["bias"].reshape(1), requires_grad=True)
    z = Conv2d.apply(x, k, b, stride=2, padding=1)
    np.testing.assert_array_equal(z.data[0, 0], e["z"])
    z.backward(e["delta"][None, None])
    np.testing.assert_array_equal(x.grad[0, 0], e["dx"])
    np.testing.assert_array_equal(k.grad[0, 0], e["dK"])
    assert b.grad[0] == e["dbias"]


def test_intermediate_steps_of_the_doc():
    e = example()
    np.testing.assert_array_equal(ref.dilate(e["delta"], 2, 2), e["delta_dilated"])
    np.testing.assert_array_equal(ref.rotate180(e["K"]), e["K_rotated"])
    full = ref.convolve_full(e["delta_dilated"], e["K"])
    np.testing.assert_array_equal(full, e["dx_padded"])
    np.testing.assert_array_equal(full[1:5, 1:5], e["dx"])
    assert (4 + 2 * 1 - 2) // 2 + 1 == e["z"].shape[0]


def test_pooling_numbers_of_the_doc():
    e = example()
    x = bp.tensor(e["x"][None, None], requires_grad=True)
    y = MaxPool2d.apply(x, kernel_size=2)
    np.testing.assert_array_equal(y.data[0, 0], e["pooled"])
    y.backward(e["delta_pool"][None, None])
    np.testing.assert_array_equal(x.grad[0, 0], e["dx_pool"])
