"""The formula column of ``explain``: each layer's forward and backward written out, by the
textbook functions of ``bprop.reference`` (never by the ops autograd runs).

For a layer with input x, output y and δ = ∂C/∂y arriving from above, ``derive`` returns the
lines a learner reads — intermediate values of the forward pass (batch norm's μ, σ², x̂,
dropout's mask) and the backward formula applied to the numbers — with ∂C/∂x and the
parameter gradients. Lines that carry a gradient name it in ``check`` ("input", "weight",
"bias"); ``explain`` sets autograd's and the finite differences' values beside them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from bprop import nn
from bprop import reference as ref
from bprop.i18n import Msg, msg


@dataclass
class Check:
    """One gradient found three ways; ``numeric`` is NaN where no finite difference was taken
    (``kinks`` of those entries sit where the loss has no derivative, e.g. a max pool tie)."""

    formula: np.ndarray
    autograd: np.ndarray
    numeric: np.ndarray
    kinks: int = 0
    kink: np.ndarray | None = None  # True where the entry sits on a kink (shown as —, never as a number)

    @property
    def checked(self) -> int:
        return int(np.count_nonzero(~np.isnan(self.numeric)))

    @property
    def discrepancy(self) -> float:
        """max |formula − autograd| and |formula − finite difference| (where taken)."""
        worst = float(np.max(np.abs(self.formula - self.autograd), initial=0.0))
        taken = ~np.isnan(self.numeric)
        return max(worst, float(np.max(np.abs(self.formula - self.numeric)[taken], initial=0.0)))


@dataclass
class Line:
    """``text`` = ``value``: mathematics as a str, or a catalogue Msg where words are part of it;
    ``note`` is words only (a Msg), rendered in the reader's language."""

    text: str | Msg
    value: Any = None
    note: Msg | str = ""
    check: str | None = None
    result: Check | None = None
    whole: bool = False  # print the tensor whole up to 16×16 (the steps note 001 left as a TODO)


@dataclass
class LayerWork:
    forward: list[Line]
    backward: list[Line]
    grad_input: np.ndarray
    grad_params: dict[str, np.ndarray] = field(default_factory=dict)


def label(layer: nn.Module) -> str:
    """A short name: Linear(3→4), Conv2d(1→6, k=5, stride 2), Dropout(p=0.5)…"""
    if isinstance(layer, nn.Linear):
        return f"Linear({layer.in_features}→{layer.out_features})"
    if isinstance(layer, nn.Conv2d):
        extras = [
            f"{name}={value if isinstance(value, str) else value[0] if value[0] == value[1] else value}"
            for name, value, default in (
                ("stride", layer.stride, 1),
                ("padding", layer.padding, 0),
                ("dilation", layer.dilation, 1),
            )
            if value != (default, default)
        ]
        extras += [f"groups={layer.groups}"] if layer.groups > 1 else []
        k = layer.kernel_size
        head = f"{layer.in_channels}→{layer.out_channels}, k={k[0] if k[0] == k[1] else k}"
        return f"Conv2d({', '.join([head, *extras])})"
    if isinstance(layer, (nn.MaxPool2d, nn.AvgPool2d)):
        kernel, stride, pad = (v[0] if v[0] == v[1] else v for v in pool_geometry(layer))
        return f"{type(layer).__name__}(k={kernel}, stride={stride}, padding={pad})"
    if isinstance(layer, (nn.BatchNorm1d, nn.BatchNorm2d)):
        return f"{type(layer).__name__}({layer.num_features})"
    if isinstance(layer, nn.Dropout):
        return f"Dropout(p={layer.p})"
    if isinstance(layer, nn.LeakyReLU):
        return f"LeakyReLU({layer.negative_slope})"
    if isinstance(layer, nn.LayerNorm):
        shape = layer.normalized_shape
        return f"LayerNorm({shape[0] if len(shape) == 1 else shape})"
    return type(layer).__name__


def pool_geometry(layer: nn.Module) -> tuple[tuple[int, int], tuple[int, int], tuple[int, int]]:
    def pair(v: Any) -> tuple[int, int]:
        return (v, v) if isinstance(v, int) else tuple(v)  # type: ignore[return-value]

    kernel = pair(layer.kernel_size)
    return kernel, kernel if layer.stride is None else pair(layer.stride), pair(layer.padding)


