"""scikit-learn estimators backed by bprop: MLPClassifier and MLPRegressor.

Names and main parameters follow scikit-learn's own MLP estimators (hidden_layer_sizes,
activation, alpha, batch_size, learning_rate_init, max_iter, tol, n_iter_no_change,
early_stopping, validation_fraction, beta_1, beta_2, epsilon, random_state), plus ``batchnorm``
and ``dropout``, and ``dtype``. Training is scikit-learn's form of Adam (optim.scikit_adam) on
mini-batches, in float32 by default, or in float64 with ``dtype=np.float64``: scikit-learn's own
precision, about twice the time, and from scikit-learn's initial weights and batch order the very
same steps (equal to 1e-16 after 8 epochs in tests/test_sklearn.py). The L2 term is
scikit-learn's ½·alpha·‖W‖²/batch_size. They pass scikit-learn's estimator checks and work in
Pipeline and GridSearchCV. Needs the optional ``sklearn`` extra:
``pip install bprop[sklearn]``.
"""

from __future__ import annotations

import copy
import warnings
from typing import Any, Sequence

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets, unique_labels
from sklearn.utils.validation import check_is_fitted, validate_data

import bprop.nn.functional as F
from bprop import nn
from bprop.autograd import no_grad
from bprop.optim.scikit_adam import ScikitLearnAdam
from bprop.random import get_rng_state, manual_seed, set_rng_state
from bprop.tensor import Tensor

# scikit-learn's activation names → the activation table's (nn.layers.activation.ACTIVATIONS)
ACTIVATIONS = {"relu": "relu", "tanh": "tanh", "logistic": "sigmoid", "identity": "identity"}


