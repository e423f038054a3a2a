"""ONNX export of the sequence layers, used by ``to_onnx`` (onnx_export.py):

    Embedding → Gather (the graph input is then int64 token ids)
    RNN / LSTM / GRU → one ONNX RNN / LSTM / GRU operator per layer, both directions in one
        (direction="bidirectional"), with torch's gate blocks reordered to ONNX's:
        LSTM torch (i, f, g, o) → ONNX (i, o, f, c);  GRU torch (r, z, n) → ONNX (z, r, h) with
        linear_before_reset=1, which is torch's n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn));
        biases as B = [W_b, R_b]. ONNX's Y (T, D, N, H) is transposed and reshaped to torch's
        (T, N, D·H); batch_first inputs are transposed around the stack.
    TransformerEncoderLayer → the attention block written out (MatMul, Reshape/Transpose into
        heads, Mul by 1/√d, Softmax, MatMul, output projection), residual Adds, LayerNormalization,
        the feed-forward Linear–ReLU/GELU–Linear; a causal mask is a constant additive input;
        add_bias_kv/add_zero_attn's extra keys are rows Expanded over the (dynamic) batch.

and the sequence models of bprop.nn.sequence_models as chains of those. Every layer is written
with the onnx_export graph's ``const`` and ``op``; the tests run each in onnxruntime.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

from bprop.nn import layers as L
from bprop.nn import sequence_models as S
from bprop.nn.module import Module
from bprop.tensor import Tensor

LSTM_ORDER = [0, 3, 1, 2]  # ONNX (i, o, f, c) as torch's blocks (i, f, g, o)
GRU_ORDER = [1, 0, 2]  # ONNX (z, r, h) as torch's blocks (r, z, n)


class RecurrentOutput(Module):
    """A chain step: the output sequence of a recurrent layer (its final states dropped)."""

    def __init__(self, rnn: Module):
        super().__init__()
        self.rnn = rnn

    def forward(self, x: Tensor) -> Tensor:
        return self.rnn(x)[0]


class LastStep(Module):
    """A chain step: x[:, −1] of a batch-first sequence."""

    def forward(self, x: Tensor) -> Tensor:
        return x[:, -1]


class Steps(Module):
    """A chain step: (N, *steps, F) → (N, prod(steps), F)."""

    def __init__(self, features: int):
        super().__init__()
        self.features = features

    def forward(self, x: Tensor) -> Tensor:
        return x.reshape(x.shape[0], -1, self.features)


class ClassesFirst(Module):
    """A chain step: (N, T, V) → (N, V, T)."""

    def forward(self, x: Tensor) -> Tensor:
        return x.transpose(1, 2)


class TokensAndPositions(Module):
    """A chain step of CharTransformer: token embedding + position embedding of 0…T−1."""

    def __init__(self, model: S.CharTransformer):
        super().__init__()
        self.model = model

    def forward(self, ids: Tensor) -> Tensor:
        return self.model.token(ids) + self.model.position(np.arange(ids.shape[1]))


class CausalLayer(Module):
    """A chain step: an encoder layer applied with the causal mask."""

    def __init__(self, layer: L.TransformerEncoderLayer):
        super().__init__()
        self.layer = layer

    def forward(self, x: Tensor) -> Tensor:
        return self.layer(x, is_causal=True)


def chain(module: Module) -> list[Module] | None:
    """The chain of a sequence model, or None for any other module."""
    if isinstance(module, S.SequenceClassifier):
        return [Steps(module.features), RecurrentOutput(module.rnn), LastStep(), module.head]
    if isinstance(module, S.CharLSTM):
        return [module.embedding, RecurrentOutput(module.rnn), module.head, ClassesFirst()]
    if isinstance(module, S.CharTransformer):
        layers = [CausalLayer(layer) for layer in module.encoder.layers]
        return [TokensAndPositions(module), *layers, module.encoder.norm, module.head, ClassesFirst()]
    if isinstance(module, L.TransformerEncoder):
        return [*module.layers, *([module.norm] if module.norm is not None else [])]
    return None


def _ints(g: Any, values: list[int], hint: str) -> str:
    return g.const(np.array(values), hint, dtype=np.int64)


def _embedding(g: Any, m: L.Embedding, x: str, rank: int) -> str:
    return g.op("Gather", [g.const(np.asarray(m.weight), "embedding"), x], axis=0)


def _gate_blocks(array: np.ndarray, order: list[int]) -> np.ndarray:
    """torch's stacked gate blocks (rows) in ONNX's order."""
    blocks = np.split(array, len(order))
    return np.concatenate([blocks[i] for i in order])


def _recurrent(g: Any, step: RecurrentOutput, x: str, rank: int) -> str:
    m = step.rnn
    if getattr(m, "proj_size", 0):
        raise ValueError("ONNX export: LSTM with proj_size has no ONNX LSTM operator; export it without projection")
    op_type, order = {"LSTM": ("LSTM", LSTM_ORDER), "GRU": ("GRU", GRU_ORDER), "RNN": ("RNN", [0])}[m.mode]
    attrs: dict[str, Any] = {"hidden_size": m.hidden_size}
    if m.mode == "GRU":
        attrs["linear_before_reset"] = 1
    suffixes = ("", "_reverse") if m.bidirectional else ("",)
    if m.mode == "RNN":  # one activation per direction
        attrs["activations"] = ["Tanh" if m.nonlinearity == "tanh" else "Relu"] * len(suffixes)
    if m.bidirectional:
        attrs["direction"] = "bidirectional"
    if m.batch_first:
        x = g.op("Transpose", [x], perm=[1, 0, 2])
    for layer in range(m.num_layers):
        w, r, b = [], [], []
        for suffix in suffixes:
            w.append(_gate_blocks(np.asarray(getattr(m, f"weight_ih_l{layer}{suffix}")), order))
            r.append(_gate_blocks(np.asarray(getattr(m, f"weight_hh_l{layer}{suffix}")), order))
            gates = w[-1].shape[0]
            biases = [getattr(m, f"bias_{k}_l{layer}{suffix}") for k in ("ih", "hh")] if m.bias else [None, None]
            b.append(
                np.concatenate([np.zeros(gates) if p is None else _gate_blocks(np.asarray(p), order) for p in biases])
            )
        inputs = [x, g.const(np.stack(w), "W"), g.const(np.stack(r), "R"), g.const(np.stack(b), "B")]
        y = g.op(op_type, inputs, **attrs)  # (T, D, N, H)
        x = g.op("Reshape", [g.op("Transpose", [y], perm=[0, 2, 1, 3]), _ints(g, [0, 0, -1], "shape")])
    return g.op("Transpose", [x], perm=[1, 0, 2]) if m.batch_first else x


def _affine(g: Any, weight: np.ndarray, bias: np.ndarray | None, x: str) -> str:
    """x Wᵀ + b for x of any rank."""
    y = g.op("MatMul", [x, g.const(weight.T, "weight_t")])
    return g.op("Add", [y, g.const(bias, "bias")]) if bias is not None else y


def _linear(g: Any, m: L.Linear, x: str) -> str:
    return _affine(g, np.asarray(m.weight), None if m.bias is None else np.asarray(m.bias), x)


def _layer_norm(g: Any, m: L.LayerNorm, x: str) -> str:
    scale = np.asarray(m.weight) if m.weight is not None else np.ones(m.normalized_shape)
    shift = np.asarray(m.bias) if m.bias is not None else np.zeros(m.normalized_shape)
    return g.op("LayerNormalization", [x, g.const(scale, "gamma"), g.const(shift, "beta")], axis=-1, epsilon=m.eps)


def _heads(g: Any, x: str, heads: int, head_dim: int) -> str:
    """(N, T, E) → (N, heads, T, d)."""
    return g.op("Transpose", [g.op("Reshape", [x, _ints(g, [0, 0, heads, head_dim], "heads")])], perm=[0, 2, 1, 3])


def _check_exportable_attention(m: L.MultiheadAttention) -> None:
    """The encoder's self-attention reads query, key and value from one (N, T, E) tensor, so
    kdim/vdim ≠ embed_dim (separate projection widths) cannot occur there."""
    if not m._qkv_same_embed_dim:
        raise ValueError(
            f"to_onnx: MultiheadAttention with kdim/vdim != embed_dim (kdim={m.kdim}, vdim={m.vdim}, "
            f"embed_dim={m.embed_dim}) cannot be a self-attention block"
        )


def _batch_rows(g: Any, row: np.ndarray, like: str, tail: list[int]) -> str:
    """A constant row (1, …) repeated over the batch of ``like``, whose size is only known at run
    time (dynamic batch): Expand to [N, *tail]."""
    shape = g.op("Concat", [g.op("Shape", [like], start=0, end=1), _ints(g, tail, "tail")], axis=0)
    return g.op("Expand", [g.const(row, "row"), shape])


def _extra_keys(g: Any, m: L.MultiheadAttention, k: str, v: str, project: Callable[[str], str]) -> tuple[str, str]:
    """torch's add_bias_kv (bias_k/bias_v appended to the projected sequences) and add_zero_attn
    (a zero key/value appended to every head); k and v are (N, T, E), the result (N, heads, T', d)."""
    e, heads, d = m.embed_dim, m.num_heads, m.head_dim
    if m.bias_k is not None:
        k = g.op("Concat", [k, _batch_rows(g, np.asarray(m.bias_k), k, [1, e])], axis=1)
        v = g.op("Concat", [v, _batch_rows(g, np.asarray(m.bias_v), v, [1, e])], axis=1)
    k, v = project(k), project(v)
    if m.add_zero_attn:
        zeros = np.zeros((1, 1, 1, d))
        k = g.op("Concat", [k, _batch_rows(g, zeros, k, [heads, 1, d])], axis=2)
        v = g.op("Concat", [v, _batch_rows(g, zeros, v, [heads, 1, d])], axis=2)
    return k, v


def _self_attention(g: Any, m: L.MultiheadAttention, x: str, length: int, causal: bool) -> str:
    """softmax(Q Kᵀ/√d + mask) V per head, then the output projection; x is (N, T, E)."""
    _check_exportable_attention(m)
    e, heads, d = m.embed_dim, m.num_heads, m.head_dim
    w, b = np.asarray(m.in_proj_weight), np.asarray(m.in_proj_bias) if m.in_proj_bias is not None else None
    q, k, v = (_affine(g, w[i * e : (i + 1) * e], None if b is None else b[i * e : (i + 1) * e], x) for i in range(3))
    q = _heads(g, q, heads, d)
    k, v = _extra_keys(g, m, k, v, lambda t: _heads(g, t, heads, d))
    scores = g.op(
        "Mul", [g.op("MatMul", [q, g.op("Transpose", [k], perm=[0, 1, 3, 2])]), g.const(1 / math.sqrt(d), "s")]
    )
    if causal:  # the extra keys (one column each) may always be attended
        mask = np.where(np.tril(np.ones((length, length), bool)), 0.0, -np.inf)
        mask = np.pad(mask, [(0, 0), (0, int(m.bias_k is not None) + int(m.add_zero_attn))])
        scores = g.op("Add", [scores, g.const(mask, "causal_mask")])
    attended = g.op("MatMul", [g.op("Softmax", [scores], axis=-1), v])
    merged = g.op("Reshape", [g.op("Transpose", [attended], perm=[0, 2, 1, 3]), _ints(g, [0, 0, e], "merge")])
    return _linear(g, m.out_proj, merged)


def _encoder_layer(g: Any, m: L.TransformerEncoderLayer, x: str, rank: int, length: int, causal: bool) -> str:
    activation = {"relu": "Relu", "gelu": "Gelu"}.get(m.activation_name)
    if activation is None:
        raise ValueError(f"to_onnx: TransformerEncoderLayer with activation {m.activation_name!r}: use relu or gelu")
    if not m.self_attn.batch_first:
        x = g.op("Transpose", [x], perm=[1, 0, 2])

    def feed_forward(h: str) -> str:
        inner = _linear(g, m.linear1, h)
        if activation == "Relu" or g.opset >= 20:
            inner = g.op(activation, [inner])
        else:  # ½x(1 + erf(x/√2)) before opset 20
            erf = g.op("Erf", [g.op("Div", [inner, g.const(math.sqrt(2.0), "sqrt2")])])
            inner = g.op("Mul", [g.op("Mul", [inner, g.const(0.5, "half")]), g.op("Add", [erf, g.const(1.0, "one")])])
        return _linear(g, m.linear2, inner)

    def attention(h: str) -> str:
        return _self_attention(g, m.self_attn, h, length, causal)

    if m.norm_first:
        x = g.op("Add", [x, attention(_layer_norm(g, m.norm1, x))])
        x = g.op("Add", [x, feed_forward(_layer_norm(g, m.norm2, x))])
    else:
        x = _layer_norm(g, m.norm1, g.op("Add", [x, attention(x)]))
        x = _layer_norm(g, m.norm2, g.op("Add", [x, feed_forward(x)]))
    return x if m.self_attn.batch_first else g.op("Transpose", [x], perm=[1, 0, 2])


def emitters(shape_of: Callable[[], tuple[int, ...]]) -> dict[type, Callable[[Any, Any, str, int], str]]:
    """The emitters of the sequence layers; ``shape_of()`` gives the shape of the current input
    (attention's causal mask is a constant of the sequence length)."""

    def length_of(batch_first: bool) -> int:
        shape = shape_of()
        return shape[1] if batch_first else shape[0]

    return {
        L.Embedding: _embedding,
        RecurrentOutput: _recurrent,
        LastStep: lambda g, m, x, r: g.op("Gather", [x, g.const(np.array(-1), "last", dtype=np.int64)], axis=1),
        Steps: lambda g, m, x, r: g.op("Reshape", [x, _ints(g, [0, -1, m.features], "steps")]),
        ClassesFirst: lambda g, m, x, r: g.op("Transpose", [x], perm=[0, 2, 1]),
        TokensAndPositions: lambda g, m, x, r: g.op(
            "Add",
            [
                _embedding(g, m.model.token, x, r),
                g.const(np.asarray(m.model.position.weight)[: shape_of()[1]], "positions"),
            ],
        ),
        L.TransformerEncoderLayer: lambda g, m, x, r: _encoder_layer(
            g, m, x, r, length_of(m.self_attn.batch_first), False
        ),
        CausalLayer: lambda g, m, x, r: _encoder_layer(
            g, m.layer, x, r, length_of(m.layer.self_attn.batch_first), True
        ),
    }
