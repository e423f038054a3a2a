"""RNN, LSTM, GRU and their cells against torch: same weights (loaded with from_torch), same
outputs, final states and every gradient, over layers, directions, batch_first, initial states
and bias."""

import numpy as np
import pytest

import bprop as bp
from bprop import nn
from bprop.export import from_torch, to_torch

torch = pytest.importorskip("torch")

T, N, D, H = 5, 3, 4, 6
CONFIGS = [
    # (num_layers, bidirectional, batch_first, initial states, bias)
    (1, False, False, False, True),
    (1, False, True, True, True),
    (2, False, False, True, True),
    (1, True, False, True, True),
    (2, True, True, True, False),
    (3, True, False, False, True),
]


def _torch_and_ours(mode, num_layers, bidirectional, batch_first, bias, nonlinearity="tanh"):
    torch.manual_seed(0)
    kwargs = dict(num_layers=num_layers, bidirectional=bidirectional, batch_first=batch_first, bias=bias)
    if mode == "RNN":
        kwargs["nonlinearity"] = nonlinearity
    theirs = getattr(torch.nn, mode)(D, H, **kwargs).double()
    ours = getattr(nn, mode)(D, H, **kwargs)
    ours.load_state_dict(from_torch(theirs.state_dict()))
    return theirs, ours.double()


def _states(mode, num_layers, bidirectional, rng):
    shape = (num_layers * (2 if bidirectional else 1), N, H)
    return [rng.standard_normal(shape) for _ in range(2 if mode == "LSTM" else 1)]


def _flatten(mode, output, final):
    return [output, *final] if mode == "LSTM" else [output, final]


