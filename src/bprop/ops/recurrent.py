"""Recurrent layers as whole-sequence ops: one layer, one direction, all T time steps in one
Function whose backward is backpropagation through time (docs/rnn-backprop.md derives it).

Layout and names follow torch (time-major x (T, N, I), gates stacked along the rows of the
weights): RNN   h_t = act(W_ih x_t + b_ih + W_hh h_{t−1} + b_hh)
          LSTM  rows (i, f, g, o) of W_ih (4H, I), W_hh (4H, H)
          GRU   rows (r, z, n) of W_ih (3H, I), W_hh (3H, H).

Why one op per sequence and not one graph node per step: the input projection X W_ihᵀ of all
steps is one GEMM before the loop, and its gradients ∂C/∂X, ∂C/∂W_ih, ∂C/∂W_hh and the biases
are one GEMM each after the backward loop, over the (T·N, gates) matrix of every step's δ. Only
h_{t−1} W_hhᵀ and δ_t W_hh must stay inside the loops, because each step needs the previous one.
The loops run over time only; every step is vectorised over the batch and the hidden units.

A reverse direction (bidirectional layers) walks t = T−1 … 0 over the same arrays, so output[t]
is the state after reading x_t in either direction, as torch aligns them.

What backward needs is kept on ctx: the inputs, the gate activations of every step (T, N, G)
and the hidden (and, for the LSTM, cell) states; the forward's in-place buffers are exactly those.
"""

from __future__ import annotations

import numpy as np

from bprop.autograd import ArrayFunction, Context


def _sigmoid_(z: np.ndarray) -> None:
    """σ(z) in place as ½ + ½·tanh(z/2): the same function, stable for any z, and one ufunc."""
    z *= 0.5
    np.tanh(z, out=z)
    z *= 0.5
    z += 0.5


def _steps(length: int, reverse: bool) -> range:
    return range(length - 1, -1, -1) if reverse else range(length)


def _previous(states: np.ndarray, initial: np.ndarray, t: int, reverse: bool) -> np.ndarray:
    """The state before step t in the direction of travel: states[t∓1], or the initial state."""
    if reverse:
        return states[t + 1] if t + 1 < len(states) else initial
    return states[t - 1] if t > 0 else initial


def _previous_all(states: np.ndarray, initial: np.ndarray, reverse: bool) -> np.ndarray:
    """(T, N, H): the state each step started from, for the one-GEMM ∂C/∂W_hh."""
    if reverse:
        return np.concatenate([states[1:], initial[None]])
    return np.concatenate([initial[None], states[:-1]])


def _check(
    op: str, gates: int, x: np.ndarray, states: tuple[np.ndarray, ...], w_ih: np.ndarray, w_hh: np.ndarray, biases
) -> int:
    """Validate the shapes of one recurrent layer's inputs; returns the hidden size H."""
    if x.ndim != 3:
        raise ValueError(f"{op}: input must be (T, N, input_size), got shape {x.shape}")
    hidden = w_hh.shape[-1] if w_hh.ndim == 2 else -1
    if w_hh.shape != (gates * hidden, hidden):
        raise ValueError(f"{op}: weight_hh must be ({gates}·H, H), got shape {w_hh.shape}")
    if w_ih.shape != (gates * hidden, x.shape[2]):
        raise ValueError(
            f"{op}: weight_ih must be ({gates * hidden}, {x.shape[2]}) for input of shape {x.shape}, got {w_ih.shape}"
        )
    for b in biases:
        if b is not None and b.shape != (gates * hidden,):
            raise ValueError(f"{op}: biases must be ({gates * hidden},), got shape {b.shape}")
    for s in states:
        if s.shape != (x.shape[1], hidden):
            raise ValueError(f"{op}: initial state must be (N, H) = ({x.shape[1]}, {hidden}), got {s.shape}")
    if x.shape[0] == 0:
        raise ValueError(f"{op}: the sequence is empty (input of shape {x.shape})")
    return hidden


def _project(x: np.ndarray, w_ih: np.ndarray, *biases: np.ndarray | None) -> np.ndarray:
    """X W_ihᵀ + Σ biases for all steps at once: (T, N, G), a fresh array the loop fills in place."""
    out = (x.reshape(-1, x.shape[2]) @ w_ih.T).reshape(x.shape[0], x.shape[1], w_ih.shape[0])
    for b in biases:
        if b is not None:
            out += b
    return out


