"""Export a model to ONNX (checked by onnx.checker; outputs verified against onnxruntime in the
tests). Needs the optional ``onnx`` extra: ``pip install bprop[onnx]``.

A model is exported as the chain of layers its forward applies: Sequential (nested), and the
models of bprop.nn.models, whose forward is such a chain. Each layer maps to ONNX operators:

    Linear → Gemm (MatMul + Add for inputs of rank > 2)   Conv2d → Conv
    MaxPool2d → MaxPool   AvgPool2d → AveragePool (count_include_pad = 1, as torch)
    BatchNorm1d/2d (eval) → BatchNormalization            Flatten → Reshape
    LayerNorm → LayerNormalization
    GroupNorm → GroupNormalization (opset ≥ 21, the first whose scale is per channel as torch's;
                older opsets: Reshape to (N, G, −1), InstanceNormalization, Reshape, Mul, Add)
    ReLU, LeakyReLU, Sigmoid, Tanh, Softmax, LogSoftmax → the same-named operators
    GELU → Gelu (opset ≥ 20) or its Erf/Tanh formula      Dropout, Identity → Identity

Recurrent layers, Embedding, the transformer encoder and the sequence models of
bprop.nn.sequence_models are mapped in onnx_sequences.py. Parameters are written as float32
initializers. A layer with no mapping raises an error naming it.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any, Callable

import numpy as np

from bprop.autograd import no_grad
from bprop.export import onnx_sequences
from bprop.nn import layers as L
from bprop.nn import models
from bprop.nn.module import Module, Sequential
from bprop.serialization import atomic_write_bytes
from bprop.tensor import Tensor


def chain(module: Module) -> list[Module]:
    """The layers ``module.forward`` applies one after the other."""
    sequence = onnx_sequences.chain(module)
    if sequence is not None:
        return sequence
    if isinstance(module, models.FullyConnectedNet):  # a Sequential that flattens its input first
        return [L.Flatten(), *(leaf for child in module for leaf in chain(child))]
    if isinstance(module, Sequential):
        return [leaf for child in module for leaf in chain(child)]
    if isinstance(module, (models.ThreeLayerConvNet, models.LeNet5)):
        return chain(module.features) + chain(module.classifier)
    return [module]


class _Graph:
    def __init__(self, helper: Any, numpy_helper: Any, opset: int):
        self.helper, self.numpy_helper, self.opset = helper, numpy_helper, opset
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self.count = 0

    def name(self, hint: str) -> str:
        self.count += 1
        return f"{hint}_{self.count}"

    def const(self, array: np.ndarray, hint: str, dtype: Any = np.float32) -> str:
        name = self.name(hint)
        self.initializers.append(self.numpy_helper.from_array(np.asarray(array, dtype=dtype), name))
        return name

    def op(self, op_type: str, inputs: list[str], hint: str | None = None, **attrs: Any) -> str:
        out = self.name(hint or op_type.lower())
        self.nodes.append(self.helper.make_node(op_type, inputs, [out], **attrs))
        return out


def _linear(g: _Graph, m: L.Linear, x: str, rank: int) -> str:
    w = np.asarray(m.weight)
    if rank == 2:
        inputs = [x, g.const(w, "weight")] + ([g.const(np.asarray(m.bias), "bias")] if m.bias is not None else [])
        return g.op("Gemm", inputs, transB=1)
    y = g.op("MatMul", [x, g.const(w.T, "weight_t")])
    return g.op("Add", [y, g.const(np.asarray(m.bias), "bias")]) if m.bias is not None else y


def _conv(g: _Graph, m: L.Conv2d, x: str, rank: int) -> str:
    inputs = [x, g.const(np.asarray(m.weight), "weight")] + (
        [g.const(np.asarray(m.bias), "bias")] if m.bias is not None else []
    )
    if m.padding_mode != "zeros":
        raise ValueError(f"ONNX export: Conv2d padding_mode={m.padding_mode!r} is not supported (only 'zeros')")
    left, right, top, bottom = m.border_widths()
    return g.op(
        "Conv",
        inputs,
        kernel_shape=list(m.kernel_size),
        strides=list(m.stride),
        pads=[top, left, bottom, right],
        dilations=list(m.dilation),
        group=m.groups,
    )


def _pool(op_type: str) -> Callable[[_Graph, Module, str, int], str]:
    def emit(g: _Graph, m: Module, x: str, rank: int) -> str:
        from bprop.ops.conv import pair

        kernel = pair(m.kernel_size, "kernel_size")
        stride = kernel if m.stride is None else pair(m.stride, "stride")
        a, b = pair(m.padding, "padding")
        if getattr(m, "return_indices", False) or getattr(m, "divisor_override", None):
            raise ValueError(
                f"ONNX export: {type(m).__name__} with return_indices or divisor_override is not supported"
            )
        extra: dict[str, Any] = {"ceil_mode": int(m.ceil_mode)}
        if op_type == "AveragePool":
            extra["count_include_pad"] = int(m.count_include_pad)
        else:
            extra["dilations"] = list(pair(m.dilation, "dilation"))
        return g.op(op_type, [x], kernel_shape=list(kernel), strides=list(stride), pads=[a, b, a, b], **extra)

    return emit


def _batch_norm(g: _Graph, m: Module, x: str, rank: int) -> str:
    if not m.track_running_stats:
        raise ValueError(
            f"to_onnx: {type(m).__name__}({m.num_features}) without running statistics normalises "
            "with batch statistics even in eval mode, which ONNX inference cannot reproduce"
        )
    n = m.num_features
    scale = np.asarray(m.weight) if m.weight is not None else np.ones(n)
    shift = np.asarray(m.bias) if m.bias is not None else np.zeros(n)
    inputs = [
        x,
        g.const(scale, "gamma"),
        g.const(shift, "beta"),
        g.const(m.running_mean, "running_mean"),
        g.const(m.running_var, "running_var"),
    ]
    return g.op("BatchNormalization", inputs, epsilon=float(m.eps))


def _layer_norm(g: _Graph, m: L.LayerNorm, x: str, rank: int) -> str:
    shape = m.normalized_shape
    scale = np.asarray(m.weight) if m.weight is not None else np.ones(shape)
    shift = np.asarray(m.bias) if m.bias is not None else np.zeros(shape)
    inputs = [x, g.const(scale, "gamma"), g.const(shift, "beta")]
    return g.op("LayerNormalization", inputs, axis=-len(shape), epsilon=float(m.eps))


def _group_norm(g: _Graph, m: L.GroupNorm, x: str, rank: int) -> str:
    c, groups = m.num_channels, m.num_groups
    scale = np.asarray(m.weight) if m.weight is not None else np.ones(c)
    shift = np.asarray(m.bias) if m.bias is not None else np.zeros(c)
    if g.opset >= 21:
        inputs = [x, g.const(scale, "gamma"), g.const(shift, "beta")]
        return g.op("GroupNormalization", inputs, num_groups=groups, epsilon=float(m.eps))
    # before opset 21 GroupNormalization scaled per group, not per channel: build it from
    # instance norm over (N, G, −1), whose "instances" are exactly the groups
    blocks = g.op("Reshape", [x, g.const(np.array([0, groups, -1]), "groups", dtype=np.int64)])
    unit = [g.const(np.ones(groups), "ones"), g.const(np.zeros(groups), "zeros")]
    normalised = g.op("InstanceNormalization", [blocks, *unit], epsilon=float(m.eps))
    y = g.op("Reshape", [normalised, g.op("Shape", [x])])
    per_channel = (c,) + (1,) * (rank - 2)
    y = g.op("Mul", [y, g.const(scale.reshape(per_channel), "gamma")])
    return g.op("Add", [y, g.const(shift.reshape(per_channel), "beta")])


def _gelu(g: _Graph, m: L.GELU, x: str, rank: int) -> str:
    if g.opset >= 20:
        return g.op("Gelu", [x], approximate=m.approximate)
    half = g.const(np.array(0.5), "half")
    one = g.const(np.array(1.0), "one")
    if m.approximate == "tanh":  # ½x(1 + tanh(√(2/π)(x + 0.044715x³)))
        cube = g.op("Mul", [g.op("Mul", [x, x]), x])
        inner = g.op("Add", [x, g.op("Mul", [cube, g.const(np.array(0.044715), "c")])])
        t = g.op("Tanh", [g.op("Mul", [inner, g.const(np.array(math.sqrt(2 / math.pi)), "k")])])
    else:  # ½x(1 + erf(x/√2))
        t = g.op("Erf", [g.op("Div", [x, g.const(np.array(math.sqrt(2.0)), "sqrt2")])])
    return g.op("Mul", [g.op("Mul", [x, half]), g.op("Add", [t, one])])


def _flatten(g: _Graph, m: L.Flatten, x: str, rank: int) -> str:
    start, end = m.start_dim % rank, m.end_dim % rank
    shape = [0] * start + [-1]  # dims before start are copied (0), the merged one inferred (-1)
    if end != rank - 1:
        raise ValueError(
            f"to_onnx: Flatten(start_dim={m.start_dim}, end_dim={m.end_dim}) keeps trailing dims; "
            "only end_dim=-1 is supported"
        )
    return g.op("Reshape", [x, g.const(np.array(shape), "shape", dtype=np.int64)])


EMITTERS: dict[type, Callable[[_Graph, Any, str, int], str]] = {
    L.Linear: _linear,
    L.Conv2d: _conv,
    L.MaxPool2d: _pool("MaxPool"),
    L.AvgPool2d: _pool("AveragePool"),
    L.BatchNorm1d: _batch_norm,
    L.BatchNorm2d: _batch_norm,
    L.LayerNorm: _layer_norm,
    L.GroupNorm: _group_norm,
    L.ReLU: lambda g, m, x, r: g.op("Relu", [x]),
    L.LeakyReLU: lambda g, m, x, r: g.op("LeakyRelu", [x], alpha=float(m.negative_slope)),
    L.Sigmoid: lambda g, m, x, r: g.op("Sigmoid", [x]),
    L.Tanh: lambda g, m, x, r: g.op("Tanh", [x]),
    L.GELU: _gelu,
    L.Softmax: lambda g, m, x, r: g.op("Softmax", [x], axis=m.dim),
    L.LogSoftmax: lambda g, m, x, r: g.op("LogSoftmax", [x], axis=m.dim),
    L.Flatten: _flatten,
    L.Dropout: lambda g, m, x, r: g.op("Identity", [x]),
    L.Identity: lambda g, m, x, r: g.op("Identity", [x]),
}


def layer_dtype(layer: Module, value: Tensor) -> Any:
    """The dtype the layer's parameters use (so a float64 model still runs its own forward)."""
    params = list(layer.parameters())
    return params[0].dtype if params else value.dtype