@pytest.mark.parametrize("mode", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("num_layers,bidirectional,batch_first,with_states,bias", CONFIGS)
def test_layer_matches_torch_forward_and_every_gradient(
    mode, num_layers, bidirectional, batch_first, with_states, bias
):
    rng = np.random.default_rng(1)
    theirs, ours = _torch_and_ours(mode, num_layers, bidirectional, batch_first, bias)
    x = rng.standard_normal((N, T, D) if batch_first else (T, N, D))
    states = _states(mode, num_layers, bidirectional, rng) if with_states else []
    xb, xt = bp.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    sb = [bp.tensor(s, requires_grad=True) for s in states]
    st = [torch.tensor(s, requires_grad=True) for s in states]
    hx_b = (tuple(sb) if mode == "LSTM" else sb[0]) if states else None
    hx_t = (tuple(st) if mode == "LSTM" else st[0]) if states else None
    outs_b = _flatten(mode, *ours(xb, hx_b))
    outs_t = _flatten(mode, *theirs(xt, hx_t))
    loss_t = 0
    for ob, ot in zip(outs_b, outs_t):
        np.testing.assert_allclose(ob.data, ot.detach().numpy(), atol=1e-10)
        g = rng.standard_normal(ob.shape)
        ob.backward(g, retain_graph=True)
        loss_t = loss_t + (ot * torch.tensor(g)).sum()
    loss_t.backward()
    np.testing.assert_allclose(xb.grad, xt.grad.numpy(), atol=1e-10)
    for b, t in zip(sb, st):
        np.testing.assert_allclose(b.grad, t.grad.numpy(), atol=1e-10)
    for (name, p), (tname, tp) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert name == tname
        np.testing.assert_allclose(p.grad, tp.grad.numpy(), atol=1e-10, err_msg=name)


def test_relu_rnn_and_unbatched_input_match_torch():
    theirs, ours = _torch_and_ours("RNN", 2, True, False, True, nonlinearity="relu")
    x = np.random.default_rng(2).standard_normal((T, D))
    out_b, h_b = ours(bp.tensor(x))
    out_t, h_t = theirs(torch.tensor(x))
    np.testing.assert_allclose(out_b.data, out_t.detach().numpy(), atol=1e-10)
    np.testing.assert_allclose(h_b.data, h_t.detach().numpy(), atol=1e-10)
    assert out_b.shape == (T, 2 * H) and h_b.shape == (4, H)


def test_dropout_between_layers_only_in_training():
    bp.manual_seed(0)
    lstm = nn.LSTM(D, H, num_layers=2, dropout=0.5)
    x = bp.randn(T, N, D)
    lstm.eval()
    first, second = lstm(x)[0].data, lstm(x)[0].data
    np.testing.assert_array_equal(first, second)
    lstm.train()
    assert not np.allclose(lstm(x)[0].data, first)  # a mask on layer 1's output changes layer 2
    single = nn.LSTM(D, H, num_layers=1, dropout=0.5)  # nothing between layers: no dropout at all
    np.testing.assert_array_equal(single(x)[0].data, single(x)[0].data)


@pytest.mark.parametrize("mode", ["RNNCell", "LSTMCell", "GRUCell"])
@pytest.mark.parametrize("batched", [True, False])
def test_cells_match_torch(mode, batched):
    rng = np.random.default_rng(3)
    torch.manual_seed(0)
    theirs = getattr(torch.nn, mode)(D, H).double()
    ours = getattr(nn, mode)(D, H)
    ours.load_state_dict(from_torch(theirs.state_dict()))
    ours.double()
    shape = (N, D) if batched else (D,)
    x = rng.standard_normal(shape)
    states = [rng.standard_normal((N, H) if batched else (H,)) for _ in range(2 if mode == "LSTMCell" else 1)]
    sb = [bp.tensor(s, requires_grad=True) for s in states]
    st = [torch.tensor(s, requires_grad=True) for s in states]
    xb, xt = bp.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ob = ours(xb, tuple(sb) if mode == "LSTMCell" else sb[0])
    ot = theirs(xt, tuple(st) if mode == "LSTMCell" else st[0])
    ob, ot = (list(ob), list(ot)) if mode == "LSTMCell" else ([ob], [ot])
    loss_t = 0
    for b, t in zip(ob, ot):
        np.testing.assert_allclose(b.data, t.detach().numpy(), atol=1e-12)
        g = rng.standard_normal(b.shape)
        b.backward(g, retain_graph=True)
        loss_t = loss_t + (t * torch.tensor(g)).sum()
    loss_t.backward()
    np.testing.assert_allclose(xb.grad, xt.grad.numpy(), atol=1e-12)
    for b, t in zip(sb, st):
        np.testing.assert_allclose(b.grad, t.grad.numpy(), atol=1e-12)
    for (name, p), (_, tp) in zip(ours.named_parameters(), theirs.named_parameters()):
        np.testing.assert_allclose(p.grad, tp.grad.numpy(), atol=1e-12, err_msg=name)


def test_parameter_names_shapes_and_init_follow_torch():
    lstm = nn.LSTM(D, H, num_layers=2, bidirectional=True)
    reference = torch.nn.LSTM(D, H, num_layers=2, bidirectional=True)
    assert [(k, v.shape) for k, v in lstm.state_dict().items()] == [
        (k, tuple(v.shape)) for k, v in reference.state_dict().items()
    ]
    bound = 1 / np.sqrt(H)
    assert all(np.abs(p.data).max() <= bound for p in lstm.parameters())
    assert lstm.weight_ih_l0.dtype == np.float32
    reference.load_state_dict(to_torch(lstm))  # and back into torch


def test_float32_by_default_throughout():
    gru = nn.GRU(D, H, num_layers=2)
    out, h = gru(bp.randn(T, N, D))
    assert out.dtype == np.float32 and h.dtype == np.float32
    out.sum().backward()
    assert all(p.grad.dtype == np.float32 for p in gru.parameters())


def test_bad_input_names_the_layer_and_the_shapes():
    lstm = nn.LSTM(D, H, num_layers=2)
    with pytest.raises(ValueError, match=r"LSTM: expected input \(T, N, 4\).*got shape \(5, 3, 7\)"):
        lstm(bp.randn(T, N, 7))
    with pytest.raises(ValueError, match=r"initial state must be .* = \(2, 3, 6\), got \(1, 3, 6\)"):
        lstm(bp.randn(T, N, D), (bp.zeros(1, N, H), bp.zeros(1, N, H)))
    with pytest.raises(ValueError, match="hidden_size must be a positive integer"):
        nn.GRU(D, 0)
    with pytest.raises(ValueError, match="nonlinearity must be 'tanh' or 'relu'"):
        nn.RNN(D, H, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match=r"GRUCell: expected input \(N, 4\)"):
        nn.GRUCell(D, H)(bp.randn(N, 5))


@pytest.mark.parametrize("num_layers,bidirectional,batch_first,with_states,bias", CONFIGS)
def test_lstm_with_projection_matches_torch_forward_and_every_gradient(
    num_layers, bidirectional, batch_first, with_states, bias
):
    proj = 4
    torch.manual_seed(0)
    kwargs = dict(num_layers=num_layers, bidirectional=bidirectional, batch_first=batch_first, bias=bias)
    theirs = torch.nn.LSTM(D, H, proj_size=proj, **kwargs).double()
    ours = nn.LSTM(D, H, proj_size=proj, **kwargs)
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    ours.load_state_dict(from_torch(theirs.state_dict()))
    ours = ours.double()
    rng = np.random.default_rng(3)
    x = rng.standard_normal((N, T, D) if batch_first else (T, N, D))
    count = num_layers * (2 if bidirectional else 1)
    states = [rng.standard_normal((count, N, proj)), rng.standard_normal((count, N, H))] if with_states else []
    xb, xt = bp.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    sb = [bp.tensor(s, requires_grad=True) for s in states]
    st = [torch.tensor(s, requires_grad=True) for s in states]
    out_b, (h_b, c_b) = ours(xb, tuple(sb) if sb else None)
    out_t, (h_t, c_t) = theirs(xt, tuple(st) if st else None)
    assert out_b.shape[-1] == proj * (2 if bidirectional else 1) and h_b.shape[-1] == proj and c_b.shape[-1] == H
    loss_t = 0
    for ob, ot in zip((out_b, h_b, c_b), (out_t, h_t, c_t)):
        np.testing.assert_allclose(np.asarray(ob), ot.detach().numpy(), atol=1e-10)
        g = rng.standard_normal(ob.shape)
        ob.backward(g, retain_graph=True)
        loss_t = loss_t + (ot * torch.tensor(g)).sum()
    loss_t.backward()
    np.testing.assert_allclose(np.asarray(xb.grad), xt.grad.numpy(), atol=1e-10)
    for b, t in zip(sb, st):
        np.testing.assert_allclose(np.asarray(b.grad), t.grad.numpy(), atol=1e-10)
    for (name, p), (_, tp) in zip(ours.named_parameters(), theirs.named_parameters()):
        np.testing.assert_allclose(np.asarray(p.grad), tp.grad.numpy(), atol=1e-10, err_msg=name)


def test_lstm_projection_arguments_are_checked():
    with pytest.raises(ValueError, match="proj_size 6 must be smaller than hidden_size 6"):
        nn.LSTM(D, H, proj_size=H)
    with pytest.raises(ValueError, match=r"initial state must be .*proj_size\) = \(1, 3, 2\)"):
        nn.LSTM(D, H, proj_size=2)(bp.randn(T, N, D), (bp.randn(1, N, H), bp.randn(1, N, H)))
    assert repr(nn.LSTM(D, H, proj_size=2)) == "LSTM(4, 6, proj_size=2)"
