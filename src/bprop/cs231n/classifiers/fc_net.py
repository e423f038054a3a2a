"""The course's fully connected nets, built from the layers of bprop.cs231n.

A model keeps its parameters in ``self.params`` under the course's keys (W1, b1, gamma1,
beta1, …; W of shape (D, H)) and ``loss(X, y=None)`` returns the class scores when y is None,
else ``(loss, grads)`` with one gradient per params key. The data loss is softmax
cross-entropy; the L2 term is ½·reg·Σ‖W‖² over the weights only (not biases, not γ, β), so
each dW gains reg·W.

Weights are drawn from NumPy's global generator as ``weight_scale·randn(D, H)`` in layer
order, as the course does: after ``np.random.seed(231)`` the notebooks' printed losses come
out again.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from bprop.cs231n.layer_utils import (
    affine_norm_relu_backward,
    affine_norm_relu_forward,
    affine_relu_backward,
    affine_relu_forward,
)
from bprop.cs231n.layers import affine_backward, affine_forward, dropout_backward, dropout_forward, softmax_loss

NORMALIZATIONS = (None, "batchnorm", "layernorm")


def gaussian(rows: int, cols: int, weight_scale: float) -> np.ndarray:
    return weight_scale * np.random.randn(rows, cols)  # noqa: NPY002 (the course's global generator)


def l2(params: dict, reg: float, weights: Sequence[str]) -> float:
    """½·reg·Σ‖W‖² over the named weights."""
    return 0.5 * reg * sum(float(np.sum(params[k] * params[k])) for k in weights)


class TwoLayerNet:
    """affine − relu − affine − softmax, with params W1 (D, H), b1, W2 (H, C), b2."""

    def __init__(
        self,
        input_dim: int = 3 * 32 * 32,
        hidden_dim: int = 100,
        num_classes: int = 10,
        weight_scale: float = 1e-3,
        reg: float = 0.0,
    ):
        self.reg = reg
        self.params = {
            "W1": gaussian(input_dim, hidden_dim, weight_scale),
            "b1": np.zeros(hidden_dim),
            "W2": gaussian(hidden_dim, num_classes, weight_scale),
            "b2": np.zeros(num_classes),
        }

    def loss(self, X: np.ndarray, y: np.ndarray | None = None) -> np.ndarray | tuple[float, dict]:
        p = self.params
        hidden, hidden_cache = affine_relu_forward(X, p["W1"], p["b1"])
        scores, scores_cache = affine_forward(hidden, p["W2"], p["b2"])
        if y is None:
            return scores
        data_loss, dscores = softmax_loss(scores, y)
        grads = {}
        dhidden, grads["W2"], grads["b2"] = affine_backward(dscores, scores_cache)
        _, grads["W1"], grads["b1"] = affine_relu_backward(dhidden, hidden_cache)
        for w in ("W1", "W2"):
            grads[w] = grads[w] + self.reg * p[w]
        return data_loss + l2(p, self.reg, ("W1", "W2")), grads


class FullyConnectedNet:
    """{affine − [batch/layer norm] − relu − [dropout]} × (L − 1) − affine − softmax.

    ``dropout_keep_ratio`` is the probability of keeping a unit (1 = no dropout);
    ``normalization`` None, "batchnorm" or "layernorm"; ``seed`` fixes the dropout masks
    (for gradient checks). Parameters are stored in ``dtype`` (float64 for gradient checks).
    """

    def __init__(
        self,
        hidden_dims: Sequence[int],
        input_dim: int = 3 * 32 * 32,
        num_classes: int = 10,
        dropout_keep_ratio: float = 1,
        normalization: str | None = None,
        reg: float = 0.0,
        weight_scale: float = 1e-2,
        dtype: type = np.float32,
        seed: int | None = None,
    ):
        if normalization not in NORMALIZATIONS:
            raise ValueError(
                f"FullyConnectedNet: normalization must be None, 'batchnorm' or 'layernorm', got {normalization!r}"
            )
        if not 0 < dropout_keep_ratio <= 1:
            raise ValueError(f"FullyConnectedNet: dropout_keep_ratio must be in (0, 1], got {dropout_keep_ratio}")
        self.normalization, self.reg, self.dtype = normalization, reg, dtype
        self.use_dropout = dropout_keep_ratio != 1
        self.num_layers = 1 + len(hidden_dims)
        dims = [input_dim, *hidden_dims, num_classes]
        self.params: dict[str, np.ndarray] = {}
        for i in range(self.num_layers):
            self.params[f"W{i + 1}"] = gaussian(dims[i], dims[i + 1], weight_scale)
            self.params[f"b{i + 1}"] = np.zeros(dims[i + 1])
            if normalization is not None and i < self.num_layers - 1:
                self.params[f"gamma{i + 1}"] = np.ones(dims[i + 1])
                self.params[f"beta{i + 1}"] = np.zeros(dims[i + 1])
        self.dropout_param: dict = {"mode": "train", "p": dropout_keep_ratio} if self.use_dropout else {}
        if self.use_dropout and seed is not None:
            self.dropout_param["seed"] = seed
        self.bn_params: list[dict] = []
        if normalization == "batchnorm":
            self.bn_params = [{"mode": "train"} for _ in range(self.num_layers - 1)]
        elif normalization == "layernorm":
            self.bn_params = [{} for _ in range(self.num_layers - 1)]
        for key, value in self.params.items():
            self.params[key] = value.astype(dtype)

    def loss(self, X: np.ndarray, y: np.ndarray | None = None) -> np.ndarray | tuple[float, dict]:
        X = X.astype(self.dtype)
        mode = "test" if y is None else "train"
        if self.use_dropout:
            self.dropout_param["mode"] = mode
        if self.normalization == "batchnorm":
            for bn_param in self.bn_params:
                bn_param["mode"] = mode
        p, caches, out = self.params, [], X
        for i in range(1, self.num_layers):
            if self.normalization is None:
                out, cache = affine_relu_forward(out, p[f"W{i}"], p[f"b{i}"])
            else:
                out, cache = affine_norm_relu_forward(
                    out,
                    p[f"W{i}"],
                    p[f"b{i}"],
                    p[f"gamma{i}"],
                    p[f"beta{i}"],
                    self.bn_params[i - 1],
                    self.normalization,
                )
            drop_cache = None
            if self.use_dropout:
                out, drop_cache = dropout_forward(out, self.dropout_param)
            caches.append((cache, drop_cache))
        last = self.num_layers
        scores, scores_cache = affine_forward(out, p[f"W{last}"], p[f"b{last}"])
        if mode == "test":
            return scores

        data_loss, dout = softmax_loss(scores, y)
        grads: dict[str, np.ndarray] = {}
        dout, grads[f"W{last}"], grads[f"b{last}"] = affine_backward(dout, scores_cache)
        for i in range(self.num_layers - 1, 0, -1):
            cache, drop_cache = caches[i - 1]
            if self.use_dropout:
                dout = dropout_backward(dout, drop_cache)
            if self.normalization is None:
                dout, grads[f"W{i}"], grads[f"b{i}"] = affine_relu_backward(dout, cache)
            else:
                dout, grads[f"W{i}"], grads[f"b{i}"], grads[f"gamma{i}"], grads[f"beta{i}"] = affine_norm_relu_backward(
                    dout, cache
                )
        weights = [f"W{i}" for i in range(1, self.num_layers + 1)]
        for w in weights:
            grads[w] = grads[w] + self.reg * p[w]
        return data_loss + l2(p, self.reg, weights), grads
