"""Training plots as PNG files (matplotlib with the Agg backend; the optional ``viz`` extra).

Each function writes one figure atomically and returns its path.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from bprop.serialization import atomic_write_bytes


def _pyplot() -> Any:
    try:
        import matplotlib
    except ImportError:
        raise ImportError("plots need matplotlib: pip install 'bprop[viz]'") from None
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _save(fig: Any, path: str | os.PathLike) -> Path:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    _pyplot().close(fig)
    atomic_write_bytes(path, buffer.getvalue())
    return Path(path)


def plot_history(epochs: Sequence[dict[str, float]], path: str | os.PathLike) -> Path:
    """Loss and accuracy per epoch, training and (when logged) validation."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))
    x = [row["epoch"] for row in epochs]
    for ax, metric in zip(axes, ("loss", "accuracy")):
        for prefix, style in (("", "-o"), ("val_", "--s")):
            values = [row.get(prefix + metric) for row in epochs]
            if any(v is not None for v in values):
                ax.plot(x, values, style, label=("validation " if prefix else "training ") + metric, markersize=3)
        ax.set_xlabel("epoch")
        ax.set_title(metric)
        ax.grid(alpha=0.3)
        ax.legend()
    return _save(fig, path)


def plot_gradient_flow(steps: Sequence[int], norms: dict[str, Sequence[float]], path: str | os.PathLike) -> Path:
    """‖∂C/∂W‖ of each layer over the steps, log scale: vanishing gradients sink, exploding ones rise."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(10, 3.5))
    for name, values in norms.items():
        ax.plot(steps, values, label=name)
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("gradient norm")
    ax.set_title("gradient flow per layer")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    return _save(fig, path)


def plot_delta_per_layer(
    layers: Sequence[str], norms: dict[str, Sequence[float]], path: str | os.PathLike, last: int = 50
) -> Path:
    """δ per layer: left, the mean ‖δ‖ of each layer (first to last) over its ``last`` records —
    a falling bar towards the input is vanishing gradients, a rising one exploding; right, ‖δ‖ of
    each layer over the training steps. Log scales."""
    plt = _pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.5), gridspec_kw={"width_ratios": [1, 1.6]})
    shown = [name for name in layers if norms.get(name)]
    means = [float(np.mean(norms[name][-last:])) for name in shown]
    left.bar(range(len(shown)), means, color="#4a7ab8")
    left.set_xticks(range(len(shown)), [name.split(" ")[0] for name in shown], rotation=45, ha="right")
    left.set_yscale("log")
    left.set_title("mean ‖δ‖ per layer (input → output)")
    left.grid(alpha=0.3, axis="y")
    for name in shown:
        right.plot(range(1, len(norms[name]) + 1), norms[name], label=name, linewidth=1)
    right.set_yscale("log")
    right.set_xlabel("step")
    right.set_title("‖δ‖ at each layer's output")
    right.grid(alpha=0.3)
    right.legend(fontsize=7)
    return _save(fig, path)


def plot_histograms(arrays: dict[str, np.ndarray], path: str | os.PathLike, title: str) -> Path:
    """One histogram per named array (weights or activations of each layer)."""
    plt = _pyplot()
    n = max(len(arrays), 1)
    cols = min(n, 4)
    rows = (n + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(3 * cols, 2.4 * rows), squeeze=False)
    for ax, (name, values) in zip(axes.flat, arrays.items()):
        ax.hist(np.asarray(values).reshape(-1), bins=40, color="#4a78b5")
        ax.set_title(name, fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[len(arrays) :]:
        ax.axis("off")
    fig.suptitle(title, y=1.03)
    return _save(fig, path)


def plot_filters(weight: np.ndarray, path: str | os.PathLike) -> Path:
    """First-layer conv filters (out, in, kh, kw) as an image grid: RGB when in = 3, else the
    mean over input channels in grey."""
    plt = _pyplot()
    w = np.asarray(weight, dtype=np.float64)
    images = w.transpose(0, 2, 3, 1) if w.shape[1] == 3 else w.mean(axis=1)
    n = len(images)
    cols = min(n, 8)
    rows = (n + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(1.2 * cols, 1.2 * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, image in zip(axes.flat, images):
        lo, hi = image.min(), image.max()
        ax.imshow((image - lo) / (hi - lo + 1e-12), cmap=None if image.ndim == 3 else "gray")
    fig.suptitle("first-layer filters")
    return _save(fig, path)


def plot_confusion(matrix: np.ndarray, classes: Sequence[str], path: str | os.PathLike) -> Path:
    plt = _pyplot()
    m = np.asarray(matrix)
    fig, ax = plt.subplots(figsize=(1 + 0.5 * len(m), 0.8 + 0.5 * len(m)))
    ax.imshow(m, cmap="Blues")
    for i, j in np.ndindex(m.shape):
        ax.text(
            j,
            i,
            str(m[i, j]),
            ha="center",
            va="center",
            fontsize=7,
            color="white" if m[i, j] > m.max() / 2 else "black",
        )
    ax.set_xticks(range(len(m)), classes, rotation=90, fontsize=7)
    ax.set_yticks(range(len(m)), classes, fontsize=7)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title("confusion matrix")
    return _save(fig, path)


def plot_misclassified(
    images: np.ndarray, true: Sequence[int], pred: Sequence[int], classes: Sequence[str], path: str | os.PathLike
) -> Path:
    """Up to 25 misclassified inputs (N, C, H, W) with their true and predicted classes."""
    plt = _pyplot()
    n = min(len(images), 25)
    cols = min(max(n, 1), 5)
    rows = max((n + cols - 1) // cols, 1)
    fig, axes = plt.subplots(rows, cols, figsize=(1.8 * cols, 1.9 * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, image, t, p in zip(axes.flat, images[:n], true, pred):
        picture = image.transpose(1, 2, 0) if image.shape[0] == 3 else image[0]
        lo, hi = picture.min(), picture.max()
        ax.imshow((picture - lo) / (hi - lo + 1e-12), cmap=None if picture.ndim == 3 else "gray")
        ax.set_title(f"{classes[t]} → {classes[p]}", fontsize=7)
    fig.suptitle("misclassified (true → predicted)")
    return _save(fig, path)
