"""Shared test helpers: seeded float64 data, gradcheck shorthands and torch parity."""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import pytest

import bprop as bp
from bprop.autograd import ArrayFunction


def rand(*shape: int, seed: int = 0, low: float | None = None) -> np.ndarray:
    """float64 normal samples (or uniform in [low, low + 1) when low is given)."""
    rng = np.random.default_rng(seed + 1000 * len(shape) + sum(shape))
    if low is not None:
        return rng.random(shape) + low
    return rng.standard_normal(shape)


def worked_example(doc: str) -> dict[str, np.ndarray]:
    """The values the Python blocks of docs/DOC's "## Worked example" section define, as float64."""
    text = (Path(__file__).resolve().parents[1] / "docs" / doc).read_text(encoding="utf-8")
    values: dict = {}
    for block in re.findall(r"```python\n(.*?)```", text.split("## Worked example", 1)[1], re.S):
        exec(block, {}, values)
    return {k: np.asarray(v, dtype=np.float64) for k, v in values.items()}


def leaf(array: np.ndarray) -> bp.Tensor:
    return bp.tensor(np.asarray(array, dtype=np.float64), requires_grad=True)


def check(fn: Callable[..., bp.Tensor], *arrays: np.ndarray, **kw: Any) -> None:
    """gradcheck ``fn`` at float64 copies of ``arrays``; raises with details on failure."""
    assert bp.gradcheck(fn, [leaf(a) for a in arrays], **kw)


def torch_parity(
    bp_fn: Callable[..., Any], torch_fn: Callable[..., Any], *arrays: np.ndarray, atol: float = 1e-7, grads: bool = True
) -> None:
    """Same outputs and input gradients (for a random projection of the output) as torch."""
    torch = pytest.importorskip("torch")
    ours = [leaf(a) for a in arrays]
    theirs = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays]
    out, ref = bp_fn(*ours), torch_fn(*theirs)
    np.testing.assert_allclose(out.data, ref.detach().numpy(), atol=atol, rtol=1e-7)
    if not grads:
        return
    projection = np.random.default_rng(1).standard_normal(out.shape)
    out.backward(projection)
    ref.backward(torch.tensor(projection))
    for mine, other in zip(ours, theirs):
        expected = other.grad.numpy() if other.grad is not None else np.zeros(mine.shape)
        got = mine.grad if mine.grad is not None else np.zeros(mine.shape)
        np.testing.assert_allclose(got, expected, atol=atol, rtol=1e-7)


def torch_kwargs(options: dict) -> dict:
    """Options for a torch call: NumPy arrays (class weights, pos_weight) become tensors."""
    import torch

    return {k: (torch.tensor(v) if isinstance(v, np.ndarray) else v) for k, v in options.items()}


def shapes_ok(grads: Sequence[np.ndarray | None], tensors: Sequence[bp.Tensor]) -> bool:
    return all(g is None or g.shape == t.shape for g, t in zip(grads, tensors))


class _Probe(ArrayFunction):
    """Identity whose backward records the dtype of the gradient reaching it."""

    @staticmethod
    def forward(ctx: Any, x: np.ndarray, log: list) -> np.ndarray:
        ctx.log = log
        return x

    @staticmethod
    def backward(ctx: Any, grad: np.ndarray) -> tuple:
        ctx.log.append(grad.dtype)
        return (grad,)


def assert_float32_throughout(fn: Callable[..., bp.Tensor], *arrays: np.ndarray) -> None:
    """fn on float32 inputs gives float32 out, and every gradient it sends back is float32 too
    (a float64 detour inside a backward would show up here even though leaves cast it back)."""
    xs = [bp.tensor(np.asarray(a, dtype=np.float32), requires_grad=True) for a in arrays]
    log: list = []
    out = fn(*[_Probe.apply(x, log=log) for x in xs])
    assert out.dtype == np.float32, f"output is {out.dtype}"
    out.backward(np.ones(out.shape, dtype=np.float32))
    assert log and all(d == np.float32 for d in log), f"gradients reaching the inputs: {log}"


# ----- Chinese text ---------------------------------------------------------------------------
CJK = "\u3400-\u9fff"
# words that are code or mathematics, the same in every language
CODE = {
    *("Linear", "Conv2d", "MaxPool2d", "AvgPool2d", "BatchNorm1d", "BatchNorm2d", "LayerNorm", "Dropout"),
    *("Flatten", "Identity", "ReLU", "LeakyReLU", "Sigmoid", "Tanh", "GELU"),
    *("dropout", "log", "softmax", "mean", "max", "min", "tanh", "exp", "rot180", "crop", "dilate", "onehot"),
    *("torch", "nn", "linear", "sigmoid", "bias", "weight", "grad", "retain_grad", "inf", "nan"),
    *("RNN", "LSTM", "docs", "rnn", "backprop", "md", "bprop", "html"),
}
WORD = re.compile(
    r"(?<![A-Za-z0-9_.\\/-])[A-Za-z][A-Za-z0-9]*(?![A-Za-z0-9_(=]|\.[A-Za-z0-9_])"
)  # not code: f(, k=, a.b


def english_left(text: str, code: set[str] = frozenset()) -> list[str]:
    """The problems of a Chinese text (plain, Markdown or HTML): English words outside code (CODE
    and ``code``), ASCII punctuation touching a Chinese character, a Latin letter glued to one,
    Chinese inside ASCII parentheses."""
    text = re.sub(r"<(svg|style)\b.*?</\1>", "", text, flags=re.S)
    text = re.sub(r"\\(begin|end)\{bmatrix\}", "", text)  # markdown's LaTeX matrices
    text = html.unescape(re.sub(r"<[^>]+>", " ", text))
    text = re.sub(r"`[^`\n]*`", "", text)  # markdown code spans
    problems = []
    for line in text.splitlines():
        problems += [f"{w!r} in {line!r}" for w in WORD.findall(line) if len(w) > 1 and w not in CODE | code]
        if re.search(f"[{CJK}][,;:!?]|[,;:!?] *[{CJK}]", line):
            problems.append(f"ASCII punctuation beside Chinese: {line!r}")
        if re.search(f"[{CJK}][A-Za-z]|[A-Za-z][{CJK}]", line):
            problems.append(f"a Latin letter glued to Chinese: {line!r}")
        if re.search(f"\\([^()]*[{CJK}][^()]*\\)", line):
            problems.append(f"Chinese in ASCII parentheses: {line!r}")
    return problems


class ChannelsLast(ArrayFunction):
    """Identity whose output is stored channels-last (an NCHW view of an NHWC array), as conv,
    pool and activation outputs are inside a network: it steers conv2d from im2row to im2col,
    and lets avg_pool2d sum exact tiles by rows."""

    @staticmethod
    def forward(ctx: Any, x: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)

    @staticmethod
    def backward(ctx: Any, grad_out: np.ndarray) -> tuple:
        return (grad_out.copy(),)
