"""The course's three-layer convolutional net, built from the layers of bprop.cs231n."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from bprop.cs231n.classifiers.fc_net import l2
from bprop.cs231n.layer_utils import (
    affine_relu_backward,
    affine_relu_forward,
    conv_relu_pool_backward,
    conv_relu_pool_forward,
)
from bprop.cs231n.layers import affine_backward, affine_forward, softmax_loss


class ThreeLayerConvNet:
    """conv − relu − 2×2 max pool − affine − relu − affine − softmax.

    The conv keeps the spatial size (stride 1, padding (filter_size − 1)/2), so the hidden
    affine layer sees num_filters·(H/2)·(W/2) features. params: W1 (F, C, fs, fs), b1,
    W2 (F·H/2·W/2, hidden_dim), b2, W3 (hidden_dim, num_classes), b3; weights drawn as
    weight_scale·randn from NumPy's global generator, biases 0. L2 on W1, W2, W3.
    """

    def __init__(
        self,
        input_dim: Sequence[int] = (3, 32, 32),
        num_filters: int = 32,
        filter_size: int = 7,
        hidden_dim: int = 100,
        num_classes: int = 10,
        weight_scale: float = 1e-3,
        reg: float = 0.0,
        dtype: type = np.float32,
    ):
        if filter_size % 2 == 0:
            raise ValueError(f"ThreeLayerConvNet: filter_size must be odd to keep the size, got {filter_size}")
        channels, height, width = input_dim
        self.reg, self.dtype, self.filter_size = reg, dtype, filter_size
        randn = np.random.randn
        self.params = {
            "W1": weight_scale * randn(num_filters, channels, filter_size, filter_size),
            "b1": np.zeros(num_filters),
            "W2": weight_scale * randn(num_filters * (height // 2) * (width // 2), hidden_dim),
            "b2": np.zeros(hidden_dim),
            "W3": weight_scale * randn(hidden_dim, num_classes),
            "b3": np.zeros(num_classes),
        }
        for key, value in self.params.items():
            self.params[key] = value.astype(dtype)

    def loss(self, X: np.ndarray, y: np.ndarray | None = None) -> np.ndarray | tuple[float, dict]:
        p = self.params
        X = X.astype(self.dtype)
        conv_param = {"stride": 1, "pad": (self.filter_size - 1) // 2}
        pool_param = {"pool_height": 2, "pool_width": 2, "stride": 2}
        pooled, pool_cache = conv_relu_pool_forward(X, p["W1"], p["b1"], conv_param, pool_param)
        hidden, hidden_cache = affine_relu_forward(pooled, p["W2"], p["b2"])
        scores, scores_cache = affine_forward(hidden, p["W3"], p["b3"])
        if y is None:
            return scores
        data_loss, dscores = softmax_loss(scores, y)
        grads = {}
        dhidden, grads["W3"], grads["b3"] = affine_backward(dscores, scores_cache)
        dpooled, grads["W2"], grads["b2"] = affine_relu_backward(dhidden, hidden_cache)
        _, grads["W1"], grads["b1"] = conv_relu_pool_backward(dpooled, pool_cache)
        for w in ("W1", "W2", "W3"):
            grads[w] = grads[w] + self.reg * p[w]
        return data_loss + l2(p, self.reg, ("W1", "W2", "W3")), grads
