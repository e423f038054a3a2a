"""BatchNorm1d/2d layers: torch parity over several training steps and in eval mode."""

import numpy as np
import pytest

import bprop as bp
from bprop import nn


@pytest.mark.parametrize("name,shape", [("BatchNorm1d", (6, 4)), ("BatchNorm1d", (5, 4, 3)),
                                        ("BatchNorm2d", (3, 4, 5, 2))])
@pytest.mark.parametrize("momentum", [0.1, 0.5, None])
def test_batch_norm_layers_match_torch(name, shape, momentum):
    torch = pytest.importorskip("torch")
    ours = getattr(nn, name)(4, momentum=momentum).to(np.float64)
    ref = getattr(torch.nn, name)(4, momentum=momentum).double()
    rng = np.random.default_rng(0)
    with torch.no_grad():
        ref.weight.copy_(torch.tensor(rng.standard_normal(4)))
        ref.bias.copy_(torch.tensor(rng.standard_normal(4)))
    ours.load_state_dict({k: v.numpy() for k, v in ref.state_dict().items()})
    for step in range(3):
        x = rng.standard_normal(shape) * (step + 1) + step
        xt, tt = bp.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        out, expected = ours(xt), ref(tt)
        np.testing.assert_allclose(out.data, expected.detach().numpy(), atol=1e-10)
        g = rng.standard_normal(shape)
        out.backward(g)
        expected.backward(torch.tensor(g))
        np.testing.assert_allclose(xt.grad, tt.grad.numpy(), atol=1e-10)
    for key, value in ref.state_dict().items():
        np.testing.assert_allclose(ours.state_dict()[key], value.numpy(), atol=1e-12, err_msg=key)
    np.testing.assert_allclose(ours.weight.grad, ref.weight.grad.numpy(), atol=1e-10)
    np.testing.assert_allclose(ours.bias.grad, ref.bias.grad.numpy(), atol=1e-10)
    ours.eval()
    ref.eval()
    x = rng.standard_normal(shape)
    np.testing.assert_allclose(ours(bp.tensor(x)).data, ref(torch.tensor(x)).detach().numpy(), atol=1e-10)


def test_batch_norm_errors_and_options():
    with pytest.raises(ValueError, match=r"BatchNorm1d\(64\): expected input \(N, C\) or \(N, C, L\) with C = 64, "
                                         r"got shape \(32, 10\)"):
        nn.BatchNorm1d(64)(bp.zeros(32, 10))
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        nn.BatchNorm1d(3)(bp.zeros(1, 3))
    bn = nn.BatchNorm1d(3, affine=False, track_running_stats=False)
    assert list(bn.parameters()) == [] and bn.state_dict() == {}
    bn.eval()  # without running statistics, batch statistics are used in eval too
    out = bn(bp.tensor(np.arange(6.0).reshape(2, 3)))
    np.testing.assert_allclose(out.data, [[-1, -1, -1], [1, 1, 1]], atol=1e-4)