# ----- one function per layer kind ----------------------------------------------------------
def _linear(layer: nn.Linear, x: np.ndarray, y: np.ndarray, delta: np.ndarray, _: Any) -> LayerWork:
    w, b = np.asarray(layer.weight), None if layer.bias is None else np.asarray(layer.bias)
    dx, dw, db = np.zeros(x.shape), np.zeros(w.shape), np.zeros(w.shape[0])
    for n in range(x.shape[0]):  # the notes' one-sample formulas, summed over the batch
        dw_n, dx[n], db_n = ref.affine_backward(w, x[n], delta[n])
        dw += dw_n
        db += db_n
    grads = {"weight": dw}
    backward = [Line("∂C/∂w_ij = Σ_r δ_ri a_rj,  ∂C/∂W = Σ_r δ_r a_rᵀ = δᵀA", dw, msg("xl.batch_sum"), "weight")]
    if b is not None:
        grads["bias"] = db
        backward.append(Line("∂C/∂b = Σ_r δ_r", db, check="bias"))
    backward.append(Line("∂C/∂a = Wᵀδ", dx, msg("xl.rows", formula="δ W"), "input"))
    forward = [Line("W", w), *([Line("b", b)] if b is not None else [])]
    forward.append(
        Line(
            "z = W a + b",
            np.stack([ref.affine(w, x[n], b) for n in range(x.shape[0])]),
            msg("xl.rows", formula="Z = A Wᵀ + b"),
        )
    )
    return LayerWork(forward, backward, dx, grads)


_ACTIVATIONS: dict[type, tuple[str | Msg, str | Msg, Callable[[nn.Module, np.ndarray], np.ndarray]]] = {
    nn.ReLU: ("a = max(z, 0)", msg("xl.relu_prime"), lambda m, x: ref.relu_prime(x)),
    nn.Sigmoid: ("a = σ(z) = 1/(1 + e⁻ᶻ)", "σ′(z) = σ(z)(1 − σ(z))", lambda m, x: ref.sigmoid_prime(x)),
    nn.Tanh: ("a = tanh z", "σ′(z) = 1 − tanh² z", lambda m, x: ref.tanh_prime(x)),
    nn.LeakyReLU: (
        msg("xl.leaky"),
        msg("xl.leaky_prime"),
        lambda m, x: ref.leaky_relu_prime(x, m.negative_slope),
    ),
    nn.GELU: ("a = z·Φ(z)", "σ′(z) = Φ(z) + z·φ(z)", lambda m, x: ref.gelu_prime(x, m.approximate)),
}


def _activation(layer: nn.Module, x: np.ndarray, y: np.ndarray, delta: np.ndarray, _: Any) -> LayerWork:
    forward_text, prime_text, prime = _ACTIVATIONS[type(layer)]
    slope = prime(layer, x)
    dx = delta * slope
    return LayerWork(
        [Line(forward_text, y)], [Line(prime_text, slope), Line("∂C/∂z = σ′(z) ⊙ ∂C/∂a", dx, check="input")], dx
    )


def _reshape(layer: nn.Module, x: np.ndarray, y: np.ndarray, delta: np.ndarray, _: Any) -> LayerWork:
    dx = delta.reshape(x.shape)
    if isinstance(layer, nn.Identity):
        return LayerWork([Line("y = x", y)], [Line("∂C/∂x = δ", dx, check="input")], dx)
    shape = "×".join(map(str, x.shape))
    return LayerWork(
        [Line(msg("xl.reshaped", shape="×".join(map(str, y.shape))), y)],
        [Line(msg("xl.reshaped_back", shape=shape), dx, check="input")],
        dx,
    )


def _dropout(layer: nn.Dropout, x: np.ndarray, y: np.ndarray, delta: np.ndarray, mask: Any) -> LayerWork:
    if not layer.training or layer.p == 0:
        return LayerWork([Line("y = x", y, msg("xl.dropout_eval"))], [Line("∂C/∂x = δ", delta, check="input")], delta)
    p = layer.p
    if p == 1:
        dx = np.zeros_like(delta)
        return LayerWork([Line("y = 0", y, msg("xl.dropout_all"))], [Line("∂C/∂x = 0", dx, check="input")], dx)
    dx = ref.dropout_backward(delta, mask, p)
    forward = [
        Line("D", mask, msg("xl.dropout_mask")),
        Line(f"y = x ⊙ D/(1 − p),  1/(1 − p) = {1 / (1 - p):.6g}", ref.dropout(x, mask, p)),
    ]
    return LayerWork(forward, [Line("∂C/∂x = δ ⊙ D/(1 − p)", dx, msg("xl.dropout_back"), "input")], dx)


