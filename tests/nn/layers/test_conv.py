"""nn.Conv2d against torch (alone and in a small CNN with pooling and BatchNorm2d), its init and errors
(the pooling layers have tests/nn/layers/test_pooling.py)."""

import numpy as np
import pytest
from tests.helpers import torch_parity

import bprop as bp
from bprop import nn


def copy_from_torch(ours, theirs):
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    return ours.to(np.float64)


def test_conv2d_layer_matches_torch():
    torch = pytest.importorskip("torch")
    ref = torch.nn.Conv2d(4, 6, (3, 2), stride=(2, 1), padding=1, dilation=(1, 2), groups=2).double()
    layer = copy_from_torch(nn.Conv2d(4, 6, (3, 2), stride=(2, 1), padding=1, dilation=(1, 2), groups=2), ref)
    x = np.random.default_rng(0).standard_normal((2, 4, 9, 8))
    out, expected = layer(bp.tensor(x)), ref(torch.tensor(x))
    np.testing.assert_allclose(out.data, expected.detach().numpy(), atol=1e-12)
    out.sum().backward()
    expected.sum().backward()
    np.testing.assert_allclose(layer.weight.grad, ref.weight.grad.numpy(), atol=1e-10)
    np.testing.assert_allclose(layer.bias.grad, ref.bias.grad.numpy(), atol=1e-10)


def test_default_init_has_torch_bounds():
    layer = nn.Conv2d(8, 16, 3)
    bound = 1 / np.sqrt(8 * 9)
    assert np.abs(layer.weight.data).max() <= bound and np.abs(layer.weight.data).max() > 0.8 * bound
    assert np.abs(layer.bias.data).max() <= bound
    assert layer.weight.shape == (16, 8, 3, 3) and nn.Conv2d(8, 16, 3, groups=4).weight.shape == (16, 2, 3, 3)


def test_small_cnn_end_to_end_matches_torch():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    tnn = torch.nn
    ref = tnn.Sequential(
        tnn.Conv2d(2, 4, 3, padding=1),
        tnn.BatchNorm2d(4),
        tnn.ReLU(),
        tnn.MaxPool2d(2),
        tnn.Conv2d(4, 4, 3),
        tnn.ReLU(),
        tnn.AvgPool2d(2, 1),
        tnn.Flatten(),
        tnn.Linear(4, 3),
    ).double()
    ours = copy_from_torch(
        nn.Sequential(
            nn.Conv2d(2, 4, 3, padding=1),
            nn.BatchNorm2d(4),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(4, 4, 3),
            nn.ReLU(),
            nn.AvgPool2d(2, 1),
            nn.Flatten(),
            nn.Linear(4, 3),
        ),
        ref,
    )
    x = np.random.default_rng(1).standard_normal((5, 2, 8, 8))
    y = np.array([0, 1, 2, 1, 0])
    loss = nn.CrossEntropyLoss()(ours(bp.tensor(x)), bp.tensor(y))
    expected = tnn.CrossEntropyLoss()(ref(torch.tensor(x)), torch.tensor(y))
    assert loss.item() == pytest.approx(expected.item(), abs=1e-12)
    loss.backward()
    expected.backward()
    for (name, p), tp in zip(ours.named_parameters(), ref.parameters()):
        np.testing.assert_allclose(p.grad, tp.grad.numpy(), atol=1e-10, err_msg=name)
    np.testing.assert_allclose(ours[1].running_var, ref[1].running_var.numpy(), atol=1e-12)
    ours.eval()
    ref.eval()
    np.testing.assert_allclose(ours(bp.tensor(x)).data, ref(torch.tensor(x)).detach().numpy(), atol=1e-10)


def test_layer_errors_name_the_layer_and_shapes():
    with pytest.raises(
        ValueError, match=r"Conv2d\(3→16, k=3\): expected input \(N, 3, H, W\) or \(3, H, W\), got \(8, 1, 28"
    ):
        nn.Conv2d(3, 16, 3)(bp.zeros(8, 1, 28, 28))
    with pytest.raises(ValueError, match=r"Conv2d\(1→2, k=5\):.*larger than the padded input"):
        nn.Conv2d(1, 2, 5)(bp.zeros(1, 1, 3, 3))
    with pytest.raises(ValueError, match="divisible by groups"):
        nn.Conv2d(3, 4, 3, groups=2)
    with pytest.raises(ValueError, match="at least 1"):
        nn.Conv2d(3, 4, 3, stride=0)
    with pytest.raises(ValueError, match=r"BatchNorm2d\(4\): expected input \(N, C, H, W\) with C = 4"):
        nn.BatchNorm2d(4)(bp.zeros(2, 3, 5, 5))


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(kernel_size=3, padding="same"),
        dict(kernel_size=(4, 3), padding="same", dilation=(1, 2)),  # even: one more on the bottom
        dict(kernel_size=3, padding="valid"),
        dict(kernel_size=3, padding=1, padding_mode="reflect"),
        dict(kernel_size=(2, 3), padding=(1, 2), padding_mode="replicate", stride=2),
        dict(kernel_size=4, padding="same", padding_mode="circular"),
    ],
    ids=str,
)
@pytest.mark.parametrize("batched", [True, False], ids=["NCHW", "CHW"])
def test_string_padding_and_padding_modes_match_torch(kwargs, batched):
    torch = pytest.importorskip("torch")
    ours = nn.Conv2d(2, 3, dtype=np.float64, **kwargs)
    theirs = torch.nn.Conv2d(2, 3, dtype=torch.float64, **kwargs)
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(np.asarray(ours.weight)))
        theirs.bias.copy_(torch.tensor(np.asarray(ours.bias)))
    shape = (2, 2, 7, 6) if batched else (2, 7, 6)
    torch_parity(ours, theirs, np.random.default_rng(0).standard_normal(shape))


def test_padding_options_are_checked_when_the_layer_is_built():
    with pytest.raises(ValueError, match="strided"):
        nn.Conv2d(1, 1, 3, stride=2, padding="same")
    with pytest.raises(ValueError, match="padding_mode"):
        nn.Conv2d(1, 1, 3, padding_mode="mirror")
    with pytest.raises(ValueError, match="'valid' or 'same'"):
        nn.Conv2d(1, 1, 3, padding="full")
