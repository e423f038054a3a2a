"""The course's filter visualisation."""

from __future__ import annotations

import math

import numpy as np


def visualize_grid(Xs: np.ndarray, ubound: float = 255.0, padding: int = 1) -> np.ndarray:
    """Tile N images (N, H, W, C) into one square-ish grid (G·H + (G − 1)·padding, …, C), each
    image rescaled on its own to [0, ubound]; empty cells and the padding stay 0.

    E.g. first-layer conv filters: ``visualize_grid(model.params["W1"].transpose(0, 2, 3, 1))``.
    """
    n, h, w, c = Xs.shape
    grid_size = math.ceil(math.sqrt(n))
    grid = np.zeros((grid_size * (h + padding) - padding, grid_size * (w + padding) - padding, c))
    for k in range(n):
        row, col = divmod(k, grid_size)
        image = Xs[k]
        low, high = np.min(image), np.max(image)
        top, left = row * (h + padding), col * (w + padding)
        scale = ubound / (high - low) if high > low else 0.0
        grid[top : top + h, left : left + w] = (image - low) * scale
    return grid
