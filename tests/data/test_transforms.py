"""Batch transforms."""

import numpy as np
import pytest

import bprop as bp
from bprop.data import transforms as T


def test_to_float_and_normalize():
    x = np.array([[[[0, 255]]]], dtype=np.uint8)
    out = T.Compose([T.ToFloat(), T.Normalize(0.5, 0.5)])(x)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.ravel(), [-1, 1])
    per_channel = T.Normalize([1, 2], [1, 2])(np.ones((2, 2, 3, 3), np.float32))
    np.testing.assert_allclose(per_channel[:, 1], -0.5)
    assert T.Flatten()(np.zeros((4, 2, 3))).shape == (4, 6)
    with pytest.raises(ValueError, match="std"):
        T.Normalize(0, 0)


def test_random_crop_takes_windows_of_the_padded_images():
    bp.manual_seed(0)
    x = np.arange(2 * 1 * 4 * 4, dtype=np.float32).reshape(2, 1, 4, 4)
    out = T.RandomCrop(4, padding=1)(x)
    assert out.shape == x.shape
    padded = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    for i in range(2):
        windows = [padded[i, :, r:r + 4, c:c + 4] for r in range(3) for c in range(3)]
        assert any(np.array_equal(out[i], w) for w in windows)
    with pytest.raises(ValueError, match="larger"):
        T.RandomCrop(7)(x)


def test_horizontal_flip():
    bp.manual_seed(0)
    x = np.arange(8, dtype=np.float32).reshape(2, 1, 1, 4)
    np.testing.assert_array_equal(T.RandomHorizontalFlip(p=1.0)(x), x[..., ::-1])
    np.testing.assert_array_equal(T.RandomHorizontalFlip(p=0.0)(x), x)