OPSETS = (17, 21)  # to_onnx writes opset ≥ 17; onnxruntime ≥ 1.18 runs up to 21


def check_opset(opset: int) -> int:
    """``opset`` checked as ``bprop export --opset`` takes it: one that onnxruntime runs what
    to_onnx writes in (``OPSETS``); ValueError otherwise."""
    low, high = OPSETS
    if isinstance(opset, bool) or not isinstance(opset, int) or not low <= opset <= high:
        raise ValueError(f"--opset must be an integer in [{low}, {high}], got {opset!r}")
    return opset


def to_onnx(
    model: Module, example_input: Any, path: str | os.PathLike, opset: int = 17, dynamic_batch: bool = True
) -> Path:
    """Write ``model`` (in eval mode) as an ONNX file for inputs shaped like ``example_input``.

    With dynamic_batch the first dimension is symbolic ("batch"). Returns the path. Raises
    ValueError naming the first layer that has no ONNX mapping.
    """
    try:
        import onnx
        from onnx import helper, numpy_helper
    except ImportError:
        raise ImportError("to_onnx needs the onnx package: pip install 'bprop[onnx]'") from None
    low, high = OPSETS  # the same range as bprop export --opset: one rule for both
    if isinstance(opset, bool) or not isinstance(opset, int) or not low <= opset <= high:
        raise ValueError(f"to_onnx: opset must be an integer in [{low}, {high}], got {opset!r}")
    layers = chain(model)
    value: Tensor = Tensor(np.zeros(0))  # the input of the layer being written, for its shape
    emitters = {**EMITTERS, **onnx_sequences.emitters(lambda: value.shape)}
    for layer in layers:
        if type(layer) not in emitters:
            raise ValueError(
                f"to_onnx: cannot export {type(layer).__name__} (no ONNX mapping; supported: "
                f"{', '.join(sorted(t.__name__ for t in emitters))}, Sequential, nn.models and the "
                "sequence models)"
            )
    token_ids = isinstance(layers[0], (L.Embedding, onnx_sequences.TokensAndPositions))
    x = example_input if isinstance(example_input, Tensor) else Tensor(np.asarray(example_input))
    x = x.to(np.int64 if token_ids else np.float32)
    g = _Graph(helper, numpy_helper, opset)
    was_training = model.training
    model.eval()
    try:
        name, value = "input", x
        with no_grad():
            for layer in layers:
                name = emitters[type(layer)](g, layer, name, value.ndim)
                value = layer(value if value.dtype.kind in "iu" else value.to(layer_dtype(layer, value)))
    finally:
        model.train(was_training)
    g.nodes.append(helper.make_node("Identity", [name], ["output"]))

    def info(tag: str, shape: tuple[int, ...], element: int = onnx.TensorProto.FLOAT) -> Any:
        dims: list[Any] = list(shape)
        if dynamic_batch:
            dims[0] = "batch"
        return helper.make_tensor_value_info(tag, element, dims)

    input_type = onnx.TensorProto.INT64 if token_ids else onnx.TensorProto.FLOAT
    graph = helper.make_graph(
        g.nodes, type(model).__name__, [info("input", x.shape, input_type)], [info("output", value.shape)],
        g.initializers,
    )  # fmt: skip
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="bprop")
    onnx.checker.check_model(proto, full_check=True)
    atomic_write_bytes(path, proto.SerializeToString())
    return Path(path)
