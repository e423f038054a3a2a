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
    "maxpool": """kh, kw = size
dx = np.zeros_like(x)
N, C = x.shape[:2]
n, c = np.meshgrid(np.arange(N), np.arange(C), indexing="ij")
for i in range(dout.shape[2]):
    for j in range(dout.shape[3]):
        window = x[:, :, i * stride : i * stride + kh, j * stride : j * stride + kw]
        first = window.reshape(N, C, -1).argmax(axis=2)
        r, s = np.unravel_index(first, (kh, kw))
        dx[n, c, i * stride + r, j * stride + s] += dout[:, :, i, j]
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


# A vectorised convolution backward as a learner who read note 001 writes it: dilate δ by the
# stride, pad it by the kernel's size − 1, correlate with the 180°-rotated kernel, crop.
FULL_CONVOLUTION = """N, C, H, W = x.shape
F, _, HH, WW = w.shape
Ho, Wo = dout.shape[2:]
dilated = np.zeros((N, F, (Ho - 1) * stride + 1, (Wo - 1) * stride + 1))
dilated[:, :, ::stride, ::stride] = dout
padded = np.pad(dilated, ((0, 0), (0, 0), (HH - 1, HH - 1), (WW - 1, WW - 1)))
rotated = w[:, :, ::-1, ::-1]
full = np.zeros((N, C, H + 2 * pad, W + 2 * pad))
for i in range(min(full.shape[2], padded.shape[2] - HH + 1)):
    for j in range(min(full.shape[3], padded.shape[3] - WW + 1)):
        full[:, :, i, j] = np.tensordot(padded[:, :, i : i + HH, j : j + WW], rotated, axes=([1, 2, 3], [0, 2, 3]))
dx = full[:, :, pad : pad + H, pad : pad + W]
xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
dw = np.zeros_like(w)
for i in range(Ho):
    for j in range(Wo):
        window = xp[:, :, i * stride : i * stride + HH, j * stride : j * stride + WW]
        dw += np.tensordot(dout[:, :, i, j], window, axes=([0], [0]))
return dx, dw, dout.sum(axis=(0, 2, 3))"""

# The staged batch-norm backward of cs231n's computational graph.
STAGED_BATCHNORM = """N = x_hat.shape[0]
dbeta = dout.sum(axis=0)
dgamma = (dout * x_hat).sum(axis=0)
dx_hat = dout * gamma
dvar = np.sum(dx_hat * x_hat * std, axis=0) * -0.5 * std ** -3
dmu = -np.sum(dx_hat / std, axis=0)
dx = dx_hat / std + dvar * 2 * x_hat * std / N + dmu / N
return dx, dgamma, dbeta"""

# More right answers, written other ways: each must pass too.
RIGHT_TOO = [
    ("affine", "return [dout @ w.T, x.T @ dout, dout.sum(axis=0)]"),  # a list: graded, with a note
    ("relu", "dx = dout.copy()\ndx[x <= 0] = 0\nreturn dx"),
    ("relu", "return np.where(x > 0, dout, 0.0)"),
    ("softmax_ce", "n = len(y)\np[np.arange(n), y] -= 1\nreturn p * dout / n"),
    ("batchnorm", STAGED_BATCHNORM),
    ("conv", FULL_CONVOLUTION),
    ("sigmoid", "return (dout * s * (1 - s),)"),
]

RB, RL, RC, RM = RIGHT["batchnorm"], RIGHT["layernorm"], RIGHT["conv"], RIGHT["maxpool"]
FC = FULL_CONVOLUTION
UNDILATED = FC.replace(
    "dilated = np.zeros((N, F, (Ho - 1) * stride + 1, (Wo - 1) * stride + 1))\n"
    "dilated[:, :, ::stride, ::stride] = dout",
    "dilated = dout",
)
AFFINE_BODY = "dx = dout @ w.T\ndw = x.T @ dout\ndb = dout.sum(axis=0)\n"
CE = "n = p.shape[0]\ndx = p.copy()\ndx[np.arange(n), y] -= 1\n"
POOL_LOOP = """kh, kw = size
dx = np.zeros_like(x)
for i in range(dout.shape[2]):
    for j in range(dout.shape[3]):
        rows, cols = slice(i * stride, i * stride + kh), slice(j * stride, j * stride + kw)
        window = x[:, :, rows, cols]
        mask = window == window.max(axis=(2, 3), keepdims=True)
