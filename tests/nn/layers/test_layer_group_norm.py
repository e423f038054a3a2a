"""nn.LayerNorm and nn.GroupNorm: torch parity of outputs and every gradient, state dict keys,
options, errors."""

import numpy as np
import pytest
from tests.helpers import rand

import bprop as bp
from bprop import nn


def compare_with_torch(ours, ref, x):
    torch = pytest.importorskip("torch")
    ours.load_state_dict({k: v.numpy() for k, v in ref.state_dict().items()})
    assert list(ours.state_dict()) == list(ref.state_dict())
    xt, tt = bp.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, expected = ours(xt), ref(tt)
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=1e-7, atol=1e-10)
    g = rand(*x.shape, seed=9)
    out.backward(g)
    expected.backward(torch.tensor(g))
    np.testing.assert_allclose(xt.grad, tt.grad.numpy(), rtol=1e-7, atol=1e-10)
    for (name, p), q in zip(ours.named_parameters(), ref.parameters()):
        np.testing.assert_allclose(p.grad, q.grad.numpy(), rtol=1e-7, atol=1e-10, err_msg=name)


@pytest.mark.parametrize("shape,normalized", [((4, 6), 6), ((2, 3, 4, 5), (4, 5)), ((3, 5, 8), [8])])
@pytest.mark.parametrize("affine", [True, False])
def test_layer_norm_matches_torch(shape, normalized, affine):
    torch = pytest.importorskip("torch")
    ref = torch.nn.LayerNorm(normalized, eps=1e-4, elementwise_affine=affine).double()
    if affine:
        with torch.no_grad():
            ref.weight.copy_(torch.tensor(rand(*ref.weight.shape, seed=1)))
            ref.bias.copy_(torch.tensor(rand(*ref.bias.shape, seed=2)))
    ours = nn.LayerNorm(normalized, eps=1e-4, elementwise_affine=affine).to(np.float64)
    compare_with_torch(ours, ref, rand(*shape))


@pytest.mark.parametrize("shape,groups", [((4, 6), 3), ((2, 6, 5), 2), ((2, 4, 3, 3), 1), ((3, 4, 2, 2), 4)])
@pytest.mark.parametrize("affine", [True, False])
def test_group_norm_matches_torch(shape, groups, affine):
    torch = pytest.importorskip("torch")
    ref = torch.nn.GroupNorm(groups, shape[1], eps=1e-4, affine=affine).double()
    if affine:
        with torch.no_grad():
            ref.weight.copy_(torch.tensor(rand(shape[1], seed=1)))
            ref.bias.copy_(torch.tensor(rand(shape[1], seed=2)))
    ours = nn.GroupNorm(groups, shape[1], eps=1e-4, affine=affine).to(np.float64)
    compare_with_torch(ours, ref, rand(*shape))


def test_parameters_defaults_and_repr():
    layer = nn.LayerNorm((3, 4))
    assert layer.weight.shape == (3, 4) and layer.weight.dtype == np.float32
    np.testing.assert_array_equal(layer.weight.data, 1)
    np.testing.assert_array_equal(layer.bias.data, 0)
    assert repr(layer) == "LayerNorm((3, 4), eps=1e-05, elementwise_affine=True)"
    assert nn.LayerNorm(5, bias=False).bias is None
    assert [n for n, _ in nn.LayerNorm(5, elementwise_affine=False).named_parameters()] == []
    group = nn.GroupNorm(2, 4)
    assert repr(group) == "GroupNorm(2, 4, eps=1e-05, affine=True)"
    assert group(bp.randn(3, 4, 2)).dtype == np.float32


def test_train_and_eval_compute_the_same():
    layer, x = nn.LayerNorm(4), bp.randn(3, 4)
    first = layer(x).data
    layer.eval()
    np.testing.assert_array_equal(layer(x).data, first)


def test_errors_name_the_layer_and_the_shapes():
    with pytest.raises(
        ValueError, match=r"LayerNorm\(\(4,\)\): expected input ending in dims \(4,\), got shape \(2, 5\)"
    ):
        nn.LayerNorm(4)(bp.randn(2, 5))
    with pytest.raises(ValueError, match=r"GroupNorm: num_channels 6 must be divisible by num_groups 4"):
        nn.GroupNorm(4, 6)
    with pytest.raises(ValueError, match=r"GroupNorm\(2, 6\): expected input \(N, 6, \*\), got shape \(2, 4\)"):
        nn.GroupNorm(2, 6)(bp.randn(2, 4))
    with pytest.raises(ValueError, match="LayerNorm: normalized_shape must be positive sizes"):
        nn.LayerNorm(0)
