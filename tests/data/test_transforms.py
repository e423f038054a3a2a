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
        windows = [padded[i, :, r : r + 4, c : c + 4] for r in range(3) for c in range(3)]
        assert any(np.array_equal(out[i], w) for w in windows)
    with pytest.raises(ValueError, match="larger"):
        T.RandomCrop(7)(x)
    with pytest.raises(ValueError, match=r"RandomCrop: expected a batch of images \(N, C, H, W\)"):
        T.RandomCrop(2)(x[0])


def test_random_transforms_follow_the_global_seed():
    x = np.random.default_rng(0).random((16, 3, 6, 6)).astype(np.float32)
    augment = T.Compose([T.RandomCrop(6, padding=2), T.RandomHorizontalFlip()])
    bp.manual_seed(7)
    first = augment(x)
    bp.manual_seed(7)
    np.testing.assert_array_equal(augment(x), first)
    assert first.dtype == np.float32 and not np.array_equal(first, x)


def test_horizontal_flip():
    bp.manual_seed(0)
    x = np.arange(8, dtype=np.float32).reshape(2, 1, 1, 4)
    np.testing.assert_array_equal(T.RandomHorizontalFlip(p=1.0)(x), x[..., ::-1])
    np.testing.assert_array_equal(T.RandomHorizontalFlip(p=0.0)(x), x)
    out = T.RandomHorizontalFlip()(np.repeat(x, 50, axis=0))  # each image decides on its own
    flipped = (out[:50] == x[0, ..., ::-1]).all(axis=(1, 2, 3))
    kept = (out[:50] == x[0]).all(axis=(1, 2, 3))
    assert (flipped | kept).all() and 10 < flipped.sum() < 40