def _batch_norm(layer: nn.Module, x: np.ndarray, y: np.ndarray, delta: np.ndarray, _: Any) -> LayerWork:
    c, eps = layer.num_features, layer.eps
    gamma = np.asarray(layer.weight) if layer.weight is not None else np.ones(c)
    beta = np.asarray(layer.bias) if layer.bias is not None else np.zeros(c)
    m = x.size // c
    per = {2: "N", 3: "N·L", 4: "N·H·W"}[x.ndim]
    column = (1, c) + (1,) * (x.ndim - 2)  # a per-channel vector against (N, C, …)
    if layer.training or not layer.track_running_stats:
        mu, var, x_hat = ref.batch_norm_statistics(x, eps)
        forward = [
            Line("μ = (1/m) Σ x", mu, msg("xl.per_channel", per=per, m=m)),
            Line("σ² = (1/m) Σ (x − μ)²", var),
            Line(f"x̂ = (x − μ)/√(σ² + ε),  ε = {eps:g}", x_hat),
            Line("γ", gamma),
            Line("β", beta),
            Line("y = γ·x̂ + β", ref.batch_norm(x, gamma, beta, eps)),
        ]
        dx, dgamma, dbeta = ref.batch_norm_backward(delta, x, gamma, eps)
        axes = tuple(i for i in range(x.ndim) if i != 1)
        backward = [
            Line("g = δ", note=msg("xl.arriving")),
            Line("∂C/∂β = Σ g", dbeta, check="bias"),
            Line("∂C/∂γ = Σ g·x̂", dgamma, check="weight"),
            Line("∂C/∂x̂ = γ·g", gamma.reshape(column) * delta),
            Line(msg("xl.term", n=1, formula="m·g"), m * delta),
            Line(msg("xl.term", n=2, formula="Σ g"), delta.sum(axis=axes), msg("xl.alike")),
            Line(msg("xl.term", n=3, formula="x̂·Σ g·x̂"), x_hat * dgamma.reshape(column), msg("xl.along")),
            Line("∂C/∂x = (γ/(m·√(σ² + ε)))·(m·g − Σ g − x̂·Σ g·x̂)", dx, check="input"),
        ]
    else:
        mu, var = layer.running_mean, layer.running_var
        forward = [
            Line("μ_run, σ²_run", np.stack([mu, var]), msg("xl.running")),
            Line("y = γ·(x − μ_run)/√(σ²_run + ε) + β", ref.batch_norm_eval(x, gamma, beta, mu, var, eps)),
        ]
        dx, dgamma, dbeta = ref.batch_norm_eval_backward(delta, x, gamma, mu, var, eps)
        backward = [
            Line("∂C/∂β = Σ δ", dbeta, check="bias"),
            Line("∂C/∂γ = Σ δ·x̂", dgamma, check="weight"),
            Line("∂C/∂x = γ·δ/√(σ²_run + ε)", dx, check="input"),
        ]
    grads = {}
    if layer.weight is not None:
        grads["weight"] = dgamma
    if layer.bias is not None:
        grads["bias"] = dbeta
    backward = [line for line in backward if line.check not in ("weight", "bias") or line.check in grads]
    return LayerWork(forward, backward, dx, grads)