class _BaseMLP(BaseEstimator):
    def __init__(
        self,
        hidden_layer_sizes: Sequence[int] = (100,),
        activation: str = "relu",
        alpha: float = 1e-4,
        batch_size: int | str = "auto",
        learning_rate_init: float = 1e-3,
        max_iter: int = 200,
        shuffle: bool = True,
        random_state: Any = None,
        tol: float = 1e-4,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-8,
        n_iter_no_change: int = 10,
        batchnorm: bool = False,
        dropout: float = 0.0,
        verbose: bool = False,
        dtype: Any = np.float32,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate_init = learning_rate_init
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.batchnorm = batchnorm
        self.dropout = dropout
        self.verbose = verbose
        self.dtype = dtype

    # ----- what subclasses define --------------------------------------------------------
    def _targets(self, y: np.ndarray, first: bool, classes: Any = None) -> np.ndarray:
        raise NotImplementedError

    def _loss(self, out: Tensor, y: np.ndarray) -> Tensor:
        raise NotImplementedError

    def _score_batch(self, X: np.ndarray, y: np.ndarray) -> float:
        raise NotImplementedError

    # ----- building and training -----------------------------------------------------------
    def _check_params(self) -> None:
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {self.activation!r}")
        sizes = [self.hidden_layer_sizes] if np.isscalar(self.hidden_layer_sizes) else list(self.hidden_layer_sizes)
        if any(int(s) <= 0 for s in sizes):
            raise ValueError(f"hidden_layer_sizes must be > 0, got {self.hidden_layer_sizes}")
        for name in ("max_iter", "n_iter_no_change"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)}")
        if self.alpha < 0 or self.learning_rate_init <= 0 or not 0 <= self.dropout < 1:
            raise ValueError("alpha must be >= 0, learning_rate_init > 0 and dropout in [0, 1)")
        if not (0 <= self.beta_1 < 1 and 0 <= self.beta_2 < 1 and self.epsilon > 0):
            raise ValueError(
                f"beta_1 and beta_2 must be in [0, 1) and epsilon > 0, got {self.beta_1}, {self.beta_2}, {self.epsilon}"
            )
        if not 0 < self.validation_fraction < 1:
            raise ValueError(f"validation_fraction must be in (0, 1), got {self.validation_fraction}")
        self._dtype()

    def _dtype(self) -> np.dtype:
        """``dtype`` as a NumPy dtype; ValueError unless it is float32 or float64."""
        try:
            dtype = np.dtype(self.dtype)
        except TypeError:
            dtype = None
        if dtype not in (np.float32, np.float64):
            raise ValueError(f"dtype must be float32 or float64, got {self.dtype!r}")
        return dtype

    def _build(self, n_in: int, n_out: int) -> nn.Module:
        sizes = [self.hidden_layer_sizes] if np.isscalar(self.hidden_layer_sizes) else list(self.hidden_layer_sizes)
        normalization = "batchnorm" if self.batchnorm else None
        sizes = [n_in, *(int(n) for n in sizes), n_out]
        layers = nn.models.mlp_layers(
            sizes, ACTIVATIONS[self.activation], normalization, self.dropout or 0.0, owner=type(self).__name__
        )
        model = nn.Sequential(*layers).to(self._dtype())
        factor = 2.0 if self.activation == "logistic" else 6.0
        for layer in model:  # scikit-learn's Glorot-uniform init, so both learn alike
            if isinstance(layer, nn.Linear):
                bound = np.sqrt(factor / (layer.in_features + layer.out_features))
                nn.init.uniform_(layer.weight, -bound, bound)
                nn.init.uniform_(layer.bias, -bound, bound)
        return model

    def _batch(self, n: int) -> int:
        if self.batch_size == "auto":
            return min(200, n)
        if int(self.batch_size) < 1:
            raise ValueError(f"batch_size must be >= 1 or 'auto', got {self.batch_size}")
        return min(int(self.batch_size), n)

    def _flat_parameters(self) -> tuple[Tensor, Tensor]:
        """The parameters as views into one flat buffer, split in two Tensors: the weights, which
        the L2 term decays, then the rest (biases, batch-norm scales and shifts); the parameters'
        grads view the two Tensors' gradient arrays, which backward accumulates into.

        Adam then updates everything with a dozen whole-buffer ufunc calls per step instead of a
        dozen per parameter. The views are rebuilt (optimizer state kept) when something rebound
        a parameter's array or dropped its grad: unpickling copies views apart, load_state_dict
        assigns new arrays, zero_grad() sets grads to None.
        """
        weights = self._weights()
        params = weights + [p for p in self.model_.parameters() if all(p is not w for w in weights)]
        flat = getattr(self, "_flat", None)
        if flat is not None and all(
            p._data.base is flat[0]._data.base is not None
            and p._grad is not None
            and p._grad._data.base is flat[0]._grad._data.base is not None
            for p in params
        ):
            return flat
        data = np.concatenate([p._data.ravel() for p in params])
        grad = np.zeros_like(data)
        offset = 0
        for p in params:
            p._data = data[offset : offset + p._data.size].reshape(p._data.shape)
            p._grad = Tensor._from_op(grad[offset : offset + p._data.size].reshape(p._data.shape), None)
            offset += p._data.size
        if flat is None:
            flat = self._flat = (
                Tensor(np.empty(0, data.dtype), requires_grad=True),
                Tensor(np.empty(0, data.dtype), requires_grad=True),
            )
        split = sum(w._data.size for w in weights)
        for part, piece in zip(flat, (slice(None, split), slice(split, None))):
            part._data, part._grad = data[piece], Tensor._from_op(grad[piece], None)
        return flat

    def _weights(self) -> list[Tensor]:
        return [layer.weight for layer in self.model_ if isinstance(layer, nn.Linear)]

    def _epoch(self, X: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> float:
        """One pass over the data in mini-batches; returns scikit-learn's loss: the mean over
        samples of the data loss plus ½·alpha·Σ‖W‖²/batch, whose gradient (alpha/batch)·W the
        optimizer adds as its weight decay on the weights' group."""
        self.model_.train()
        n, batch = len(X), self._batch(len(X))
        order = rng.permutation(n) if self.shuffle else np.arange(n)
        (weights, _), total = self._flat_parameters(), 0.0
        for start in range(0, n, batch):
            rows = order[start : start + batch]
            if self.batchnorm and len(rows) == 1:
                continue  # batch statistics of one sample are undefined
            weights._grad._data.base.fill(0)  # backward adds into the parameters' grads, views of this buffer
            loss = self._loss(self.model_(Tensor._from_op(X[rows], None)), y[rows])
            loss.backward()
            decay = self.alpha / len(rows)
            self.optimizer_.param_groups[0]["weight_decay"] = decay
            penalty = 0.5 * decay * float(np.vdot(weights._data, weights._data)) if decay else 0.0
            self.optimizer_.step()
            total += (loss.item() + penalty) * len(rows)
        return total / n

    def _fit(self, X: Any, y: Any, incremental: bool, classes: Any = None) -> _BaseMLP:
        self._check_params()
        first = not (incremental and hasattr(self, "model_"))
        X, y = validate_data(
            self,
            X,
            y,
            reset=first,
            dtype=self._dtype(),
            y_numeric=not is_classifier_like(self),
            multi_output=not is_classifier_like(self),
        )
        targets = self._targets(y, first, classes)
        saved_state = get_rng_state()  # keep the library's global generator untouched
        seed = check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
        try:
            manual_seed(int(seed) if first else int(seed) + getattr(self, "n_iter_", 0))
            if first:
                self.model_ = self._build(X.shape[1], self._n_outputs)
                self._flat = None
                weights, rest = self._flat_parameters()
                self.optimizer_ = ScikitLearnAdam(
                    [{"params": [weights]}, {"params": [rest]}],
                    lr=self.learning_rate_init,
                    betas=(self.beta_1, self.beta_2),
                    eps=self.epsilon,
                )
                self.loss_curve_, self.n_iter_, self.best_loss_ = [], 0, np.inf
                self._no_improvement = 0
                self.validation_scores_ = [] if self.early_stopping else None
                self.best_validation_score_ = -np.inf if self.early_stopping else None
            rng = np.random.default_rng(seed)
            if incremental:
                self._record(self._epoch(X, targets, rng))
            else:
                self._train(X, targets, y, rng)
        finally:
            set_rng_state(saved_state)
        return self

    def _train(self, X: np.ndarray, targets: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> None:
        X_val = y_val = None
        if self.early_stopping:
            stratify = y if is_classifier_like(self) and len(np.unique(y)) > 1 else None
            X, X_val, targets, y_val = train_test_split(
                X, targets, test_size=self.validation_fraction, random_state=int(rng.integers(2**31)), stratify=stratify
            )
        best_params = None
        for _ in range(self.max_iter):
            improved = self._record(self._epoch(X, targets, rng), X_val, y_val)
            if self.early_stopping and improved:
                best_params = self.model_.state_dict()
            if self._no_improvement > self.n_iter_no_change:
                break
        else:
            warnings.warn(
                f"{type(self).__name__}: max_iter={self.max_iter} reached and the optimisation hasn't converged yet.",
                ConvergenceWarning,
                stacklevel=3,
            )
        if best_params is not None:
            self.model_.load_state_dict(best_params)

    def _record(self, loss: float, X_val: np.ndarray | None = None, y_val: np.ndarray | None = None) -> bool:
        """Update the curves and scikit-learn's 'no improvement by tol' counter; True if improved."""
        self.n_iter_ += 1
        self.loss_curve_.append(loss)
        if self.verbose:
            print(f"Iteration {self.n_iter_}, loss = {loss:.8f}")
        if X_val is not None:
            score = self._score_batch(X_val, y_val)
            self.validation_scores_.append(score)
            improved = score > self.best_validation_score_ + self.tol
            self.best_validation_score_ = max(self.best_validation_score_, score)
        else:
            improved = loss < self.best_loss_ - self.tol
        self.best_loss_ = min(self.best_loss_, loss)
        self._no_improvement = 0 if improved else self._no_improvement + 1
        return improved

    def _forward(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "model_")
        # float64 inputs make every product float64, so a sample's prediction does not depend
        # on which other samples share its batch (float32 GEMM blocking would change the last bits)
        X = validate_data(self, X, reset=False, dtype=np.float64)
        # ...in a float64 copy of the model (its weights cast exactly): bprop, as torch, refuses
        # a float64 input to float32 layers
        model = self.model_ if self._dtype() == np.float64 else copy.deepcopy(self.model_).to(np.float64)
        model.eval()
        with no_grad():
            return np.asarray(model(Tensor(X)))

    @property
    def coefs_(self) -> list[np.ndarray]:
        """The weight matrices in scikit-learn's layout, (n_in, n_out) per layer (copies)."""
        check_is_fitted(self, "model_")
        return [np.asarray(w).T.copy() for w in self._weights()]

    @property
    def intercepts_(self) -> list[np.ndarray]:
        """The bias vectors, one per layer (copies)."""
        check_is_fitted(self, "model_")
        return [np.asarray(layer.bias).copy() for layer in self.model_ if isinstance(layer, nn.Linear)]

    def fit(self, X: Any, y: Any) -> _BaseMLP:
        """Train from scratch for up to max_iter epochs."""
        return self._fit(X, y, incremental=False)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.non_deterministic = False
        return tags


def is_classifier_like(estimator: Any) -> bool:
    return isinstance(estimator, ClassifierMixin)


class MLPClassifier(ClassifierMixin, _BaseMLP):
    """A multi-layer perceptron classifier (softmax cross-entropy), scikit-learn's API."""

    def _targets(self, y: np.ndarray, first: bool, classes: Any = None) -> np.ndarray:
        check_classification_targets(y)
        if first:
            self.classes_ = unique_labels(classes if classes is not None else y)
            self._n_outputs = max(len(self.classes_), 2)
        elif not np.isin(unique_labels(y), self.classes_).all():
            raise ValueError(
                f"y has labels {np.setdiff1d(unique_labels(y), self.classes_)} not in classes_ {self.classes_}"
            )
        return np.searchsorted(self.classes_, y).astype(np.int64)

    def _loss(self, out: Tensor, y: np.ndarray) -> Tensor:
        return F.cross_entropy(out, y)

    def _score_batch(self, X: np.ndarray, y: np.ndarray) -> float:
        self.model_.eval()
        with no_grad():
            return float(np.mean(np.asarray(self.model_(Tensor(X))).argmax(1) == y))

    def partial_fit(self, X: Any, y: Any, classes: Any = None) -> MLPClassifier:
        """One epoch over (X, y); the first call needs ``classes`` (all labels that will occur)."""
        if not hasattr(self, "model_") and classes is None:
            raise ValueError("classes must be passed on the first call to partial_fit")
        return self._fit(X, y, incremental=True, classes=classes)

    def predict_proba(self, X: Any) -> np.ndarray:
        scores = self._forward(X).astype(np.float64)
        scores -= scores.max(axis=1, keepdims=True)
        probs = np.exp(scores)
        probs /= probs.sum(axis=1, keepdims=True)
        return probs[:, : len(self.classes_)] if len(self.classes_) > 1 else np.ones((len(probs), 1))

    def predict_log_proba(self, X: Any) -> np.ndarray:
        return np.log(self.predict_proba(X))

    def predict(self, X: Any) -> np.ndarray:
        probs = self.predict_proba(X)  # first: it raises NotFittedError before classes_ is read
        return self.classes_[np.argmax(probs, axis=1)]


class MLPRegressor(RegressorMixin, _BaseMLP):
    """A multi-layer perceptron regressor (squared error), scikit-learn's API."""

    def _targets(self, y: np.ndarray, first: bool, classes: Any = None) -> np.ndarray:
        y = np.asarray(y, dtype=self._dtype())
        if first:
            self._y_1d = y.ndim == 1
            self._n_outputs = 1 if y.ndim == 1 else y.shape[1]
        return y.reshape(len(y), -1)

    def _loss(self, out: Tensor, y: np.ndarray) -> Tensor:
        return F.mse_loss(out, Tensor(y)) * 0.5  # scikit-learn's squared loss is ½·mean

    def _score_batch(self, X: np.ndarray, y: np.ndarray) -> float:
        self.model_.eval()
        with no_grad():
            pred = np.asarray(self.model_(Tensor(X)))
        total = ((y - y.mean(axis=0)) ** 2).sum()
        return float(1 - ((y - pred) ** 2).sum() / total) if total > 0 else 0.0

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    def partial_fit(self, X: Any, y: Any) -> MLPRegressor:
        """One epoch over (X, y)."""
        return self._fit(X, y, incremental=True)

    def predict(self, X: Any) -> np.ndarray:
        out = self._forward(X).astype(np.float64)
        return out[:, 0] if self._y_1d else out
