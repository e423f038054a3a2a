"""RNN, LSTM, GRU and their single-step cells, with torch's arguments, parameter names
(weight_ih_l0, weight_hh_l0, bias_ih_l0, bias_hh_l0, …_reverse), gate orders and init.

Each layer and direction is one whole-sequence op from bprop.ops.recurrent (backpropagation
through time lives there); this module stacks the layers, runs the reverse direction, applies
dropout between layers and hands out the final states. A cell is the same op on a sequence of
length 1.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from bprop.nn import functional as F
from bprop.nn import init
from bprop.nn.module import Module, Parameter
from bprop.ops import recurrent
from bprop.tensor import Tensor
from bprop.tensor_functions import cat, stack

_GATES = {"RNN": 1, "LSTM": 4, "GRU": 3}


def _positive_int(owner: str, name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{owner}: {name} must be a positive integer, got {value!r}")
    return int(value)


def _uniform_parameter(shape: tuple[int, ...], bound: float, dtype: object) -> Parameter:
    """torch's init for every recurrent weight and bias: U(−1/√H, 1/√H)."""
    param = Parameter(np.empty(shape, dtype=dtype))
    init.uniform_(param, -bound, bound)
    return param


def _run_op(mode: str, nonlinearity: str, x: Any, state: tuple, weights: tuple, reverse: bool) -> Tensor:
    if mode == "LSTM":
        return recurrent.LSTM.apply(x, *state, *weights, reverse=reverse)
    if mode == "ProjectedLSTM":
        return recurrent.ProjectedLSTM.apply(x, *state, *weights, reverse=reverse)
    if mode == "GRU":
        return recurrent.GRU.apply(x, *state, *weights, reverse=reverse)
    return recurrent.RNN.apply(x, *state, *weights, nonlinearity=nonlinearity, reverse=reverse)


