"""report.html: one self-contained page about a training run (images inlined as base64, no
network resource), built from what `bprop train --report DIR` saves in DIR, so that
`bprop report DIR` can rebuild it later."""

from __future__ import annotations

import base64
import html
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from bprop import nn
from bprop.data import Dataset
from bprop.data.registry import dataset_spec
from bprop.i18n import check_lang, text
from bprop.serialization import atomic_write_bytes, load, save
from bprop.train.callbacks import Callback
from bprop.train.run import RunError, class_names, model_from_checkpoint
from bprop.viz import plots
from bprop.viz.delta_recorder import DeltaRecorder
from bprop.viz.recorder import VizRecorder

SECTIONS = (  # the headings (in English; the catalogue's run.<heading> in other languages) and ids
    "Configuration",
    "Model summary",
    "Final metrics",
    "Training curves",
    "Gradient flow",
    "δ per layer",
    "Weights and activations",
    "First-layer filters",
    "Confusion matrix",
    "Misclassified examples",
)
STYLE = (
    "body{font-family:sans-serif;margin:2em;max-width:1100px}h2{border-bottom:1px solid #ccc}"
    "table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:3px 8px;text-align:left}"
    "pre{background:#f6f6f6;padding:1em;overflow:auto}img{max-width:100%}"
)


def _image(path: Path) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return f"<img alt='{html.escape(path.stem)}' src='data:image/png;base64,{data}'>"


def _table(rows: dict[str, Any]) -> str:
    body = "".join(f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(str(v))}</td></tr>" for k, v in rows.items())
    return f"<table>{body}</table>"


# Options that never change what a run computes, and those each model ignores: the report's
# configuration table leaves them out, so that every row it shows shaped the run.
_INERT = {"download", "quiet", "out", "report", "threads", "input_shape"}
_MODEL_ONLY = {"hidden", "normalization", "batchnorm", "dropout", "weight_scale"}
_MODEL_USES = {
    "fcnet": {"hidden", "normalization", "batchnorm", "dropout", "weight_scale"},
    "mlp": {"hidden", "normalization", "batchnorm", "dropout"},
    "convnet": {"hidden", "weight_scale"},
    "lenet5": set(),
    "lenet5-classic": set(),
}


def shaping_options(config: dict[str, Any]) -> dict[str, Any]:
    """The options of ``config`` that played a part in the run: no output or display switches,
    no option left off (None), no model option the chosen model ignores, no momentum for an
    optimizer without it, no augmentation for a data set without any, no data folder for the
    digits bundled with bprop."""
    model, data = config.get("model"), config.get("data")
    uses = _MODEL_USES.get(model, _MODEL_ONLY)
    try:
        from bprop.data.registry import dataset_spec

        augmentable = dataset_spec(data).augmentable
    except Exception:  # an unknown data set (an old run): keep the option
        augmentable = True
    shown = {}
    for key, value in config.items():
        if key in _INERT or value is None or (key in _MODEL_ONLY and key not in uses):
            continue
        if (key == "momentum" and config.get("optimizer") not in ("sgd", "rmsprop")) or (
            key == "nesterov" and not value
        ):
            continue
        if (key == "augment" and not augmentable) or (key == "data_dir" and data == "digits"):
            continue
        shown[key] = value[:1] if key == "hidden" and model == "convnet" else value
    return shown


def per_class_table(metrics: dict[str, Any], classes: Sequence[str], lang: str = "en") -> str:
    """Precision, recall and F1 of each class with three decimals, and its support (test samples)."""
    if "precision" not in metrics:
        return ""
    support = np.asarray(metrics["confusion_matrix"]).sum(axis=1) if "confusion_matrix" in metrics else None
    columns = ("class", "precision", "recall", "f1") + (("support",) if support is not None else ())
    head = "<tr>" + "".join(f"<th>{html.escape(text(f'run.{c}', lang))}</th>" for c in columns) + "</tr>"
    rows = []
    for i, (p, r, f) in enumerate(zip(metrics["precision"], metrics["recall"], metrics["f1"])):
        name = classes[i] if i < len(classes) else str(i)
        count = f"<td>{int(support[i])}</td>" if support is not None else ""
        rows.append(
            f"<tr><th>{html.escape(str(name))}</th><td>{p:.3f}</td><td>{r:.3f}</td><td>{f:.3f}</td>{count}</tr>"
        )
    return f"<h3>{text('run.per_class', lang)}</h3><table class='per-class'>{head}{''.join(rows)}</table>"


def _final_metrics(metrics: dict[str, Any], classes: Sequence[str], lang: str) -> str:
    per_class = {"precision", "recall", "f1", "confusion_matrix", "classes"}
    scalars = {
        k: (f"{v:.4f}" if isinstance(v, float) else v)
        for k, v in metrics.items()
        if k not in per_class and not isinstance(v, (list, dict))
    }
    return _table(scalars) + per_class_table(metrics, classes, lang)


