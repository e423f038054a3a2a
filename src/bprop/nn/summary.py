"""A Keras-style model summary: each layer with its output shape and parameter count
(``model.summary(input_shape)`` or ``bp.summary(model, input_shape)``)."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from bprop.autograd import no_grad
from bprop.nn.module import Module
from bprop.tensor import Tensor


def capture_outputs(model: Module, x: Tensor) -> list[tuple[str, Module, np.ndarray]]:
    """(path, leaf layer, output array) for every leaf layer, in the order the forward pass runs
    them: one eval-mode forward of ``x`` with each leaf's forward wrapped for the occasion."""
    records: list[tuple[str, Module, np.ndarray]] = []
    leaves = [(name, m) for name, m in model.named_modules() if not m._modules]

    def wrap(name: str, module: Module) -> Any:
        original = type(module).forward

        def recording(*args: Any, **kwargs: Any) -> Any:
            out = original(module, *args, **kwargs)
            main = out if isinstance(out, Tensor) else out[0]  # recurrent layers: (output, final states)
            records.append((name or type(module).__name__, module, main._data))
            return out

        return recording

    for name, module in leaves:
        object.__setattr__(module, "forward", wrap(name, module))
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            model(x)
    finally:
        for _, module in leaves:
            object.__delattr__(module, "forward")
        model.train(was_training)
    return records


def layer_shapes(model: Module, input_shape: Sequence[int]) -> list[tuple[str, Module, tuple[int, ...]]]:
    """(path, leaf layer, output shape) for a batch of two zero inputs of ``input_shape``."""
    params = list(model.parameters())
    dtype = params[0].dtype if params else np.float32
    return [
        (name, m, out.shape)
        for name, m, out in capture_outputs(model, Tensor(np.zeros((2, *input_shape), dtype=dtype)))
    ]


class Summary(str):
    """The summary's text (a ``str``: print it, compare it) that also keeps its rows, so that a
    notebook shows it as a table."""

    model_name: str
    rows: list[tuple[str, str, int]]
    total: int
    trainable: int

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        from bprop.viz.notebook import summary_html

        return summary_html(self)


def summary(model: Module, input_shape: Sequence[int]) -> Summary:
    """The table: layer (module path and type), output shape (batch as None), parameters."""
    rows = [
        (
            f"{path} ({type(m).__name__})",
            str((None, *shape[1:])),
            sum(p.numel() for p in m._parameters.values() if p is not None),
        )
        for path, m, shape in layer_shapes(model, input_shape)
    ]
    total = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    w1 = max([len("Layer (type)")] + [len(r[0]) for r in rows]) + 2
    w2 = max([len("Output shape")] + [len(r[1]) for r in rows]) + 2
    rule = "=" * (w1 + w2 + 12)
    lines = [
        f'Model: "{type(model).__name__}"',
        rule,
        f"{'Layer (type)':<{w1}}{'Output shape':<{w2}}{'Param #':>10}",
        rule,
    ]
    lines += [f"{name:<{w1}}{shape:<{w2}}{count:>10,}" for name, shape, count in rows]
    lines += [
        rule,
        f"Total params: {total:,}",
        f"Trainable params: {trainable:,}",
        f"Non-trainable params: {total - trainable:,}",
        rule,
    ]
    table = Summary("\n".join(lines))
    table.model_name, table.rows, table.total, table.trainable = type(model).__name__, rows, total, trainable
    return table
