"""Exercises on the spatial ops: convolution and max pooling."""

from __future__ import annotations

import numpy as np

from bprop.cs231n.layers import run_forward
from bprop.exercise.catalog import Backward, Case, Exercise, Inputs, Mistakes, header
from bprop.i18n import msg
from bprop.ops import conv, pooling

CONV = (
    header("a convolution layer", "conv", "(dx, dw, db)")
    + '''

def forward(x, w, b, stride=1, pad=1):
    """out[n, f, i, j] = b[f] + Σ_{c,r,s} w[f, c, r, s]·xp[n, c, i·stride + r, j·stride + s]
    for x (N, C, H, W), w (F, C, HH, WW), b (F,), xp = x zero-padded by ``pad`` pixels."""
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    Ho = 1 + (H + 2 * pad - HH) // stride
    Wo = 1 + (W + 2 * pad - WW) // stride
    out = np.zeros((N, F, Ho, Wo))
    for i in range(Ho):
        for j in range(Wo):
            window = xp[:, :, i * stride : i * stride + HH, j * stride : j * stride + WW]
            out[:, :, i, j] = np.tensordot(window, w, axes=([1, 2, 3], [1, 2, 3])) + b
    cache = (x, w, b, stride, pad)
    return out, cache


def backward(dout, cache):
    x, w, b, stride, pad = cache
    # Each output out[n, f, i, j] is an affine function of one window of xp: go over the
    # same (i, j) loop as the forward pass and send dout[:, :, i, j] back along it.
    # - db[f] = Σ_{n,i,j} dout[n, f, i, j]: b[f] is added at every position of every image.
    # - dw[f] += Σ_n dout[n, f, i, j]·window[n]: the weights see every window of every image.
    # - dxp[window of (i, j)] += Σ_f dout[n, f, i, j]·w[f]: windows overlap, so add (+=).
    #   Then dx is dxp without its padding: the padded zeros are not inputs.
    # (All at once, dx is the full convolution of dout with the 180°-rotated kernel; the loop
    # above gets it without rotating anything.)
    raise NotImplementedError("write the backward pass of the convolution")
'''
)

MAXPOOL = (
    header("max pooling", "maxpool", "dx")
    + '''

def forward(x, size=(2, 2), stride=2):
    """out[n, c, i, j] = the maximum of x[n, c] over the kh×kw window at (i·stride, j·stride),
    size = (kh, kw)."""
    N, C, H, W = x.shape
    kh, kw = size
    Ho = 1 + (H - kh) // stride
    Wo = 1 + (W - kw) // stride
    out = np.zeros((N, C, Ho, Wo))
    for i in range(Ho):
        for j in range(Wo):
            out[:, :, i, j] = x[:, :, i * stride : i * stride + kh, j * stride : j * stride + kw].max(axis=(2, 3))
    cache = (x, size, stride)
    return out, cache


def backward(dout, cache):
    x, size, stride = cache
    # Near x, the max of a window is its largest entry itself: derivative 1 for that entry
    # and 0 for the others, which do not change the max when nudged.
    # So each dout[n, c, i, j] goes to the position of its window's maximum, and nowhere else.
    # Ties (equal entries, common after a ReLU) have no derivative; the convention, torch's
    # and bprop's, is that only the FIRST maximum in row-major order gets dout: flatten the
    # window to (N, C, kh·kw) and take np.argmax, which returns the first one.
    # Loop over (i, j) as the forward does; windows overlap when stride < kh or kw, so add
    # (+=) into dx.
    raise NotImplementedError("write the backward pass of max pooling")
'''
)


def conv_cases(rng: np.random.Generator) -> list[Case]:
    def case(x: tuple, w: tuple, stride: int, pad: int, note: str) -> Case:
        inputs = {"x": rng.standard_normal(x), "w": rng.standard_normal(w), "b": rng.standard_normal(w[0])}
        return Case({**inputs, "stride": stride, "pad": pad}, msg(note))

    return [
        case((2, 3, 5, 6), (4, 3, 3, 2), 2, 1, "case.overlap"),
        case((1, 2, 6, 5), (3, 2, 2, 3), 1, 0, "case.pad0"),
        case((2, 1, 7, 7), (2, 1, 2, 2), 3, 2, "case.stride_gaps"),
    ]