def _parameter_grads(
    ctx: Context, first: int, d_input: np.ndarray, d_hidden: np.ndarray, previous: np.ndarray
) -> tuple:
    """∂C/∂X, ∂C/∂W_ih, ∂C/∂W_hh, ∂C/∂b_ih, ∂C/∂b_hh from every step's δ, one GEMM each.

    d_input (T, N, G) is ∂C/∂(W_ih x_t + b_ih) and d_hidden ∂C/∂(W_hh h_{t−1} + b_hh); they are
    the same array except in the GRU, whose candidate gate multiplies W_hh h + b_hh by r.
    ``first`` is the index of W_ih among the op's inputs (x is input 0).
    """
    needs = ctx.needs_input_grad
    x, w_ih = ctx.x, ctx.w_ih
    din = d_input.reshape(-1, d_input.shape[2])
    dhid = d_hidden.reshape(-1, d_hidden.shape[2])
    dx = (din @ w_ih).reshape(x.shape) if needs[0] else None
    dw_ih = din.T @ x.reshape(-1, x.shape[2]) if needs[first] else None
    dw_hh = dhid.T @ previous.reshape(-1, previous.shape[2]) if needs[first + 1] else None
    ones = np.ones(din.shape[0], din.dtype)
    db_ih = ones @ din if len(needs) > first + 2 and needs[first + 2] else None
    db_hh = ones @ dhid if len(needs) > first + 3 and needs[first + 3] else None
    return dx, dw_ih, dw_hh, db_ih, db_hh


def _save_inputs(ctx: Context, x: np.ndarray, h0: np.ndarray, w_ih: np.ndarray, w_hh: np.ndarray, reverse: bool):
    ctx.x, ctx.h0, ctx.w_ih, ctx.w_hh, ctx.reverse = x, h0, w_ih, w_hh, reverse


class RNN(ArrayFunction):
    """Elman RNN over a sequence: h_t = act(a_t), a_t = W_ih x_t + b_ih + W_hh h_{t−1} + b_hh.

    Output (T, N, H): every h_t (h_T is the final state). With act = tanh (act′ = 1 − h²) or
    relu (act′ = [h > 0]) and δ_t = ∂C/∂a_t, backpropagation through time is
        ∂C/∂h_t = g_t + W_hhᵀ δ_{t+1}     (g_t: the gradient reaching output t from above)
        δ_t     = act′(a_t) ⊙ ∂C/∂h_t
    and then, summed over the steps: ∂C/∂W_ih = Σ δ_t x_tᵀ, ∂C/∂W_hh = Σ δ_t h_{t−1}ᵀ,
    ∂C/∂b_ih = ∂C/∂b_hh = Σ δ_t, ∂C/∂x_t = W_ihᵀ δ_t, ∂C/∂h_0 = W_hhᵀ δ_1.
    """

    float_inputs = "all"

    @staticmethod
    def forward(
        ctx: Context,
        x: np.ndarray,
        h0: np.ndarray,
        w_ih: np.ndarray,
        w_hh: np.ndarray,
        b_ih: np.ndarray | None = None,
        b_hh: np.ndarray | None = None,
        nonlinearity: str = "tanh",
        reverse: bool = False,
    ) -> np.ndarray:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"rnn: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        _check("rnn", 1, x, (h0,), w_ih, w_hh, (b_ih, b_hh))
        out = _project(x, w_ih, b_ih, b_hh)  # a_t without the recurrent term; becomes h_t
        w_hh_t, h = w_hh.T, h0
        for t in _steps(len(x), reverse):
            out[t] += h @ w_hh_t
            if nonlinearity == "tanh":
                np.tanh(out[t], out=out[t])
            else:
                np.maximum(out[t], 0, out=out[t])
            h = out[t]
        _save_inputs(ctx, x, h0, w_ih, w_hh, reverse)
        ctx.hidden, ctx.nonlinearity = out, nonlinearity
        return out

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> tuple:
        hidden, w_hh, reverse = ctx.hidden, ctx.w_hh, ctx.reverse
        delta = np.empty_like(hidden)
        dh = np.zeros_like(ctx.h0)
        for t in _steps(len(hidden), not reverse):
            np.add(grad[t], dh, out=delta[t])  # ∂C/∂h_t: from above and from step t+1
            if ctx.nonlinearity == "tanh":
                delta[t] *= 1 - hidden[t] * hidden[t]
            else:
                delta[t] *= hidden[t] > 0
            dh = delta[t] @ w_hh
        previous = _previous_all(hidden, ctx.h0, reverse)
        dx, dw_ih, dw_hh, db_ih, db_hh = _parameter_grads(ctx, 2, delta, delta, previous)
        return dx, (dh if ctx.needs_input_grad[1] else None), dw_ih, dw_hh, db_ih, db_hh