"""

# Plausible wrong answers, as learners write them: (op, backward body, the gradient that is
# wrong or None when grading stops before the gradients, the catalogue key of the diagnosis
# or None where any "wrong" will do). Every one must be caught.
WRONG = [
    # affine
    ("affine", "return dout @ w.T, dout.T @ x, dout.sum(axis=0)", "dw", "d.transposed_shape"),
    ("affine", "return dout @ w.T, x.T @ dout, dout", "db", "d.missing_sum"),
    ("affine", "return dout @ w.T, x.T @ dout / x.shape[0], dout.sum(axis=0)", "dw", "d.extra_mean"),
    ("affine", "return dout @ w.T, x.T @ dout, dout.sum(axis=0, keepdims=True)", "db", "d.keepdims"),
    ("affine", AFFINE_BODY, None, "problem.returned_none"),
    ("affine", "return dout @ w, x.T @ dout, dout.sum(axis=0)", None, "problem.raised"),
    (
        "affine",
        "dx = np.zeros(x.shape, dtype=int)\ndx[:] = dout @ w.T\nreturn dx, x.T @ dout, dout.sum(axis=0)",
        "dx",
        "d.integers",
    ),
    ("affine", "return dout @ w.T, x.T @ dout, dout.mean(axis=0)", "db", "d.extra_mean"),
    ("affine", "return dout @ w.T, x.T @ dout, dout.sum(axis=1)", "db", "d.wrong_shape"),
    ("affine", "return dout @ w.T / x.shape[0], x.T @ dout, dout.sum(axis=0)", "dx", "d.extra_mean"),
    ("affine", "return dout @ w.T, x.T @ dout + w, dout.sum(axis=0)", "dw", "d.unknown"),
    ("affine", "return dout @ w.T, x.T @ dout", None, "problem.count"),
    ("affine", "return -(dout @ w.T), -(x.T @ dout), -dout.sum(axis=0)", "dx", "d.sign"),
    ("affine", "return dout @ w.T, np.outer(x.sum(axis=0), dout.sum(axis=0)), dout.sum(axis=0)", "dw", "d.unknown"),
    ("affine", "return dout @ w.T, x.T @ dout, dout.sum()", "db", "d.wrong_shape"),
    (
        "affine",
        "return np.array([dout @ w.T, x.T @ dout, dout.sum(axis=0)], dtype=object)",
        None,
        "problem.not_sequence",
    ),
    ("affine", "return dout @ w.T, x.T @ dout, b", "db", None),
    # relu
    ("relu", "return dout * (x >= 0)", "dx", "m.relu.at_zero"),
    ("relu", "return -dout * (x > 0)", "dx", "d.sign"),
    ("relu", "return (x > 0).astype(float)", "dx", "m.relu.no_dout"),
    ("relu", "return dout * np.maximum(x, 0)", "dx", "m.relu.times_out"),
    ("relu", "return np.maximum(dout, 0)", "dx", "m.relu.on_dout"),
    ("relu", "dx = dout.copy()\ndx[x < 0] = 0\nreturn dx", "dx", "m.relu.at_zero"),
    ("relu", "dout[x <= 0] = 0", None, "problem.returned_none"),
    ("relu", "return np.where(x >= 0, dout, 0)", "dx", "m.relu.at_zero"),
    ("relu", "return dout * np.sign(x)", "dx", None),
    ("relu", "return dout * (x < 0)", "dx", "m.relu.inverted"),
    ("relu", "return np.heaviside(x, 1) * dout", "dx", "m.relu.at_zero"),
    ("relu", "dx = np.zeros_like(x, dtype=int)\ndx[x > 0] = dout[x > 0]\nreturn dx", "dx", "d.integers"),
    ("relu", "return [dout * (x > 0)] * 2", None, "problem.count"),
    # sigmoid
    ("sigmoid", "sig = 1 / (1 + np.exp(-s))\nreturn dout * sig * (1 - sig)", "dx", "m.sigmoid.twice"),
    ("sigmoid", "return dout * (1 - s)", "dx", "m.sigmoid.no_s"),
    ("sigmoid", "return s * (1 - s)", "dx", "m.sigmoid.no_dout"),
    ("sigmoid", "return dout * s * (1 + s)", "dx", "m.sigmoid.one_plus"),
    ("sigmoid", "return dout * np.exp(-s) / (1 + np.exp(-s)) ** 2", "dx", "m.sigmoid.twice"),
    ("sigmoid", "return dout * s * (s - 1)", "dx", "d.sign"),
    ("sigmoid", "return dout * s", "dx", None),
    ("sigmoid", "return dout * (s - s * s) / s.shape[0]", "dx", "d.extra_mean"),
    # softmax cross-entropy
    ("softmax_ce", CE + "return dx / n", "dx", "d.ignored_dout_scalar"),
    ("softmax_ce", "n = p.shape[0]\ndx = p.copy()\ndx[:, y] -= 1\nreturn dout * dx / n", "dx", "m.ce.columns"),
    ("softmax_ce", "return dout * p / p.shape[0]", "dx", "m.ce.no_onehot"),
    ("softmax_ce", CE + "return dout * dx", "dx", "d.missing_mean"),
    ("softmax_ce", "return dout * (p - 1) / p.shape[0]", "dx", "m.ce.everywhere"),
    ("softmax_ce", CE + "return dx", "dx", "d.factor"),
    ("softmax_ce", "n = p.shape[0]\ndx = p.copy()\ndx[np.arange(n), y] += 1\nreturn dout * dx / n", "dx", None),
    ("softmax_ce", "dx = p - np.eye(p.shape[1])[y]\nreturn dout * dx.mean(axis=0)", "dx", "d.wrong_shape"),
    ("softmax_ce", CE + "return -dout * dx / n", "dx", "d.sign"),
    ("softmax_ce", CE + "dx = dout * dx / n", None, "problem.returned_none"),
    ("softmax_ce", CE + "return dout * dx / n, np.zeros_like(y)", None, "problem.count"),
    (
        "softmax_ce",
        "n = p.shape[0]\ndx = np.log(p)\ndx[np.arange(n), y] -= 1\nreturn dout * dx / n",
        "dx",
        "m.ce.log_p",
    ),
    ("softmax_ce", CE + "return abs(dout) * dx / n", "dx", None),
    # dropout
    ("dropout", "return dout * mask", "dx", "m.dropout.no_scale"),
    ("dropout", "return dout / keep", "dx", "m.dropout.no_mask"),
    ("dropout", "return dout * mask * keep", "dx", "m.dropout.times_keep"),
    ("dropout", "return dout * ~mask / keep", "dx", "m.dropout.inverted"),
    ("dropout", "return mask / keep", "dx", "d.ignored_dout"),
    ("dropout", "return dout * mask / (1 - keep)", "dx", None),
    # batch norm
    ("batchnorm", RB.replace(" - x_hat * (a * x_hat).mean(axis=0)", ""), "dx", "m.norm.no_var"),
    ("batchnorm", RB.replace(" - a.mean(axis=0)", ""), "dx", "m.norm.no_mean"),
    (
        "batchnorm",
        RB.replace("(a - a.mean(axis=0) - x_hat * (a * x_hat).mean(axis=0))", "a"),
        "dx",
        "m.norm.direct_only",
    ),
    ("batchnorm", RB.replace("a = gamma * dout", "a = dout"), "dx", "m.norm.no_gamma"),
    (
        "batchnorm",
        RB.replace("dgamma = (dout * x_hat).sum(axis=0)", "dgamma = dout * x_hat"),
        "dgamma",
        "d.missing_sum",
    ),
    ("batchnorm", RB.replace("return dx, dgamma, dbeta", "return dx, dbeta, dgamma"), "dgamma", "m.norm.gamma_is_beta"),
    (
        "batchnorm",
        STAGED_BATCHNORM.replace("* 2 * x_hat * std / N", "* 2 * x_hat * std / (N - 1)"),
        "dx",
        "m.norm.unbiased",
    ),
    ("batchnorm", RB.replace("- x_hat * (a * x_hat)", "+ x_hat * (a * x_hat)"), "dx", "m.norm.var_sign"),
    ("batchnorm", STAGED_BATCHNORM.replace("* -0.5 * std", "* 0.5 * std"), "dx", "m.norm.var_sign"),
    ("batchnorm", RB.replace(") / std", ") / std**2"), "dx", "m.norm.std_twice"),
    ("batchnorm", RB.replace("dbeta = dout.sum(axis=0)", "dbeta = dout.mean(axis=0)"), "dbeta", "d.extra_mean"),
    (
        "batchnorm",
        RB.replace("axis=0)", "axis=1, keepdims=True)")
        .replace("dout.sum(axis=1, keepdims=True)", "dout.sum(axis=0)")
        .replace("(dout * x_hat).sum(axis=1, keepdims=True)", "(dout * x_hat).sum(axis=0)"),
        "dx",
        "m.norm.wrong_axis",
    ),
    ("batchnorm", RB.replace(") / std", ")"), "dx", None),
    (
        "batchnorm",
        RB.replace("dbeta = dout.sum(axis=0)", "dbeta = dout.sum(axis=0, keepdims=True)"),
        "dbeta",
        "d.keepdims",
    ),
    (
        "batchnorm",
        STAGED_BATCHNORM.replace("dmu = -np.sum(dx_hat / std, axis=0)", "dmu = np.sum(dx_hat / std, axis=0)"),
        "dx",
        None,
    ),
    ("batchnorm", RB.replace("dx = (", "dx = gamma * ("), "dx", None),
    # layer norm
    ("layernorm", RL.replace("a = gamma * dout", "a = dout"), "dx", "m.norm.no_gamma"),
    ("layernorm", RL.replace("axis=1, keepdims=True", "axis=0"), "dx", "m.norm.wrong_axis"),
    (
        "layernorm",
        RL.replace("dgamma = (dout * x_hat).sum(axis=0)", "dgamma = (dout * x_hat).sum(axis=1)"),
        "dgamma",
        "d.wrong_shape",
    ),
    (
        "layernorm",
        RL.replace(
            "(a * x_hat).mean(axis=1, keepdims=True)", "(a * x_hat).sum(axis=1, keepdims=True) / (a.shape[1] - 1)"
        ),
        "dx",
        "m.norm.unbiased",
    ),
    ("layernorm", RL.replace(" - x_hat * (a * x_hat).mean(axis=1, keepdims=True)", ""), "dx", "m.norm.no_var"),
    ("layernorm", RL.replace("keepdims=True", "keepdims=False"), None, "problem.raised"),
    ("layernorm", RL.replace(") / std", ") / std / std"), "dx", "m.norm.std_twice"),
    ("layernorm", RL.replace("- x_hat * (a * x_hat)", "+ x_hat * (a * x_hat)"), "dx", "m.norm.var_sign"),
    ("layernorm", RL.replace("return dx, dgamma, dbeta", "return dx, dgamma * gamma, dbeta"), "dgamma", None),
    # convolution
    ("conv", FC.replace("rotated = w[:, :, ::-1, ::-1]", "rotated = w"), "dx", "m.conv.rotation"),
    ("conv", RC.replace("axes=([1], [0]))", "axes=([1], [0]))[:, :, ::-1, ::-1]"), "dx", "m.conv.rotation"),
    (
        "conv",
        UNDILATED,
        "dx",
        "m.conv.not_dilated",
    ),
    (
        "conv",
        RC.replace("dxp[:, :, pad : pad + x.shape[2], pad : pad + x.shape[3]]", "dxp[:, :, pad:-pad, pad:-pad]"),
        "dx",
        "m.conv.crop_minus",
    ),
    (
        "conv",
        RC.replace(
            "cols = slice(i * stride, i * stride + HH), slice(j * stride, j * stride + WW)",
            "cols = slice(i * stride, i * stride + HH), slice(j * stride, j * stride + HH)",
        ),
        None,
        "problem.raised",
    ),
    ("conv", RC.replace("dxp[:, :, rows, cols] +=", "dxp[:, :, rows, cols] ="), "dx", "m.conv.assign"),
    ("conv", RC.replace("dout.sum(axis=(0, 2, 3))", "dout.sum(axis=(0, 2, 3), keepdims=True)"), "db", "d.keepdims"),
    ("conv", RC.replace("dout.sum(axis=(0, 2, 3))", "dout.sum(axis=(2, 3))"), "db", "d.missing_sum"),
    ("conv", RC.replace("dw += np.tensordot", "dw = np.tensordot"), "dw", "m.conv.dw_last"),
    (
        "conv",
        RC.replace(
            "return dxp[:, :, pad : pad + x.shape[2], pad : pad + x.shape[3]], dw, db",
            "return dxp[:, :, pad : pad + x.shape[2], pad : pad + x.shape[3]], dw[:, :, ::-1, ::-1], db",
        ),
        "dw",
        "m.conv.dw_rotated",
    ),
    ("conv", RC.replace("dxp[:, :, pad : pad + x.shape[2], pad : pad + x.shape[3]]", "dxp"), "dx", "m.conv.uncropped"),
    (
        "conv",
        RC.replace(
            "dxp[:, :, pad : pad + x.shape[2], pad : pad + x.shape[3]]", "dxp[:, :, : x.shape[2], : x.shape[3]]"
        ),
        "dx",
        "m.conv.crop_side",
    ),
    ("conv", RC.replace("dout.sum(axis=(0, 2, 3))", "dout.mean(axis=(0, 2, 3))"), "db", "m.conv.db_mean"),
    (
        "conv",
        RC.replace("dout", "dout").replace("dout.sum(axis=(0, 2, 3))", "dout.sum(axis=(0, 2, 3)).astype(int)"),
        "db",
        "d.integers",
    ),
    ("conv", RC.replace("xp[:, :, rows, cols], axes", "x[:, :, rows, cols], axes"), None, None),
    (
        "conv",
        RC.replace(
            "dw += np.tensordot(dout[:, :, i, j], xp[:, :, rows, cols], axes=([0], [0]))",
            "dw += np.tensordot(dout[:, :, i, j], xp[:, :, rows, cols], axes=([0], [0])) / x.shape[0]",
        ),
        "dw",
        "d.extra_mean",
    ),
    ("conv", RC.replace("return dxp", "dx = dxp"), None, "problem.returned_none"),
    # max pooling
    (
        "maxpool",
        POOL_LOOP + "        dx[:, :, rows, cols] += mask * dout[:, :, i, j][:, :, None, None]\nreturn dx",
        "dx",
        "m.pool.all_ties",
    ),
    ("maxpool", RM.replace("+= dout[:, :, i, j]", "= dout[:, :, i, j]"), "dx", "m.pool.assign"),
    (
        "maxpool",
        POOL_LOOP + "        dx[:, :, rows, cols] = mask * dout[:, :, i, j][:, :, None, None]\nreturn dx",
        "dx",
        "m.pool.assign_ties",
    ),
    (
        "maxpool",
        POOL_LOOP + "        dx[:, :, rows, cols] += dout[:, :, i, j][:, :, None, None]\nreturn dx",
        "dx",
        "m.pool.every_entry",
    ),
    (
        "maxpool",
        POOL_LOOP + "        dx[:, :, rows, cols] += dout[:, :, i, j][:, :, None, None] / (kh * kw)\nreturn dx",
        "dx",
        "m.pool.average",
    ),
    (
        "maxpool",
        RM.replace(
            "first = window.reshape(N, C, -1).argmax(axis=2)",
            "first = kh * kw - 1 - window.reshape(N, C, -1)[:, :, ::-1].argmax(axis=2)",
        ),
        "dx",
        "m.pool.last_tie",
    ),
    (
        "maxpool",
        RM.replace("r, s = np.unravel_index(first, (kh, kw))", "r, s = divmod(first, kh)"),
        None,
        "problem.raised",
    ),
    (
        "maxpool",
        POOL_LOOP + "        dx[:, :, rows, cols] += mask * dout[:, :, i, j]\nreturn dx",
        None,
        "problem.raised",
    ),
    ("maxpool", RM.replace("return dx", "return dx.astype(np.int32)"), "dx", "d.integers"),
    ("maxpool", RM.replace("+= dout[:, :, i, j]", "+= 1"), "dx", None),
]