class _RNNBase(Module):
    mode = ""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        nonlinearity: str = "tanh",
        dtype: object = np.float32,
        proj_size: int = 0,
    ):
        super().__init__()
        owner = type(self).__name__
        if isinstance(proj_size, bool) or not isinstance(proj_size, (int, np.integer)) or proj_size < 0:
            raise ValueError(f"{owner}: proj_size must be a non-negative integer, got {proj_size!r}")
        self.proj_size = int(proj_size)
        self.input_size = _positive_int(owner, "input_size", input_size)
        self.hidden_size = _positive_int(owner, "hidden_size", hidden_size)
        if proj_size and proj_size >= hidden_size:
            raise ValueError(f"{owner}: proj_size {proj_size} must be smaller than hidden_size {hidden_size}")
        self.num_layers = _positive_int(owner, "num_layers", num_layers)
        if not 0.0 <= dropout <= 1.0:
            raise ValueError(f"{owner}: dropout must be a probability in [0, 1], got {dropout}")
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"{owner}: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        self.bias, self.batch_first, self.dropout = bool(bias), bool(batch_first), float(dropout)
        self.bidirectional, self.nonlinearity = bool(bidirectional), nonlinearity
        directions = 2 if bidirectional else 1
        gates, bound = _GATES[self.mode] * hidden_size, 1 / math.sqrt(hidden_size)
        out_size = self.proj_size or hidden_size  # h_t's size: the projection's when there is one
        for layer in range(num_layers):
            layer_input = input_size if layer == 0 else out_size * directions
            for suffix in ("", "_reverse")[:directions]:
                self.register_parameter(
                    f"weight_ih_l{layer}{suffix}", _uniform_parameter((gates, layer_input), bound, dtype)
                )
                self.register_parameter(
                    f"weight_hh_l{layer}{suffix}", _uniform_parameter((gates, out_size), bound, dtype)
                )
                if bias:
                    self.register_parameter(f"bias_ih_l{layer}{suffix}", _uniform_parameter((gates,), bound, dtype))
                    self.register_parameter(f"bias_hh_l{layer}{suffix}", _uniform_parameter((gates,), bound, dtype))
                if self.proj_size:
                    self.register_parameter(
                        f"weight_hr_l{layer}{suffix}", _uniform_parameter((self.proj_size, hidden_size), bound, dtype)
                    )

    def _weights(self, layer: int, suffix: str) -> tuple:
        names = ("weight_ih", "weight_hh") + (("weight_hr",) if self.proj_size else ())
        names += ("bias_ih", "bias_hh") if self.bias else ()
        return tuple(getattr(self, f"{name}_l{layer}{suffix}") for name in names)

    def _states(self, hx: Any, batch: int, dtype: np.dtype) -> list:
        """The initial states as a list (h0, c0 for the LSTM) of (layers·directions, N, H)."""
        count = self.num_layers * (2 if self.bidirectional else 1)
        n_states = 2 if self.mode == "LSTM" else 1
        sizes = [(count, batch, self.proj_size or self.hidden_size), (count, batch, self.hidden_size)][:n_states]
        if hx is None:
            return [np.zeros(size, dtype) for size in sizes]
        states = list(hx) if self.mode == "LSTM" else [hx]
        if len(states) != n_states:
            raise ValueError(f"{type(self).__name__}: hx must be a pair (h_0, c_0), got {len(states)} states")
        for state, expected in zip(states, sizes):
            if tuple(state.shape) != expected:
                raise ValueError(
                    f"{type(self).__name__}: initial state must be (num_layers·directions, N, "
                    f"{'proj_size' if expected[2] != self.hidden_size else 'hidden_size'}) = {expected}, "
                    f"got {tuple(state.shape)}"
                )
        return states

    def forward(self, input: Tensor, hx: Any = None) -> tuple:
        """output (T, N, D·H) (batch_first: (N, T, D·H); unbatched (T, I) input: (T, D·H)) and
        the final states h_n (layers·D, N, H) — for the LSTM the pair (h_n, c_n)."""
        owner = type(self).__name__
        if input.ndim not in (2, 3) or input.shape[-1] != self.input_size:
            raise ValueError(
                f"{owner}: expected input (T, N, {self.input_size}) (or (N, T, {self.input_size}) with "
                f"batch_first, or (T, {self.input_size}) unbatched), got shape {tuple(input.shape)}"
            )
        batched = input.ndim == 3
        x = input.transpose(0, 1) if batched and self.batch_first else input
        if not batched:
            x = x.unsqueeze(1)
            if hx is not None:
                hx = tuple(h.unsqueeze(1) for h in hx) if self.mode == "LSTM" else hx.unsqueeze(1)
        states = self._states(hx, x.shape[1], x.dtype)
        length = x.shape[0]
        finals: list[list] = [[] for _ in states]
        directions = ("", "_reverse") if self.bidirectional else ("",)
        for layer in range(self.num_layers):
            outputs = []
            for d, suffix in enumerate(directions):
                k = layer * len(directions) + d
                mode = "ProjectedLSTM" if self.proj_size else self.mode
                y = _run_op(
                    mode, self.nonlinearity, x, tuple(s[k] for s in states), self._weights(layer, suffix), d == 1
                )
                h_width = self.proj_size or self.hidden_size  # ProjectedLSTM packs h and c into one wider array
                hs = y[:length, :, :h_width] if self.proj_size else (y[:length] if self.mode == "LSTM" else y)
                outputs.append(hs)
                finals[0].append(hs[0] if d == 1 else hs[length - 1])  # the last step in its direction
                if self.mode == "LSTM":
                    finals[1].append(y[length, :, : self.hidden_size] if self.proj_size else y[length])
            x = cat(outputs, dim=2) if len(outputs) > 1 else outputs[0]
            if self.dropout and self.training and layer < self.num_layers - 1:
                x = F.dropout(x, self.dropout)
        if not batched:
            x = x.squeeze(1)
        elif self.batch_first:
            x = x.transpose(0, 1)
        final = [stack(f, dim=0) if batched else stack(f, dim=0).squeeze(1) for f in finals]
        return (x, (final[0], final[1])) if self.mode == "LSTM" else (x, final[0])

    def extra_repr(self) -> str:
        parts = [f"{self.input_size}, {self.hidden_size}"]
        if self.num_layers != 1:
            parts.append(f"num_layers={self.num_layers}")
        if self.mode == "RNN" and self.nonlinearity != "tanh":
            parts.append(f"nonlinearity={self.nonlinearity!r}")
        for name, default in (
            ("bias", True),
            ("batch_first", False),
            ("dropout", 0.0),
            ("bidirectional", False),
            ("proj_size", 0),
        ):
            if getattr(self, name) != default:
                parts.append(f"{name}={getattr(self, name)}")
        return ", ".join(parts)


class RNN(_RNNBase):
    """Elman RNN, h_t = tanh(W_ih x_t + b_ih + W_hh h_{t−1} + b_hh) (or relu), torch's nn.RNN:
    ``RNN(input_size, hidden_size, num_layers=1, nonlinearity='tanh', bias=True,
    batch_first=False, dropout=0.0, bidirectional=False)``; returns (output, h_n)."""

    mode = "RNN"

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        nonlinearity: str = "tanh",
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        dtype: object = np.float32,
    ):
        super().__init__(
            input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional, nonlinearity, dtype
        )


