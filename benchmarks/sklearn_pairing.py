"""Start bprop's MLPClassifier from scikit-learn's own initial weights and batch order.

Two runs of either estimator with different random states differ by ±0.2 points of MNIST test
accuracy, and the two libraries draw from different random streams, so comparing them seed by
seed mixes that noise into the comparison. Started from the same weights and fed the same
batches, bprop takes scikit-learn's steps up to float32 rounding (tests/test_sklearn.py), and the
remaining difference is the libraries' own. This uses two scikit-learn internals, the only places
where its random state decides anything: MLPClassifier._initialize and its module's shuffle.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import sklearn.neural_network._multilayer_perceptron as sk_mlp

from bprop import nn
from bprop.sklearn import MLPClassifier


def fit_scikit_learn_recording(params: dict[str, Any], X: np.ndarray, y: np.ndarray) -> tuple[Any, dict]:
    """Fit scikit-learn's MLPClassifier (Adam) and return it with its start: the initial
    weights as (W (out, in), b) per layer, and the sample order of every epoch."""
    start: dict[str, Any] = {"orders": []}
    initialize, shuffle = sk_mlp.MLPClassifier._initialize, sk_mlp.shuffle

    def record_initial_weights(self, *args, **kwargs):
        initialize(self, *args, **kwargs)
        start["weights"] = [(w.T.copy(), b.copy()) for w, b in zip(self.coefs_, self.intercepts_)]

    def record_order(indices, random_state=None):
        start["orders"].append(shuffle(indices, random_state=random_state))
        return start["orders"][-1]

    sk_mlp.MLPClassifier._initialize, sk_mlp.shuffle = record_initial_weights, record_order
    try:
        model = sk_mlp.MLPClassifier(solver="adam", **params).fit(X, y)
    finally:
        sk_mlp.MLPClassifier._initialize, sk_mlp.shuffle = initialize, shuffle
    return model, start


class _RecordedOrder:
    """Stands for the generator MLPClassifier._epoch draws its permutation from."""

    def __init__(self, orders: list[np.ndarray]):
        self.orders = iter(orders)

    def permutation(self, n: int) -> np.ndarray:
        return next(self.orders)


def fit_bprop_from(start: dict, params: dict[str, Any], X: np.ndarray, y: np.ndarray) -> MLPClassifier:
    """Fit bprop's MLPClassifier from ``start`` (see fit_scikit_learn_recording)."""
    model = MLPClassifier(**params)
    order = _RecordedOrder(start["orders"])

    def build_with_their_weights(n_in: int, n_out: int) -> nn.Module:
        network = MLPClassifier._build(model, n_in, n_out)
        linears = [layer for layer in network if isinstance(layer, nn.Linear)]
        for layer, (weight, bias) in zip(linears, start["weights"]):
            layer.weight.data[...], layer.bias.data[...] = weight, bias
        return network

    model._build = build_with_their_weights  # instance attributes shadow the methods for one fit
    model._epoch = lambda X_, y_, rng: MLPClassifier._epoch(model, X_, y_, order)
    try:
        return model.fit(X, y)
    finally:
        del model._build, model._epoch
