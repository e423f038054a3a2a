"""Batch transforms: each takes and returns a NumPy batch (N, …), vectorised over the batch.
Random ones draw from the global bprop generator so that seeds and checkpoints cover them."""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from bprop.random import generator


class Compose:
    def __init__(self, transforms: Sequence[Callable[[np.ndarray], np.ndarray]]):
        self.transforms = list(transforms)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        for t in self.transforms:
            x = t(x)
        return x

    def __repr__(self) -> str:
        return f"Compose({self.transforms})"


class ToFloat:
    """uint8 pixels 0…255 → float32 in [0, 1]; other dtypes are just cast to float32."""

    def __call__(self, x: np.ndarray) -> np.ndarray:
        if x.dtype == np.uint8:
            return x.astype(np.float32) * np.float32(1 / 255)
        return x.astype(np.float32, copy=False)


class Normalize:
    """(x − mean)/std, per channel for (N, C, H, W) batches or one scalar pair for any batch."""

    def __init__(self, mean: float | Sequence[float], std: float | Sequence[float]):
        self.mean = np.asarray(mean, dtype=np.float32)
        self.std = np.asarray(std, dtype=np.float32)
        if np.any(self.std == 0):
            raise ValueError("Normalize: std must not be zero")

    def __call__(self, x: np.ndarray) -> np.ndarray:
        shape = (1, -1) + (1,) * (x.ndim - 2) if self.mean.ndim else ()
        return ((x - self.mean.reshape(shape)) / self.std.reshape(shape)).astype(np.float32, copy=False)

    def __repr__(self) -> str:
        return f"Normalize(mean={self.mean.tolist()}, std={self.std.tolist()})"


class Flatten:
    """(N, …) → (N, features)."""

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return x.reshape(len(x), -1)


class RandomCrop:
    """Pad (N, C, H, W) images by ``padding`` zeros and crop a random size×size window from each."""

    def __init__(self, size: int, padding: int = 0):
        self.size, self.padding = size, padding

    def __call__(self, x: np.ndarray) -> np.ndarray:
        if x.ndim != 4:
            raise ValueError(f"RandomCrop: expected a batch of images (N, C, H, W), got shape {x.shape}")
        p = self.padding
        padded = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p))) if p else x
        n, h, w = len(x), padded.shape[2], padded.shape[3]
        if self.size > min(h, w):
            raise ValueError(f"RandomCrop: crop {self.size} is larger than the padded image {h}×{w}")
        windows = sliding_window_view(padded, (self.size, self.size), axis=(2, 3))  # N, C, h', w', s, s
        top = generator().integers(0, h - self.size + 1, n)
        left = generator().integers(0, w - self.size + 1, n)
        return np.ascontiguousarray(windows[np.arange(n), :, top, left])


class RandomHorizontalFlip:
    """Mirror each image (the last axis) left–right with probability p."""

    def __init__(self, p: float = 0.5):
        self.p = p

    def __call__(self, x: np.ndarray) -> np.ndarray:
        flip = generator().random(len(x)) < self.p
        return np.where(flip.reshape((-1,) + (1,) * (x.ndim - 1)), x[..., ::-1], x)