class LSTM(ArrayFunction):
    """Long short-term memory over a sequence, torch's gate order (i, f, g, o):

        (i, f, g, o) = (σ, σ, tanh, σ)(W_ih x_t + b_ih + W_hh h_{t−1} + b_hh)
        c_t = f ⊙ c_{t−1} + i ⊙ g,     h_t = o ⊙ tanh c_t.

    Output (T + 1, N, H): rows 0…T−1 are h_t, row T is the final cell state c_T (so that c_T,
    like h_T, is an output with a gradient; the layer slices the two apart).

    Backward through time, with ∂h = ∂C/∂h_t (from above plus from step t+1) and ∂c = ∂C/∂c_t:
        ∂c   = ∂C/∂c_t (from step t+1: f_{t+1} ⊙ ∂c_{t+1}) + ∂h ⊙ o ⊙ (1 − tanh² c_t)
        δo = ∂h ⊙ tanh c_t ⊙ o(1 − o)     δi = ∂c ⊙ g ⊙ i(1 − i)
        δf = ∂c ⊙ c_{t−1} ⊙ f(1 − f)      δg = ∂c ⊙ i ⊙ (1 − g²)
        ∂C/∂c_{t−1} = ∂c ⊙ f   (the additive path: no weight matrix, no squashing derivative)
        ∂C/∂h_{t−1} = W_hhᵀ δ_t with δ_t = (δi, δf, δg, δo)
    and the weight gradients are the sums over t of δ_t x_tᵀ and δ_t h_{t−1}ᵀ as in the RNN.
    """

    float_inputs = "all"

    @staticmethod
    def forward(
        ctx: Context,
        x: np.ndarray,
        h0: np.ndarray,
        c0: np.ndarray,
        w_ih: np.ndarray,
        w_hh: np.ndarray,
        b_ih: np.ndarray | None = None,
        b_hh: np.ndarray | None = None,
        reverse: bool = False,
    ) -> np.ndarray:
        hidden_size = _check("lstm", 4, x, (h0, c0), w_ih, w_hh, (b_ih, b_hh))
        length, batch = x.shape[:2]
        gates = _project(x, w_ih, b_ih, b_hh)  # pre-activations, turned into activations in place
        out = np.empty((length + 1, batch, hidden_size), x.dtype)
        cells = np.empty((length, batch, hidden_size), x.dtype)
        tanh_cells = np.empty_like(cells)
        w_hh_t, h, c = w_hh.T, h0, c0
        for t in _steps(length, reverse):
            _lstm_cell(gates[t], h @ w_hh_t, c, cells[t], tanh_cells[t], out[t])
            h, c = out[t], cells[t]
        out[length] = c
        _save_inputs(ctx, x, h0, w_ih, w_hh, reverse)
        ctx.c0, ctx.gates, ctx.cells, ctx.tanh_cells, ctx.hidden = c0, gates, cells, tanh_cells, out[:length]
        return out

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> tuple:
        gates, cells, tanh_cells, reverse = ctx.gates, ctx.cells, ctx.tanh_cells, ctx.reverse
        length = len(cells)
        delta = np.empty_like(gates)
        dh = np.zeros_like(ctx.h0)
        dc = grad[length].copy()  # ∂C/∂c_T from the final-state output
        for t in _steps(length, not reverse):
            dh += grad[t]
            _lstm_gate_deltas(delta[t], dh, dc, gates[t], tanh_cells[t], _previous(cells, ctx.c0, t, reverse))
            dh = delta[t] @ ctx.w_hh  # ∂C/∂h_{t−1}
        previous = _previous_all(ctx.hidden, ctx.h0, reverse)
        dx, dw_ih, dw_hh, db_ih, db_hh = _parameter_grads(ctx, 3, delta, delta, previous)
        needs = ctx.needs_input_grad
        return dx, (dh if needs[1] else None), (dc if needs[2] else None), dw_ih, dw_hh, db_ih, db_hh


