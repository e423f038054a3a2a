"""What ``bprop explain`` does, as a library call: ``ExplainOptions`` (the command's options,
each checked as the command checks it) and ``run_explain`` (the explanation as text, or written
to ``out`` with the step-through viewer beside an HTML page).

    from bprop.viz.explain_options import ExplainOptions, run_explain
    print(run_explain(ExplainOptions(model="fcnet", batchnorm=True)))

Options that belong to one kind of explanation (``steps`` to ``rnn``, ``kernel`` to ``conv``)
default to None, so that giving one to another kind is an error, not silently ignored; their
values come from ``DEFAULTS`` when they are used.
"""

from __future__ import annotations

import copy
import dataclasses
import itertools
from pathlib import Path
from typing import Any

import numpy as np

from bprop import nn
from bprop.data.registry import dataset_spec
from bprop.random import manual_seed
from bprop.serialization import atomic_write_bytes
from bprop.tensor import tensor
from bprop.train.paths import check_writable_file
from bprop.train.run import RunError, model_from_checkpoint
from bprop.train.run_config import check_option

MAX_WEIGHTS = 400  # every number is printed: beyond this the output is unreadable
DEFAULTS = {
    "activation": "sigmoid", "loss": "mse",  # the dense network's
    "size": 5, "kernel": 3, "stride": 2, "padding": 1,  # conv's
    "steps": 10,  # rnn's
}  # fmt: skip
CONV_OPTIONS = ("size", "kernel", "stride", "padding")
CHOICES = {
    "activation": ("sigmoid", "tanh", "relu", "identity"),
    "loss": ("mse", "cross_entropy"),
    "model": ("fcnet", "convnet", "lenet5"),
    "format": ("text", "markdown", "html"),
    "lang": ("en", "zh"),
    "rnn": ("rnn", "lstm"),
}


@dataclasses.dataclass
class ExplainOptions:
    """The options of ``bprop explain`` (the flags without their dashes); ValueError subclasses
    (RunError, ConfigError) name the option at fault, in the command's words."""

    sizes: str | None = None
    activation: str | None = None
    loss: str | None = None
    model: str | None = None
    batchnorm: bool = False
    dropout: float | None = None
    batch: int | None = None
    checkpoint: str | None = None
    samples: int | None = None
    lr: float = 0.5
    seed: int = 0
    format: str = "text"
    lang: str = "en"
    out: str | None = None
    conv: bool = False
    size: int | None = None
    kernel: int | None = None
    stride: int | None = None
    padding: int | None = None
    rnn: str | None = None
    steps: int | None = None

    def __post_init__(self) -> None:
        for name, allowed in CHOICES.items():
            value = getattr(self, name)
            if value is not None and value not in allowed:
                raise RunError(f"--{name} must be one of {', '.join(allowed)}, got {value!r}")
        self._check_kinds()
        if not (np.isfinite(self.lr) and self.lr > 0):
            raise RunError(f"--lr must be a number > 0, got {self.lr}")
        check_option("seed", self.seed)  # the range of train's --seed: NumPy refuses a negative one
        if self.out is not None:
            check_writable_file(self.out, "--out")

    def _check_kinds(self) -> None:
        """Options that do not go together, or apply to another kind of explanation."""
        groups = {
            "--checkpoint": self.checkpoint,
            "--model": self.model,
            "--conv": self.conv,
            "--rnn": self.rnn,
            "--sizes": self.sizes is not None,
        }
        chosen = [name for name, value in groups.items() if value]
        if len(chosen) > 1:
            raise RunError(f"{' and '.join(chosen)} do not go together: explain one network at a time")
        extras = {
            "--batchnorm": (self.batchnorm, "--model"),
            "--dropout": (self.dropout is not None, "--model"),
            "--batch": (self.batch is not None, "--model"),
            "--samples": (self.samples is not None, "--checkpoint"),
            "--steps": (self.steps is not None, "--rnn"),
            **{f"--{name}": (getattr(self, name) is not None, "--conv") for name in CONV_OPTIONS},
        }
        for name, (given, needs) in extras.items():
            if given and not groups[needs]:
                raise RunError(f"{name} applies to {needs}")
        others = [name for name in ("--checkpoint", "--model", "--conv", "--rnn") if groups[name]]
        for name in ("--activation", "--loss"):
            if getattr(self, name[2:]) is not None and others:
                raise RunError(f"{name} applies to a dense network (--sizes), not to {others[0]}")

    def value(self, name: str) -> Any:
        """The option's value, or its default when it was not given."""
        given = getattr(self, name)
        return DEFAULTS.get(name) if given is None else given


def run_explain(options: ExplainOptions) -> str:
    """The explanation in ``options.format``, or, with ``options.out``, the line saying what was
    written there (an HTML page of a dense network gets the step-through viewer beside it)."""
    text, viewer = _explanation(options)
    if not options.out:
        return text
    atomic_write_bytes(options.out, text.encode("utf-8"))
    return f"wrote {options.out}" + (f" and the step-through viewer {viewer} beside it" if viewer else "")


def _explanation(o: ExplainOptions) -> tuple[str, str | None]:
    """(the explanation's text, the viewer's file name or None)."""
    if o.rnn:
        from bprop.viz.explain_rnn import explain_rnn

        result: Any = explain_rnn(o.rnn, _in_range("steps", o.value("steps"), high=100), seed=o.seed)
        return _render(result, o.format, o.lang), None
    if o.conv:
        return _render(_conv(o), o.format, o.lang), None
    from bprop.viz.explain import explain

    model, x, y, loss = explained_case(o)
    try:
        result = explain(model, x, y, loss=loss, lr=o.lr)
    except ValueError as err:
        raise _explain_error(err) from None
    if o.format != "html":
        return _render(result, o.format, o.lang), None
    viewer = _viewer_beside(o.out, model, x, y, loss) if o.out else None
    return result.to_html(o.lang, viewer), viewer


