"""Learners' answers to the exercises, right and typically wrong, as backward bodies."""

from __future__ import annotations

import re
from pathlib import Path

from bprop.exercise import write_exercise

RIGHT = {
    "affine": "return dout @ w.T, x.T @ dout, dout.sum(axis=0)",
    "relu": "return dout * (x > 0)",
    "sigmoid": "return dout * s * (1 - s)",
    "softmax_ce": """n = p.shape[0]
dx = p.copy()
dx[np.arange(n), y] -= 1
return dout * dx / n""",
    "dropout": "return dout * mask / keep",
    "batchnorm": """dbeta = dout.sum(axis=0)
dgamma = (dout * x_hat).sum(axis=0)
a = gamma * dout
dx = (a - a.mean(axis=0) - x_hat * (a * x_hat).mean(axis=0)) / std
return dx, dgamma, dbeta""",
    "layernorm": """dbeta = dout.sum(axis=0)
dgamma = (dout * x_hat).sum(axis=0)
a = gamma * dout
dx = (a - a.mean(axis=1, keepdims=True) - x_hat * (a * x_hat).mean(axis=1, keepdims=True)) / std
return dx, dgamma, dbeta""",
    "conv": """F, _, HH, WW = w.shape
xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
dxp, dw = np.zeros_like(xp), np.zeros_like(w)
db = dout.sum(axis=(0, 2, 3))
for i in range(dout.shape[2]):
    for j in range(dout.shape[3]):
        rows, cols = slice(i * stride, i * stride + HH), slice(j * stride, j * stride + WW)
        dw += np.tensordot(dout[:, :, i, j], xp[:, :, rows, cols], axes=([0], [0]))
        dxp[:, :, rows, cols] += np.tensordot(dout[:, :, i, j], w, axes=([1], [0]))
return dxp[:, :, pad : pad + x.shape[2], pad : pad + x.shape[3]], dw, db""",
    "maxpool": """dx = np.zeros_like(x)
for i in range(dout.shape[2]):
    for j in range(dout.shape[3]):
        rows, cols = slice(i * stride, i * stride + size), slice(j * stride, j * stride + size)
        window = x[:, :, rows, cols]
        mask = window == window.max(axis=(2, 3), keepdims=True)
        dx[:, :, rows, cols] += mask * dout[:, :, i, j][:, :, None, None]
return dx""",
}


def with_backward(op: str, body: str, folder: Path, name: str | None = None) -> Path:
    """The exercise file for ``op`` with its backward's raise replaced by ``body``."""
    path = folder / f"{name or op}.py"
    write_exercise(op, path)
    indented = "\n".join("    " + line for line in body.splitlines())
    text = re.sub(r"    raise NotImplementedError\(.*\)", lambda _: indented, path.read_text())
    path.write_text(text)
    return path