class ProjectedLSTM(ArrayFunction):
    """LSTM with a projection of its output (torch's proj_size = P > 0, Sak et al., 2014):

        (i, f, g, o) = (σ, σ, tanh, σ)(W_ih x_t + b_ih + W_hh h_{t−1} + b_hh)
        c_t = f ⊙ c_{t−1} + i ⊙ g,     m_t = o ⊙ tanh c_t,     h_t = W_hr m_t
    with W_hr (P, H), so h_t and h_0 have P entries and W_hh is (4H, P); c keeps H.

    Output (T + 1, N, max(P, H)): rows 0…T−1 hold h_t in their first P columns, row T holds
    c_T in its first H (the rest is zero; the layer slices the two apart).

    Backward through time is the LSTM's with one more step from h to m, for ∂h = ∂C/∂h_t:
        ∂m = W_hrᵀ ∂h  (per sample: ∂m = ∂h W_hr)        ∂C/∂W_hr = Σ_t ∂h_tᵀ m_t
    then, with ∂m in place of the LSTM's ∂h: δo = ∂m ⊙ tanh c_t ⊙ o(1 − o),
    ∂c += ∂m ⊙ o ⊙ (1 − tanh² c_t), δi, δf, δg as in LSTM, ∂C/∂h_{t−1} = δ_t W_hh.
    """

    float_inputs = "all"

    @staticmethod
    def forward(
        ctx: Context,
        x: np.ndarray,
        h0: np.ndarray,
        c0: np.ndarray,
        w_ih: np.ndarray,
        w_hh: np.ndarray,
        w_hr: np.ndarray,
        b_ih: np.ndarray | None = None,
        b_hh: np.ndarray | None = None,
        reverse: bool = False,
    ) -> np.ndarray:
        length, batch = x.shape[:2]
        proj, hidden_size = w_hr.shape
        if x.ndim != 3 or length == 0:
            raise ValueError(f"lstm: input must be a non-empty (T, N, input_size), got shape {x.shape}")
        expected = {"weight_ih": (4 * hidden_size, x.shape[2]), "weight_hh": (4 * hidden_size, proj)}
        for name, w in (("weight_ih", w_ih), ("weight_hh", w_hh)):
            if w.shape != expected[name]:
                raise ValueError(f"lstm: {name} must be {expected[name]} with weight_hr {w_hr.shape}, got {w.shape}")
        if h0.shape != (batch, proj) or c0.shape != (batch, hidden_size):
            raise ValueError(
                f"lstm: h_0 must be (N, proj_size) = {(batch, proj)} and c_0 (N, H) = {(batch, hidden_size)}, "
                f"got {h0.shape} and {c0.shape}"
            )
        gates = _project(x, w_ih, b_ih, b_hh)
        out = np.zeros((length + 1, batch, max(proj, hidden_size)), x.dtype)
        hidden = np.empty((length, batch, proj), x.dtype)
        cells, tanh_cells = (
            np.empty((length, batch, hidden_size), x.dtype),
            np.empty((length, batch, hidden_size), x.dtype),
        )
        m = np.empty((length, batch, hidden_size), x.dtype)
        w_hh_t, w_hr_t, h, c = w_hh.T, w_hr.T, h0, c0
        for t in _steps(length, reverse):
            _lstm_cell(gates[t], h @ w_hh_t, c, cells[t], tanh_cells[t], m[t])
            np.matmul(m[t], w_hr_t, out=hidden[t])
            h, c = hidden[t], cells[t]
        out[:length, :, :proj] = hidden
        out[length, :, :hidden_size] = c
        _save_inputs(ctx, x, h0, w_ih, w_hh, reverse)
        ctx.c0, ctx.w_hr, ctx.gates, ctx.cells, ctx.tanh_cells, ctx.m = c0, w_hr, gates, cells, tanh_cells, m
        ctx.hidden = hidden
        return out

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> tuple:
        gates, cells, tanh_cells, reverse, w_hr = ctx.gates, ctx.cells, ctx.tanh_cells, ctx.reverse, ctx.w_hr
        length, hidden_size, proj = len(cells), cells.shape[2], w_hr.shape[0]
        delta = np.empty_like(gates)
        dh_all = np.empty_like(ctx.hidden)
        dh = np.zeros_like(ctx.h0)
        dc = grad[length, :, :hidden_size].copy()
        for t in _steps(length, not reverse):
            dh += grad[t, :, :proj]
            dh_all[t] = dh
            dm = dh @ w_hr  # ∂C/∂m_t, in the LSTM's ∂h place
            _lstm_gate_deltas(delta[t], dm, dc, gates[t], tanh_cells[t], _previous(cells, ctx.c0, t, reverse))
            dh = delta[t] @ ctx.w_hh
        previous = _previous_all(ctx.hidden, ctx.h0, reverse)
        dx, dw_ih, dw_hh, db_ih, db_hh = _parameter_grads_with_projection(ctx, delta, previous)
        needs = ctx.needs_input_grad
        dw_hr = dh_all.reshape(-1, proj).T @ ctx.m.reshape(-1, hidden_size) if needs[5] else None
        return dx, (dh if needs[1] else None), (dc if needs[2] else None), dw_ih, dw_hh, dw_hr, db_ih, db_hh