def _render(result: Any, format: str, lang: str) -> str:
    return {"text": result.to_text, "markdown": result.to_markdown, "html": result.to_html}[format](lang)


def _conv(o: ExplainOptions) -> Any:
    from bprop.viz.explain_conv import explain_conv

    size, kernel = _in_range("size", o.value("size")), _in_range("kernel", o.value("kernel"))
    stride, padding = _in_range("stride", o.value("stride")), _in_range("padding", o.value("padding"), low=0)
    if kernel > size + 2 * padding:
        raise RunError(f"--kernel {kernel} does not fit the padded input of {size + 2 * padding}×{size + 2 * padding}")
    return explain_conv((size, size), (kernel, kernel), (stride, stride), (padding, padding), seed=o.seed)


def _in_range(name: str, value: int, low: int = 1, high: int = 32) -> int:
    if not low <= value <= high:
        raise RunError(f"--{name} must be an integer in [{low}, {high}], got {value}")
    return value


def layer_sizes(text: str) -> list[int]:
    """``--sizes`` as a list of layer sizes: two or more, positive, at most ``MAX_WEIGHTS`` weights."""
    try:
        sizes = [int(n) for n in text.split(",")]
    except ValueError:
        sizes = []
    if len(sizes) < 2 or min(sizes) < 1:
        raise RunError(f"--sizes needs at least two positive layer sizes separated by commas, got {text!r}")
    weights = sum(a * b for a, b in itertools.pairwise(sizes))
    if weights > MAX_WEIGHTS:
        raise RunError(
            f"--sizes {text}: {weights:,} weights is too many to show every number; "
            f"explain takes at most {MAX_WEIGHTS} (e.g. --sizes 4,5,3)"
        )
    return sizes


def explained_case(o: ExplainOptions) -> tuple[Any, Any, Any, str]:
    """(model, x, y, loss) of a dense explanation; model None is the classic teaching example."""
    from bprop.viz.cases import checkpoint_case, model_case
    from bprop.viz.explain import build_network

    try:
        if o.checkpoint:
            _check_explainable(o.checkpoint)
            manual_seed(o.seed)  # the dropout masks of a model seen in training mode
            model, x, y, _ = checkpoint_case(o.checkpoint, 4 if o.samples is None else o.samples)
            return model, x, y, "cross_entropy"
        if o.model:
            batch = 4 if o.batch is None else o.batch
            model, x, y = model_case(o.model, o.batchnorm, o.dropout or 0.0, batch, o.seed)
            return model, x, y, "cross_entropy"
    except ValueError as err:
        raise _explain_error(err) from None
    activation, loss = o.value("activation"), o.value("loss")
    if o.sizes is None and activation == "sigmoid" and loss == "mse":
        return None, None, None, "mse"
    sizes = layer_sizes("2,2,2" if o.sizes is None else o.sizes)
    # with a cross-entropy the last layer's activation is its softmax (note 000), not σ before it
    model = build_network(sizes, activation, seed=o.seed, output_activation=loss != "cross_entropy")
    rng = np.random.default_rng(o.seed)
    x = rng.uniform(-1, 1, sizes[0])
    y = np.eye(sizes[-1])[rng.integers(sizes[-1])] if loss == "cross_entropy" else rng.uniform(0, 1, sizes[-1])
    return model, x, y, loss


def _check_explainable(path: str) -> None:
    """Refuse a checkpoint whose layers explain has no derivation for, saying what it holds;
    checked before its data is loaded, so that a language model is refused for what it is."""
    from bprop.viz.explain import unexplainable_layers

    model, config, _ = model_from_checkpoint(path)
    layers = unexplainable_layers(model)
    if layers:
        kind = "language model" if dataset_spec(config.data).task == "language-model" else "classifier"
        raise RunError(
            f"--checkpoint {path} holds a {kind} ({config.model}: layers {', '.join(layers)}), which explain cannot "
            "show: it explains chains of Linear, Conv2d, pooling, batch-norm, dropout and activation layers, "
            "such as fcnet, convnet and lenet5 checkpoints"
        )


def _explain_error(err: ValueError) -> RunError:
    """The library's message without its own "explain:" prefix: the command already starts the
    line with "bprop explain: error:"."""
    return RunError(str(err).removeprefix("explain: "))


def _viewer_beside(out: str, model: Any, x: Any, y: Any, loss: str) -> str:
    """Write the step-through viewer of the same network and batch next to ``out``; its file name."""
    from bprop.viz import teaching_network, view

    if model is None:
        model, x, y = teaching_network()
    graph_model = copy.deepcopy(model).to(np.float64)
    xt = tensor(np.asarray(x, dtype=np.float64))
    xt = xt.reshape(1, -1) if xt.ndim == 1 else xt
    output = graph_model(xt)
    target = np.asarray(y)
    if loss == "cross_entropy":
        cost = nn.functional.cross_entropy(
            output, target if target.dtype.kind in "iu" else target.reshape(output.shape)
        )
    else:
        cost = nn.functional.mse_loss(output, tensor(target.reshape(output.shape).astype(np.float64)))
    path = Path(out).with_name(Path(out).stem + "-graph.html")
    view(cost, dict(graph_model.named_parameters()), path)
    return path.name
