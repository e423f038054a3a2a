"""``explain --conv``: backprop through one single-channel convolution, every number shown.

Forward: z = cross-correlation of the padded input x̃ with kernel k (stride u, v) plus bias; loss
C = ½ Σ (z − t)² for a target t, so δ = ∂C/∂z = z − t. Backward, as docs/cnn-backprop.md derives:
δ is dilated by the stride (δ′), fully convolved with k — the same as cross-correlating the
(k₁−1, k₂−1)-padded δ′ with the 180°-rotated k — and cropped by the padding to give ∂C/∂x;
∂C/∂k is x̃ cross-correlated with δ′; ∂C/∂bias = Σ δ (the page's letters). Beside them:
bprop's autograd and finite differences.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

import numpy as np

from bprop import reference as ref
from bprop.i18n import text
from bprop.ops.conv import Conv2d
from bprop.tensor import Tensor


@dataclass
class ConvExplanation:
    x: np.ndarray
    kernel: np.ndarray
    bias: float
    stride: tuple[int, int]
    padding: tuple[int, int]
    target: np.ndarray
    z: np.ndarray
    loss: float
    delta: np.ndarray
    delta_dilated: np.ndarray
    kernel_rotated: np.ndarray
    full: np.ndarray
    grad_x: np.ndarray
    grad_kernel: np.ndarray
    grad_bias: float
    autograd_x: np.ndarray
    autograd_kernel: np.ndarray
    numeric_x: np.ndarray
    numeric_kernel: np.ndarray

    @property
    def max_discrepancy(self) -> float:
        return float(
            max(
                np.abs(self.grad_x - self.autograd_x).max(),
                np.abs(self.grad_x - self.numeric_x).max(),
                np.abs(self.grad_kernel - self.autograd_kernel).max(),
                np.abs(self.grad_kernel - self.numeric_kernel).max(),
            )
        )

    def _blocks(self, lang: str = "en") -> list[tuple[str, object]]:
        (u, v), (a, b) = self.stride, self.padding
        h, w = self.x.shape
        r, s = self.kernel.shape

        def t(key: str, **values: object) -> str:
            return text(key, lang, **values)

        return [
            (t("conv.setup", h=h, w=w, r=r, s=s, u=u, v=v, a=a, b=b, bias=f"{self.bias:g}"), None),
            (f"H′ = ⌊(H + 2a − k₁)/u⌋ + 1 = {self.z.shape[0]},  W′ = ⌊(W + 2b − k₂)/v⌋ + 1 = {self.z.shape[1]}", None),
            ("x", self.x),
            ("k", self.kernel),
            (t("conv.forward"), self.z),
            (t("conv.target"), self.target),
            (t("conv.loss", loss=f"{self.loss:.6g}"), self.delta),
            (t("conv.dilated", u1=u - 1, v1=v - 1), self.delta_dilated),
            (t("conv.rotated"), self.kernel_rotated),
            (t("conv.full"), self.full),
            (t("conv.crop", a=a, b=b), self.grad_x),
            (t("conv.autograd"), self.autograd_x),
            (t("conv.numeric"), self.numeric_x),
            (t("conv.grad_k"), self.grad_kernel),
            (t("conv.autograd"), self.autograd_kernel),
            (t("conv.numeric"), self.numeric_kernel),
            (t("conv.grad_b", grad=f"{self.grad_bias:.6g}", gap=f"{self.max_discrepancy:.2e}"), None),
        ]

    def to_text(self, lang: str = "en") -> str:
        """Every tensor whole: the steps note 001 left as a TODO, printed in full (up to 16×16
        and beyond: explain --conv's inputs are at most 32×32)."""
        lines = []
        for title, value in self._blocks(lang):
            lines.append(title)
            if value is not None:
                lines.append(
                    np.array2string(
                        np.asarray(value), precision=4, suppress_small=True, threshold=10**6, max_line_width=200
                    )
                )
        return "\n".join(lines) + "\n"

    def to_markdown(self, lang: str = "en") -> str:
        lines = []
        for title, value in self._blocks(lang):
            lines.append(f"**{title}**\n" if value is not None else f"{title}\n")
            if value is not None:
                rows = np.atleast_2d(np.asarray(value))
                body = r" \\ ".join(" & ".join(f"{c:.4g}" for c in row) for row in rows)
                lines.append(f"$$\\begin{{bmatrix}} {body} \\end{{bmatrix}}$$\n")
        return "\n".join(lines)

    def to_html(self, lang: str = "en") -> str:
        title = html.escape(text("conv.title", lang))
        return (
            f"<!DOCTYPE html><html lang='{lang}'><head><meta charset='utf-8'><title>{title}</title>"
            f"</head><body><h1>{title}</h1>"
            f"<pre>{html.escape(self.to_text(lang))}</pre></body></html>"
        )


def explain_conv(
    size: tuple[int, int] = (5, 5),
    kernel: tuple[int, int] = (3, 3),
    stride: tuple[int, int] = (2, 2),
    padding: tuple[int, int] = (1, 1),
    seed: int = 0,
    eps: float = 1e-6,
) -> ConvExplanation:
    """One input channel of ``size`` with small integer-ish values, one kernel, a random target."""
    rng = np.random.default_rng(seed)
    x = rng.integers(-3, 4, size).astype(np.float64)
    k = rng.integers(-2, 3, kernel).astype(np.float64)
    bias = 0.5
    z = ref.cross_correlate(x[None], k[None, None], np.array([bias]), *stride, *padding)[0]
    target = np.round(rng.normal(0, 2, z.shape), 1)
    delta = z - target
    dilated = ref.dilate(delta, *stride)
    full = ref.convolve_full(dilated, k)
    (a, b), (h, w) = padding, x.shape
    grad_x = np.zeros_like(x)
    rows, cols = min(h, full.shape[0] - a), min(w, full.shape[1] - b)
    grad_x[:rows, :cols] = full[a : a + rows, b : b + cols]
    _, grad_k, grad_b = ref.conv_backward(x[None], k[None, None], delta[None], *stride, *padding)

    xt, kt = Tensor(x[None, None], requires_grad=True), Tensor(k[None, None], requires_grad=True)
    out = Conv2d.apply(xt, kt, Tensor(np.array([bias])), stride=stride, padding=padding)
    loss = ((out - Tensor(target[None, None])) ** 2).sum() * 0.5
    loss.backward()

    def c_of(xv: np.ndarray, kv: np.ndarray) -> float:
        zz = ref.cross_correlate(xv[None], kv[None, None], np.array([bias]), *stride, *padding)[0]
        return 0.5 * float(((zz - target) ** 2).sum())

    def numeric(array: np.ndarray, of_x: bool) -> np.ndarray:
        grad = np.zeros_like(array)
        for idx in np.ndindex(array.shape):
            plus, minus = array.copy(), array.copy()
            plus[idx] += eps
            minus[idx] -= eps
            grad[idx] = ((c_of(plus, k) - c_of(minus, k)) if of_x else (c_of(x, plus) - c_of(x, minus))) / (2 * eps)
        return grad

    return ConvExplanation(
        x,
        k,
        bias,
        stride,
        padding,
        target,
        z,
        0.5 * float((delta**2).sum()),
        delta,
        dilated,
        ref.rotate180(k),
        full,
        grad_x,
        grad_k[0, 0],
        float(grad_b[0]),
        np.asarray(xt.grad)[0, 0],
        np.asarray(kt.grad)[0, 0],
        numeric(x, True),
        numeric(k, False),
    )
