"""Evaluation: a model's outputs over a data set (``predict``) and its loss and metrics
(``evaluate``), in eval mode without a graph; ``fit`` validates with the same code."""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from bprop.autograd import no_grad
from bprop.data import DataLoader, Dataset, TensorDataset
from bprop.nn import CrossEntropyLoss, Module
from bprop.tensor import Tensor
from bprop.train import metrics as M

MetricSpec = str | Callable[[np.ndarray, np.ndarray], float]


def as_loader(data: Any, batch_size: int, shuffle: bool, transform: Callable | None = None) -> DataLoader:
    """Accept a DataLoader, a Dataset, or a tuple (x, y) of arrays/Tensors."""
    if isinstance(data, DataLoader):
        return data
    if isinstance(data, (tuple, list)):
        data = TensorDataset(*data)
    if not isinstance(data, Dataset):
        raise TypeError(f"expected a DataLoader, a Dataset or (x, y) arrays, got {type(data).__name__}")
    return DataLoader(data, batch_size=batch_size, shuffle=shuffle, transform=transform)


def is_classification(scores: np.ndarray, targets: np.ndarray) -> bool:
    """Class scores (N, C) against integer labels (N,): the case accuracy and friends apply to."""
    return scores.ndim == 2 and targets.ndim == 1 and np.issubdtype(targets.dtype, np.integer)


def _outputs_and_targets(model: Module, loader: DataLoader) -> tuple[np.ndarray, np.ndarray | None]:
    """Model outputs and targets of every batch, in one pass, in eval mode without a graph."""
    was_training = model.training
    model.eval()
    outputs, targets = [], []
    try:
        with no_grad():
            for batch in loader:
                outputs.append(np.asarray(model(batch[0])))
                targets.append(np.asarray(batch[1]) if len(batch) > 1 else None)
    finally:
        model.train(was_training)
    if not outputs:
        raise ValueError("no samples to evaluate: the data set is empty")
    return np.concatenate(outputs), None if targets[0] is None else np.concatenate(targets)


def predict(model: Module, data: Any, batch_size: int = 256, transform: Callable | None = None) -> np.ndarray:
    """Model outputs (e.g. class scores) for every sample, in eval mode, as one array.

    ``data``: inputs as an array or Tensor, a tuple (x, y), a Dataset, or a DataLoader (whose
    order the outputs follow)."""
    if isinstance(data, (np.ndarray, Tensor)):
        data = TensorDataset(data)
    return _outputs_and_targets(model, as_loader(data, batch_size, shuffle=False, transform=transform))[0]


def evaluate(
    model: Module,
    data: Any,
    loss: Callable | None = None,
    batch_size: int = 256,
    transform: Callable | None = None,
    metrics: Sequence[MetricSpec] | None = None,
) -> dict[str, Any]:
    """Loss (``loss`` defaults to cross-entropy) and ``metrics`` over ``data`` in eval mode.

    For classification (scores (N, C), integer labels) ``metrics`` defaults to ["accuracy"], and
    the results also hold "top5_accuracy", "confusion_matrix" (rows: true class) and per-class
    "precision", "recall", "f1" and "support" arrays.
    """
    resolved = None if metrics is None else [M.get_metric(m) for m in metrics]
    return _evaluate(
        model, as_loader(data, batch_size, shuffle=False, transform=transform), loss or CrossEntropyLoss(), resolved
    )


def _evaluate(
    model: Module, loader: DataLoader, loss: Callable, metrics: list[tuple[str, M.Metric]] | None
) -> dict[str, Any]:
    scores, targets = _outputs_and_targets(model, loader)
    if targets is None:
        raise ValueError("evaluate needs targets: give (x, y) or a dataset of (input, target) pairs")
    with no_grad():
        results: dict[str, Any] = {
            "loss": float(loss(Tensor._from_op(scores, None), Tensor._from_op(targets, None)).item())
        }
    classification = is_classification(scores, targets)
    if metrics is None:
        metrics = [M.get_metric("accuracy")] if classification else []
    results.update({name: float(fn(scores, targets)) for name, fn in metrics})
    if classification:
        confusion = M.confusion_matrix(targets, scores, scores.shape[1])
        results.update(
            top5_accuracy=M.top_k_accuracy(scores, targets, 5),
            confusion_matrix=confusion,
            **M.precision_recall_f1(confusion),
        )
    return results


def validate(trainer: Any, loader: DataLoader) -> dict[str, Any]:
    """The fit loop's validation after an epoch: the training columns (loss and the trainer's
    metrics) on ``loader``, as ``val_<name>``."""
    results = _evaluate(trainer.model, loader, trainer.loss, trainer.metrics)
    names = ["loss", *(name for name, _ in trainer.metrics or [])]
    return {f"val_{name}": results[name] for name in names if name in results}