def _lstm_cell(z: np.ndarray, recurrent: np.ndarray, c: np.ndarray, cell: np.ndarray, tanh_cell: np.ndarray,
               hidden: np.ndarray) -> None:  # fmt: skip
    """One LSTM step in place: z (N, 4H), the step's input projection, gets h_{t−1} W_hhᵀ
    (``recurrent``) and becomes the gates (i, f, g, o); then c_t = f ⊙ c_{t−1} + i ⊙ g into
    ``cell``, tanh c_t into ``tanh_cell`` and o ⊙ tanh c_t into ``hidden``."""
    size = cell.shape[-1]
    two, three = 2 * size, 3 * size
    z += recurrent
    _sigmoid_(z[:, :two])
    np.tanh(z[:, two:three], out=z[:, two:three])
    _sigmoid_(z[:, three:])
    np.multiply(z[:, size:two], c, out=cell)  # f ⊙ c_{t−1}
    cell += z[:, :size] * z[:, two:three]  # + i ⊙ g
    np.tanh(cell, out=tanh_cell)
    np.multiply(z[:, three:], tanh_cell, out=hidden)


def _lstm_gate_deltas(d: np.ndarray, dh: np.ndarray, dc: np.ndarray, gates: np.ndarray, tc: np.ndarray,
                      c_prev: np.ndarray) -> None:  # fmt: skip
    """One step back through an LSTM cell, in place: from ∂h (``dh``, overwritten) and
    ∂C/∂c_t (``dc``, becomes ∂C/∂c_{t−1}), the gate deltas δ = (δi, δf, δg, δo) into ``d``."""
    size = tc.shape[-1]
    two, three = 2 * size, 3 * size
    i, f, g, o = gates[:, :size], gates[:, size:two], gates[:, two:three], gates[:, three:]
    np.multiply(dh, tc, out=d[:, three:])  # δo
    d[:, three:] *= o * (1 - o)
    dh *= o
    dh *= 1 - tc * tc
    dc += dh  # ∂c
    np.multiply(dc, g, out=d[:, :size])  # δi
    d[:, :size] *= i * (1 - i)
    np.multiply(dc, c_prev, out=d[:, size:two])  # δf
    d[:, size:two] *= f * (1 - f)
    np.multiply(dc, i, out=d[:, two:three])  # δg
    d[:, two:three] *= 1 - g * g
    dc *= f  # ∂C/∂c_{t−1}


def _parameter_grads_with_projection(ctx: Context, delta: np.ndarray, previous: np.ndarray) -> tuple:
    """_parameter_grads for ProjectedLSTM, whose biases come after W_hr (inputs 6 and 7)."""
    needs = ctx.needs_input_grad
    ctx.needs_input_grad = (*needs[:5], *needs[6:])  # as if W_hr were not there
    try:
        return _parameter_grads(ctx, 3, delta, delta, previous)
    finally:
        ctx.needs_input_grad = needs


