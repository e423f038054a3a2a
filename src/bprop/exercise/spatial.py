"""Exercises on the spatial ops: convolution and max pooling."""

from __future__ import annotations

import numpy as np

from bprop.cs231n.layers import run_forward
from bprop.exercise.catalog import Exercise, Grads, Inputs, Mistakes, header
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

def forward(x, size=2, stride=2):
    """out[n, c, i, j] = the maximum of x[n, c] over the size×size window at (i·stride, j·stride)."""
    N, C, H, W = x.shape
    Ho = 1 + (H - size) // stride
    Wo = 1 + (W - size) // stride
    out = np.zeros((N, C, Ho, Wo))
    for i in range(Ho):
        for j in range(Wo):
            out[:, :, i, j] = x[:, :, i * stride : i * stride + size, j * stride : j * stride + size].max(axis=(2, 3))
    cache = (x, size, stride)
    return out, cache


def backward(dout, cache):
    x, size, stride = cache
    # Near x, the max of a window is its largest entry itself: derivative 1 for that entry
    # and 0 for the others, which do not change the max when nudged.
    # So each dout[n, c, i, j] goes to the position of its window's maximum, and nowhere else.
    # Loop over (i, j) as the forward does; compare the window with its max (keepdims) to get
    # a mask; windows may overlap, so add (+=) into dx.
    raise NotImplementedError("write the backward pass of max pooling")
'''
)


def conv_inputs(rng: np.random.Generator) -> Inputs:
    return {
        "x": rng.standard_normal((2, 3, 5, 5)),
        "w": rng.standard_normal((4, 3, 3, 3)),
        "b": rng.standard_normal(4),
        "stride": 2,
        "pad": 1,
    }


def conv_reference(inputs: Inputs, dout: np.ndarray) -> tuple[np.ndarray, Grads]:
    x, w, b = inputs["x"], inputs["w"], inputs["b"]
    out, cache = run_forward(conv.Conv2d, x, w, b, stride=inputs["stride"], padding=inputs["pad"])
    return out, cache.backward(dout)


def conv_mistakes(inputs: Inputs, dout: np.ndarray) -> Mistakes:
    x, w, b, stride, pad = (inputs[k] for k in ("x", "w", "b", "stride", "pad"))
    flipped = w[:, :, ::-1, ::-1].copy()
    dx_flipped = run_forward(conv.Conv2d, x, flipped, b, stride=stride, padding=pad)[1].backward(dout)[0]
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    dxp = run_forward(conv.Conv2d, xp, w, b, stride=stride, padding=0)[1].backward(dout)[0]
    return {
        "dx": [
            ("used the 180°-rotated kernel: the loop form needs w as it is", dx_flipped),
            (f"returned the gradient of the padded input: crop {pad} pixel(s) of padding off each side", dxp),
        ]
    }


def maxpool_inputs(rng: np.random.Generator) -> Inputs:
    return {"x": rng.standard_normal((2, 3, 6, 6)), "size": 2, "stride": 2}


def maxpool_reference(inputs: Inputs, dout: np.ndarray) -> tuple[np.ndarray, Grads]:
    out, cache = run_forward(pooling.MaxPool2d, inputs["x"], kernel_size=inputs["size"], stride=inputs["stride"])
    return out, cache.backward(dout)


def maxpool_mistakes(inputs: Inputs, dout: np.ndarray) -> Mistakes:
    x, size, stride = inputs["x"], inputs["size"], inputs["stride"]
    average = run_forward(pooling.AvgPool2d, x, kernel_size=size, stride=stride)[1].backward(dout)[0]
    return {
        "dx": [
            ("sent dout to every entry of the window, not only to its maximum", average * size * size),
            ("spread dout evenly over the window (average pooling's gradient)", average),
        ]
    }


EXERCISES = (
    Exercise("conv", "a convolution layer", CONV, ("x", "w", "b"), conv_inputs, conv_reference, conv_mistakes),
    Exercise("maxpool", "max pooling", MAXPOOL, ("x",), maxpool_inputs, maxpool_reference, maxpool_mistakes),
)