def conv_reference(inputs: Inputs) -> tuple[np.ndarray, Backward]:
    x, w, b = inputs["x"], inputs["w"], inputs["b"]
    out, cache = run_forward(conv.Conv2d, x, w, b, stride=inputs["stride"], padding=inputs["pad"])
    return out, cache.backward


def conv_dxp(shape: tuple, w: np.ndarray, dout: np.ndarray, stride: int, pad: int, add: bool = True) -> np.ndarray:
    """The gradient of the padded input, the loop way; ``add=False`` assigns each window's share."""
    n, c, h, w_ = shape
    kh, kw = w.shape[2:]
    dxp = np.zeros((n, c, h + 2 * pad, w_ + 2 * pad))
    for i in range(dout.shape[2]):
        for j in range(dout.shape[3]):
            share = np.tensordot(dout[:, :, i, j], w, axes=([1], [0]))
            rows, cols = slice(i * stride, i * stride + kh), slice(j * stride, j * stride + kw)
            if add:
                dxp[:, :, rows, cols] += share
            else:
                dxp[:, :, rows, cols] = share
    return dxp


def undilated(shape: tuple, w: np.ndarray, dout: np.ndarray, pad: int) -> list[np.ndarray]:
    """What a full convolution of δ with the rotated kernel gives when δ is not dilated by the
    stride: the whole result, cropped as for stride 1, and that cut or zero-filled to H×W."""
    N, C, H, W = shape
    full = conv_dxp((N, C, dout.shape[2] + w.shape[2] - 1, dout.shape[3] + w.shape[3] - 1), w, dout, 1, 0)
    cropped = full[:, :, pad : pad + H, pad : pad + W]
    filled = np.zeros(shape)
    filled[:, :, : cropped.shape[2], : cropped.shape[3]] = cropped
    return [full, cropped, filled]


def conv_mistakes(inputs: Inputs, dout: np.ndarray) -> Mistakes:
    x, w, stride, pad = (inputs[k] for k in ("x", "w", "stride", "pad"))
    H, W = x.shape[2:]

    def crop(dxp: np.ndarray) -> np.ndarray:
        return dxp[:, :, pad : pad + H, pad : pad + W]

    dxp = conv_dxp(x.shape, w, dout, stride, pad)
    dx = [
        (msg("m.conv.rotation"), crop(conv_dxp(x.shape, w[:, :, ::-1, ::-1], dout, stride, pad))),
        (msg("m.conv.uncropped", pad=pad), dxp),
        (msg("m.conv.crop_minus"), dxp[:, :, pad:-pad, pad:-pad]),
        (msg("m.conv.assign"), crop(conv_dxp(x.shape, w, dout, stride, pad, add=False))),
    ]
    if pad:
        dx.append((msg("m.conv.crop_side"), dxp[:, :, :H, :W]))
    if stride > 1:
        dx += [(msg("m.conv.not_dilated"), wrong) for wrong in undilated(x.shape, w, dout, pad)]
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    i, j = dout.shape[2] - 1, dout.shape[3] - 1
    last = xp[:, :, i * stride : i * stride + w.shape[2], j * stride : j * stride + w.shape[3]]
    true_dw = np.zeros_like(w)
    for r in range(dout.shape[2]):
        for s in range(dout.shape[3]):
            window = xp[:, :, r * stride : r * stride + w.shape[2], s * stride : s * stride + w.shape[3]]
            true_dw += np.tensordot(dout[:, :, r, s], window, axes=([0], [0]))
    return {
        "dx": dx,
        "dw": [
            (msg("m.conv.dw_rotated"), true_dw[:, :, ::-1, ::-1]),
            (msg("m.conv.dw_last"), np.tensordot(dout[:, :, i, j], last, axes=([0], [0]))),
        ],
        "db": [(msg("m.conv.db_mean"), dout.mean(axis=(0, 2, 3)))],
    }