def _delta_section(deltas: DeltaRecorder | None, folder: Path, lang: str) -> str:
    """The δ plot, the verdicts in words and the histograms of each layer's latest δ."""
    if deltas is None or not deltas.norms:
        return f"<p>{html.escape(text('run.no_deltas', lang))}</p>"
    verdicts = "".join(f"<li>{html.escape(v)}</li>" for v in deltas.verdicts(lang))
    parts = [
        f"<ul class='verdicts'>{verdicts}</ul>",
        _image(plots.plot_delta_per_layer(deltas.layers, deltas.norms, folder / "delta.png")),
    ]
    if deltas.deltas:
        parts.append(_image(plots.plot_histograms(deltas.deltas, folder / "delta_hist.png", "δ")))
    return "".join(parts)


def build_report(
    config: dict[str, Any],
    summary_text: str,
    metrics: dict[str, Any],
    epochs: Sequence[dict[str, float]],
    recorder: VizRecorder,
    classes: Sequence[str],
    misclassified: dict[str, np.ndarray] | None = None,
    deltas: DeltaRecorder | None = None,
    lang: str = "en",
) -> str:
    """The HTML text of the report in ``lang`` ("en" or "zh"); every section is present (saying
    so when it has no data)."""
    check_lang(lang)

    def missing(key: str) -> str:
        return f"<p>{html.escape(text(key, lang))}</p>"

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        parts: dict[str, str] = {
            "Configuration": _table(shaping_options(config)),
            "Model summary": f"<pre>{html.escape(summary_text)}</pre>",
            "Final metrics": _final_metrics(metrics, classes, lang),
        }
        parts["Training curves"] = (
            _image(plots.plot_history(epochs, folder / "curves.png")) if epochs else missing("run.no_epochs")
        )
        parts["Gradient flow"] = (
            _image(plots.plot_gradient_flow(recorder.steps, recorder.grad_norms, folder / "gradients.png"))
            if recorder.steps
            else missing("run.few_steps")
        )
        parts["δ per layer"] = _delta_section(deltas, folder, lang)
        hist = []
        if recorder.weights:
            hist.append(_image(plots.plot_histograms(recorder.weights, folder / "weights.png", "weights")))
        if recorder.activations:
            hist.append(_image(plots.plot_histograms(recorder.activations, folder / "activations.png", "activations")))
        parts["Weights and activations"] = "".join(hist) or missing("run.not_recorded")
        conv = [w for w in recorder.weights.values() if w.ndim == 4]
        parts["First-layer filters"] = (
            _image(plots.plot_filters(conv[0], folder / "filters.png")) if conv else missing("run.no_conv")
        )
        matrix = metrics.get("confusion_matrix")
        parts["Confusion matrix"] = (
            _image(plots.plot_confusion(np.asarray(matrix), classes, folder / "cm.png"))
            if matrix is not None
            else missing("run.no_evaluation")
        )
        if misclassified is not None and len(misclassified["images"]):
            parts["Misclassified examples"] = _image(
                plots.plot_misclassified(
                    misclassified["images"], misclassified["true"], misclassified["pred"], classes, folder / "wrong.png"
                )
            )
        else:
            parts["Misclassified examples"] = missing("run.all_right")
    title = text("run.title", lang, model=config.get("model", "model"), data=config.get("data", "data"))
    headings = {s: html.escape(text(f"run.{s}", lang)) for s in SECTIONS}
    body = "".join(
        f"<section id='{s.lower().replace(' ', '-')}'><h2>{headings[s]}</h2>{parts[s]}</section>" for s in SECTIONS
    )
    return (
        f"<!DOCTYPE html><html lang='{lang}'><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{STYLE}</style></head><body><h1>{html.escape(title)}</h1>{body}</body></html>"
    )


def write_report(
    directory: str | os.PathLike,
    config: dict[str, Any],
    summary_text: str,
    metrics: dict[str, Any],
    epochs: Sequence[dict[str, float]],
    recorder: VizRecorder,
    classes: Sequence[str],
    misclassified: dict[str, np.ndarray] | None = None,
    deltas: DeltaRecorder | None = None,
    lang: str = "en",
) -> Path:
    path = Path(directory) / "report.html"
    page = build_report(config, summary_text, metrics, epochs, recorder, classes, misclassified, deltas, lang)
    atomic_write_bytes(path, page.encode("utf-8"))
    return path


def load_run_metrics(directory: str | os.PathLike) -> dict[str, Any]:
    return json.loads((Path(directory) / "metrics.json").read_text())