class LSTM(_RNNBase):
    """LSTM with torch's gate order (i, f, g, o) and arguments ``LSTM(input_size, hidden_size,
    num_layers=1, bias=True, batch_first=False, dropout=0.0, bidirectional=False,
    proj_size=0)``; returns (output, (h_n, c_n)); hx is the pair (h_0, c_0). With proj_size P > 0
    each h_t is projected to P entries by weight_hr_l{k} (P, H) (ops.recurrent.ProjectedLSTM):
    output and h_n have P features, c_n keeps H."""

    mode = "LSTM"

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        proj_size: int = 0,
        device: object = None,
        dtype: object = np.float32,
    ):
        if device not in (None, "cpu"):
            raise ValueError(f"LSTM: bprop runs on the CPU only, got device={device!r}")
        super().__init__(
            input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional, "tanh", dtype, proj_size
        )


class GRU(_RNNBase):
    """GRU with torch's gate order (r, z, n) and arguments ``GRU(input_size, hidden_size,
    num_layers=1, bias=True, batch_first=False, dropout=0.0, bidirectional=False)``; returns
    (output, h_n)."""

    mode = "GRU"

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        dtype: object = np.float32,
    ):
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional, "tanh", dtype)


class _CellBase(Module):
    mode = ""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        nonlinearity: str = "tanh",
        dtype: object = np.float32,
    ):
        super().__init__()
        owner = type(self).__name__
        self.input_size = _positive_int(owner, "input_size", input_size)
        self.hidden_size = _positive_int(owner, "hidden_size", hidden_size)
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"{owner}: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        self.bias, self.nonlinearity = bool(bias), nonlinearity
        gates, bound = _GATES[self.mode] * hidden_size, 1 / math.sqrt(hidden_size)
        self.weight_ih = _uniform_parameter((gates, input_size), bound, dtype)
        self.weight_hh = _uniform_parameter((gates, hidden_size), bound, dtype)
        if bias:
            self.bias_ih = _uniform_parameter((gates,), bound, dtype)
            self.bias_hh = _uniform_parameter((gates,), bound, dtype)
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)

    def _step(self, input: Tensor, hx: Any) -> tuple[Tensor, bool]:
        """One step of the sequence op: its (1 or 2, N, H) output and whether input was batched."""
        owner = type(self).__name__
        if input.ndim not in (1, 2) or input.shape[-1] != self.input_size:
            raise ValueError(
                f"{owner}: expected input (N, {self.input_size}) or ({self.input_size},), "
                f"got shape {tuple(input.shape)}"
            )
        batched = input.ndim == 2
        x = input if batched else input.unsqueeze(0)
        expected = (x.shape[0], self.hidden_size)
        n_states = 2 if self.mode == "LSTM" else 1
        if hx is None:
            states = [np.zeros(expected, x.dtype) for _ in range(n_states)]
        else:
            states = list(hx) if self.mode == "LSTM" else [hx]
            states = [s if batched else s.unsqueeze(0) for s in states]
            if len(states) != n_states or any(tuple(s.shape) != expected for s in states):
                raise ValueError(f"{owner}: hidden state must be {n_states} of (N, H) = {expected}")
        weights = (self.weight_ih, self.weight_hh) + ((self.bias_ih, self.bias_hh) if self.bias else ())
        return _run_op(self.mode, self.nonlinearity, x.unsqueeze(0), tuple(states), weights, False), batched

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}, bias={self.bias}"


class RNNCell(_CellBase):
    """One step h′ = tanh(W_ih x + b_ih + W_hh h + b_hh) (or relu), torch's nn.RNNCell."""

    mode = "RNN"

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        y, batched = self._step(input, hx)
        return y[0] if batched else y[0, 0]


class LSTMCell(_CellBase):
    """One LSTM step, torch's nn.LSTMCell: forward(input, (h, c)) → (h′, c′)."""

    mode = "LSTM"

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, dtype: object = np.float32):
        super().__init__(input_size, hidden_size, bias, "tanh", dtype)

    def forward(self, input: Tensor, hx: tuple | None = None) -> tuple[Tensor, Tensor]:
        y, batched = self._step(input, hx)
        return (y[0], y[1]) if batched else (y[0, 0], y[1, 0])


class GRUCell(_CellBase):
    """One GRU step, torch's nn.GRUCell: forward(input, h) → h′."""

    mode = "GRU"

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, dtype: object = np.float32):
        super().__init__(input_size, hidden_size, bias, "tanh", dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        y, batched = self._step(input, hx)
        return y[0] if batched else y[0, 0]