def maxpool_cases(rng: np.random.Generator) -> list[Case]:
    """Ties first: small integers tie in most windows, and a ReLU's output ties at 0."""
    return [
        Case(
            {"x": rng.integers(-2, 3, (2, 3, 6, 7)).astype(float), "size": (2, 3), "stride": 1},
            msg("case.ties"),
            kinks=True,
        ),
        Case(
            {"x": np.maximum(rng.standard_normal((1, 2, 5, 5)), 0), "size": (2, 2), "stride": 2},
            msg("case.ties"),
            kinks=True,
        ),
        Case({"x": rng.standard_normal((2, 2, 7, 6)), "size": (3, 3), "stride": 2}, msg("case.overlap")),
    ]


def maxpool_reference(inputs: Inputs) -> tuple[np.ndarray, Backward]:
    out, cache = run_forward(pooling.MaxPool2d, inputs["x"], kernel_size=tuple(inputs["size"]), stride=inputs["stride"])
    return out, cache.backward


def pool_dx(x: np.ndarray, dout: np.ndarray, size: tuple, stride: int, pick: str, add: bool | str = True) -> np.ndarray:
    """Max pooling's dx the loop way, dout going to the window's ``pick``: "first" or "last"
    maximum, "ties" (every maximum), "all" (every entry) or "mean" (spread evenly). ``add``:
    True adds each window's share, False assigns the whole window, "picked" assigns only at
    the picked entries (``dx[n, c, r, s] = …``, the last window writing wins)."""
    kh, kw = size
    dx = np.zeros_like(x)
    for i in range(dout.shape[2]):
        for j in range(dout.shape[3]):
            rows, cols = slice(i * stride, i * stride + kh), slice(j * stride, j * stride + kw)
            window = x[:, :, rows, cols]
            flat = window.reshape(*window.shape[:2], -1)
            if pick in ("first", "last"):
                k = flat.argmax(axis=2) if pick == "first" else flat.shape[2] - 1 - flat[:, :, ::-1].argmax(axis=2)
                mask = (np.arange(flat.shape[2]) == k[:, :, None]).reshape(window.shape)
            elif pick == "ties":
                mask = window == window.max(axis=(2, 3), keepdims=True)
            else:
                mask = np.full(window.shape, 1.0 if pick == "all" else 1.0 / (kh * kw))
            share = mask * dout[:, :, i, j][:, :, None, None]
            if add == "picked":
                dx[:, :, rows, cols][mask.astype(bool)] = share[mask.astype(bool)]
            elif add:
                dx[:, :, rows, cols] += share
            else:
                dx[:, :, rows, cols] = share
    return dx


def maxpool_mistakes(inputs: Inputs, dout: np.ndarray) -> Mistakes:
    x, size, stride = inputs["x"], tuple(inputs["size"]), inputs["stride"]
    return {
        "dx": [
            (msg("m.pool.all_ties"), pool_dx(x, dout, size, stride, "ties")),
            (msg("m.pool.last_tie"), pool_dx(x, dout, size, stride, "last")),
            (msg("m.pool.assign"), pool_dx(x, dout, size, stride, "first", add=False)),
            (msg("m.pool.assign"), pool_dx(x, dout, size, stride, "first", add="picked")),
            (msg("m.pool.assign_ties"), pool_dx(x, dout, size, stride, "ties", add=False)),
            (msg("m.pool.assign_ties"), pool_dx(x, dout, size, stride, "ties", add="picked")),
            (msg("m.pool.every_entry"), pool_dx(x, dout, size, stride, "all")),
            (msg("m.pool.average"), pool_dx(x, dout, size, stride, "mean")),
        ]
    }


EXERCISES = (
    Exercise("conv", CONV, ("x", "w", "b"), conv_cases, conv_reference, conv_mistakes),
    Exercise("maxpool", MAXPOOL, ("x",), maxpool_cases, maxpool_reference, maxpool_mistakes),
)