class RunReport(Callback):
    """``bprop train --report DIR``, ``RunConfig(report=DIR)``: ``run(config)`` adds this callback,
    which records what report.html shows while the run trains (gradient flow, weights and
    activations of 64 training inputs, ten records an epoch: VizRecorder; δ per layer:
    DeltaRecorder), and ``write(result)`` saves those with the misclassified test examples and
    writes the page once the run is over."""

    def __init__(self, folder: str | os.PathLike, transform: Callable | None = None):
        self.folder, self.transform = Path(folder), transform
        self.recorder, self.deltas = VizRecorder(), DeltaRecorder()

    def on_train_begin(self, trainer: Any) -> None:
        dataset = trainer.loader.dataset
        probe = dataset.gather(np.arange(min(64, len(dataset))))[0]
        self.recorder.probe = self.transform(probe) if self.transform is not None else np.asarray(probe)
        self.recorder.every = max(1, len(trainer.loader) // 10)
        self.deltas.on_train_begin(trainer)

    def on_batch_end(self, trainer: Any) -> None:
        self.recorder.on_batch_end(trainer)
        self.deltas.on_batch_end(trainer)

    def on_epoch_end(self, trainer: Any, logs: dict[str, float]) -> None:
        self.recorder.on_epoch_end(trainer, logs)
        self.deltas.on_epoch_end(trainer, logs)

    def on_train_end(self, trainer: Any) -> None:
        self.deltas.on_train_end(trainer)

    def write(self, result: Any) -> Path:
        """Save the recordings and the misclassified examples next to the run's files; report.html."""
        self.folder.mkdir(parents=True, exist_ok=True)
        self.recorder.save(self.folder / "viz.npz")
        self.deltas.remove_hooks()
        self.deltas.save(self.folder / "delta.npz")
        save_misclassified(result.model, result.test_set, result.eval_transform, self.folder / "examples.npz")
        if result.out != self.folder:
            for name in ("last.npz", "metrics.json"):
                atomic_write_bytes(self.folder / name, (result.out / name).read_bytes())
        return write_run_report(self.folder)


def save_misclassified(
    model: nn.Module, test_set: Dataset, transform: Callable | None, path: Path, limit: int = 25
) -> None:
    """The first ``limit`` misclassified test inputs (untransformed), their true and predicted labels."""
    from bprop.train import predict

    inputs, targets = (np.asarray(a) for a in test_set.arrays()[:2])
    pred = predict(model, test_set, transform=transform).argmax(axis=1)
    wrong = np.flatnonzero(pred != targets)[:limit]
    classes = class_names(test_set) or [str(c) for c in range(10)]
    save(
        {
            "images": inputs[wrong].astype(np.float32),
            "true": targets[wrong],
            "pred": pred[wrong],
            "classes": list(classes),
        },
        path,
    )


def write_run_report(run_dir: str | os.PathLike, lang: str = "en") -> Path:
    """report.html from what a run left in ``run_dir`` (last.npz, metrics.json, viz.npz,
    examples.npz), its words in ``lang`` ("en" or "zh")."""
    if not str(run_dir):  # Path("") would be the current folder
        raise RunError("give the folder of a run (bprop train --out DIR), not an empty name")
    check_lang(lang)
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise RunError(f"{run_dir} is not a folder: give the folder of a run written with --out or --report")
    checkpoint = run_dir / "last.npz"
    if not checkpoint.exists():
        raise RunError(f"{run_dir} has no last.npz: give the folder of a run written with --out or --report")
    model, run_config, state = model_from_checkpoint(checkpoint)
    if dataset_spec(run_config.data).task == "language-model":
        raise RunError(
            f"{run_dir} holds a language model ({run_config.model}); report draws a classifier's plots and "
            f"examples: see {run_dir / 'metrics.json'}, or `bprop sample {checkpoint} --prompt TEXT`"
        )
    config = state["config"]
    metrics = _run_file(run_dir / "metrics.json", lambda path: json.loads(path.read_text())) or {}
    recorder = _run_file(run_dir / "viz.npz", VizRecorder.load) or VizRecorder()
    deltas = _run_file(run_dir / "delta.npz", DeltaRecorder.load)
    examples = _run_file(run_dir / "examples.npz", load)
    if not recorder.weights:
        recorder.weights = {n: np.asarray(p) for n, p in model.named_parameters() if p.ndim >= 2}
    classes = examples["classes"] if examples else [str(c) for c in range(config["num_classes"])]
    try:
        return write_report(
            run_dir,
            config,
            model.summary(tuple(config["input_shape"])),
            metrics,
            state.get("history", {}).get("epochs", []),
            recorder,
            classes,
            examples,
            deltas,
            lang,
        )
    except ImportError as err:
        raise RunError(str(err)) from None


def _run_file(path: Path, read: Callable[[Path], Any]) -> Any:
    """What ``read`` makes of one file of a run, None when the run has none; a damaged file is
    a RunError that names it."""
    if not path.exists():
        return None
    try:
        return read(path)
    except (ValueError, OSError, KeyError) as err:  # json.JSONDecodeError is a ValueError
        message = str(err).removeprefix("bp.load: ")
        raise RunError(message if str(path) in message else f"{path} is damaged: {message}") from None