def _layer_norm(layer: nn.LayerNorm, x: np.ndarray, y: np.ndarray, delta: np.ndarray, _: Any) -> LayerWork:
    """Batch norm's three paths with the statistics taken over each sample's last dims."""
    shape, eps = layer.normalized_shape, layer.eps
    axes = tuple(range(x.ndim - len(shape), x.ndim))
    lead = tuple(range(x.ndim - len(shape)))
    gamma = np.asarray(layer.weight) if layer.weight is not None else np.ones(shape)
    beta = np.asarray(layer.bias) if layer.bias is not None else np.zeros(shape)
    mu, var = x.mean(axis=axes, keepdims=True), x.var(axis=axes, keepdims=True)
    s = np.sqrt(var + eps)
    x_hat = (x - mu) / s
    g_hat = gamma * delta
    dx = (g_hat - g_hat.mean(axis=axes, keepdims=True) - x_hat * (g_hat * x_hat).mean(axis=axes, keepdims=True)) / s
    dgamma, dbeta = (delta * x_hat).sum(axis=lead), delta.sum(axis=lead)
    d = int(np.prod(shape))
    forward = [
        Line("μ = (1/D) Σ x", mu.reshape(mu.shape[: len(lead)]), msg("xl.per_sample", d=d)),
        Line("σ² = (1/D) Σ (x − μ)²", var.reshape(var.shape[: len(lead)])),
        Line(f"x̂ = (x − μ)/√(σ² + ε),  ε = {eps:g}", x_hat),
        Line("γ", gamma),
        Line("β", beta),
        Line("y = γ·x̂ + β", gamma * x_hat + beta),
    ]
    backward = [
        Line("∂C/∂β = Σ_r δ_r", dbeta, check="bias"),
        Line("∂C/∂γ = Σ_r δ_r·x̂_r", dgamma, check="weight"),
        Line("∂C/∂x̂ = γ·δ", g_hat),
        Line("∂C/∂x = (1/√(σ² + ε))·(∂C/∂x̂ − mean ∂C/∂x̂ − x̂·mean(∂C/∂x̂·x̂))", dx, msg("xl.means_over_d"), "input"),
    ]
    grads = {}
    if layer.weight is not None:
        grads["weight"] = dgamma
    if layer.bias is not None:
        grads["bias"] = dbeta
    backward = [line for line in backward if line.check not in ("weight", "bias") or line.check in grads]
    return LayerWork(forward, backward, dx, grads)


def _dilated_kernel(k: np.ndarray, dilation: tuple[int, int]) -> np.ndarray:
    """k with d − 1 zeros between its taps: a dilated convolution is a plain one with this kernel."""
    if dilation == (1, 1):
        return k
    out = np.zeros((*k.shape[:2], (k.shape[2] - 1) * dilation[0] + 1, (k.shape[3] - 1) * dilation[1] + 1))
    for o in range(k.shape[0]):
        for c in range(k.shape[1]):
            out[o, c] = ref.dilate(k[o, c], *dilation)
    return out


def _conv(layer: nn.Conv2d, x: np.ndarray, y: np.ndarray, delta: np.ndarray, _: Any) -> LayerWork:
    k = np.asarray(layer.weight)
    k_dil = _dilated_kernel(k, layer.dilation)
    (u, v), (a, b), groups = layer.stride, layer.padding, layer.groups
    c_per, o_per = k.shape[1], k.shape[0] // groups
    dx, dk_dil = np.zeros(x.shape), np.zeros(k_dil.shape)
    for n in range(x.shape[0]):  # textbook loops: one image, one group at a time
        for g in range(groups):
            cs, os_ = slice(g * c_per, (g + 1) * c_per), slice(g * o_per, (g + 1) * o_per)
            gx, gk, _gb = ref.conv_backward(x[n, cs], k_dil[os_], delta[n, os_], u, v, a, b)
            dx[n, cs] += gx
            dk_dil[os_] += gk
    dk = dk_dil[:, :, :: layer.dilation[0], :: layer.dilation[1]]
    db = delta.sum(axis=(0, 2, 3))
    forward = [Line("k", k)]
    if layer.dilation != (1, 1):
        forward.append(Line(msg("xl.k_dilated", dilation=layer.dilation), k_dil[0, 0]))
    if layer.bias is not None:
        forward.append(Line("bias", np.asarray(layer.bias)))
    groups_note = msg("xl.groups", groups=groups) if groups > 1 else ""
    note = msg("xl.conv_forward", u=u, v=v, a=a, b=b, groups=groups_note)
    forward.append(Line("y[r, o] = bias[o] + Σ_c x̃[r, c] ⋆ k[o, c]", y, note))
    backward = _conv_walkthrough(x, k_dil, delta, (u, v), (a, b))
    backward += [
        Line("∂C/∂x[r, c] = Σ_o crop(dilate(δ[r, o]) ∗ k[o, c])", dx, msg("xl.out_channels"), "input"),
        Line("∂C/∂k[o, c, m, n] = Σ_r Σ_pq δ[r, o, p, q]·x̃[r, c, p·u + m·d, q·v + n·d]", dk, check="weight"),
    ]
    grads = {"weight": dk}
    if layer.bias is not None:
        backward.append(Line("∂C/∂bias[o] = Σ_r Σ_pq δ[r, o, p, q]", db, check="bias"))
        grads["bias"] = db
    return LayerWork(forward, backward, dx, grads)