class GRU(ArrayFunction):
    """Gated recurrent unit over a sequence, torch's gate order (r, z, n) and formulation:

        r = σ(W_ir x + b_ir + W_hr h + b_hr)       z = σ(W_iz x + b_iz + W_hz h + b_hz)
        n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))
        h_t = (1 − z) ⊙ n + z ⊙ h_{t−1}.

    Output (T, N, H): every h_t. Backward, with ∂h = ∂C/∂h_t (from above plus from step t+1) and
    m = W_hn h_{t−1} + b_hn:
        δn = ∂h ⊙ (1 − z) ⊙ (1 − n²)          δz = ∂h ⊙ (h_{t−1} − n) ⊙ z(1 − z)
        δr = δn ⊙ m ⊙ r(1 − r)
    The input side receives (δr, δz, δn); the recurrent side (δr, δz, r ⊙ δn), because r scales
    W_hn h + b_hn only. Then ∂C/∂h_{t−1} = ∂h ⊙ z + W_hhᵀ (δr, δz, r ⊙ δn).
    """

    float_inputs = "all"

    @staticmethod
    def forward(
        ctx: Context,
        x: np.ndarray,
        h0: np.ndarray,
        w_ih: np.ndarray,
        w_hh: np.ndarray,
        b_ih: np.ndarray | None = None,
        b_hh: np.ndarray | None = None,
        reverse: bool = False,
    ) -> np.ndarray:
        hidden_size = _check("gru", 3, x, (h0,), w_ih, w_hh, (b_ih, b_hh))
        length, batch = x.shape[:2]
        gates = _project(x, w_ih, b_ih)  # input side; activations (r, z, n) in place
        recurrent_n = np.empty((length, batch, hidden_size), x.dtype)  # m = W_hn h + b_hn per step
        out = np.empty((length, batch, hidden_size), x.dtype)
        w_hh_t, h, two = w_hh.T, h0, 2 * hidden_size
        for t in _steps(length, reverse):
            gh = h @ w_hh_t
            if b_hh is not None:
                gh += b_hh
            z = gates[t]
            z[:, :two] += gh[:, :two]
            _sigmoid_(z[:, :two])
            recurrent_n[t] = gh[:, two:]
            z[:, two:] += z[:, :hidden_size] * gh[:, two:]
            np.tanh(z[:, two:], out=z[:, two:])
            n = z[:, two:]
            np.subtract(h, n, out=out[t])  # h_t = n + z ⊙ (h_{t−1} − n)
            out[t] *= z[:, hidden_size:two]
            out[t] += n
            h = out[t]
        _save_inputs(ctx, x, h0, w_ih, w_hh, reverse)
        ctx.gates, ctx.recurrent_n, ctx.hidden = gates, recurrent_n, out
        return out

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> tuple:
        gates, hidden, reverse = ctx.gates, ctx.hidden, ctx.reverse
        length, hidden_size = hidden.shape[0], hidden.shape[2]
        two = 2 * hidden_size
        d_input = np.empty_like(gates)
        d_hidden = np.empty_like(gates)
        dh = np.zeros_like(ctx.h0)
        for t in _steps(length, not reverse):
            r, z, n = gates[t, :, :hidden_size], gates[t, :, hidden_size:two], gates[t, :, two:]
            di, dr = d_input[t], d_hidden[t]
            dh += grad[t]
            np.multiply(dh, 1 - z, out=di[:, two:])  # δn
            di[:, two:] *= 1 - n * n
            np.subtract(_previous(hidden, ctx.h0, t, reverse), n, out=di[:, hidden_size:two])  # δz
            di[:, hidden_size:two] *= dh
            di[:, hidden_size:two] *= z * (1 - z)
            np.multiply(di[:, two:], ctx.recurrent_n[t], out=di[:, :hidden_size])  # δr
            di[:, :hidden_size] *= r * (1 - r)
            dr[:, :two] = di[:, :two]
            np.multiply(di[:, two:], r, out=dr[:, two:])
            dh *= z
            dh += dr @ ctx.w_hh
        previous = _previous_all(hidden, ctx.h0, reverse)
        dx, dw_ih, dw_hh, db_ih, db_hh = _parameter_grads(ctx, 2, d_input, d_hidden, previous)
        return dx, (dh if ctx.needs_input_grad[1] else None), dw_ih, dw_hh, db_ih, db_hh