def _conv_walkthrough(
    x: np.ndarray, k_dil: np.ndarray, delta: np.ndarray, stride: tuple[int, int], padding: tuple[int, int]
) -> list[Line]:
    """The four steps of docs/cnn-backprop.md for sample 0, output channel 0, input channel 0."""
    (a, b), (h, w) = padding, x.shape[2:]
    dilated = ref.dilate(delta[0, 0], *stride)
    full = ref.convolve_full(dilated, k_dil[0, 0])
    cropped = np.zeros((h, w))
    rows, cols = max(0, min(h, full.shape[0] - a)), max(0, min(w, full.shape[1] - b))
    cropped[:rows, :cols] = full[a : a + rows, b : b + cols]
    return [
        Line("δ[0, 0]", delta[0, 0], msg("xl.sample0"), whole=True),
        Line(msg("xl.dilated", u1=stride[0] - 1, v1=stride[1] - 1), dilated, whole=True),
        Line("rot180(k[0, 0])", ref.rotate180(k_dil[0, 0]), msg("xl.rotated"), whole=True),
        Line(msg("xl.full"), full, msg("xl.full_note"), whole=True),
        Line(msg("xl.crop", a=a, b=b), cropped, msg("xl.crop_note"), whole=True),
    ]


def _pool(layer: nn.Module, x: np.ndarray, y: np.ndarray, delta: np.ndarray, _: Any) -> LayerWork:
    (r, s), (u, v), (a, b) = pool_geometry(layer)
    is_max = isinstance(layer, nn.MaxPool2d)
    backward_one = ref.max_pool_backward if is_max else ref.avg_pool_backward
    dx = np.stack([backward_one(x[n], delta[n], r, s, u, v, a, b) for n in range(x.shape[0])])
    if is_max:
        routes = ref.max_pool_argmax(x[0, 0], r, s, u, v, a, b)
        shown = [f"δ[{p},{q}]→x[{i},{j}]" for (p, q), (i, j) in routes[:8]]
        more = msg("xl.more_windows", count=len(routes)) if len(routes) > 8 else ""
        forward = [Line(msg("xl.max_forward"), y)]
        backward = [
            Line(msg("xl.routes", routes=shown, more=more)),
            Line(msg("xl.placed"), dx[0, 0]),
            Line(msg("xl.max_backward"), dx, check="input"),
        ]
    else:
        forward = [Line(msg("xl.avg_forward", size=r * s), y)]
        backward = [Line(msg("xl.avg_backward", size=r * s), dx, check="input")]
    return LayerWork(forward, backward, dx)


_DERIVATIONS: dict[type, Callable[..., LayerWork]] = {
    nn.Linear: _linear,
    nn.Conv2d: _conv,
    nn.MaxPool2d: _pool,
    nn.AvgPool2d: _pool,
    nn.BatchNorm1d: _batch_norm,
    nn.BatchNorm2d: _batch_norm,
    nn.LayerNorm: _layer_norm,
    nn.Dropout: _dropout,
    nn.Flatten: _reshape,
    nn.Identity: _reshape,
    **dict.fromkeys(_ACTIVATIONS, _activation),
}
SUPPORTED = tuple(_DERIVATIONS)
ACTIVATIONS = tuple(_ACTIVATIONS)  # the σ of a^l = σ(z^l)


def derive(layer: nn.Module, x: np.ndarray, y: np.ndarray, delta: np.ndarray, mask: Any = None) -> LayerWork:
    """The formula column for one layer: x its input, y its output, δ = ∂C/∂y."""
    return _DERIVATIONS[type(layer)](layer, x, y, delta, mask)
