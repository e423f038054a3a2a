"""nn.Dropout: inverted dropout in training, the identity in eval, p checked."""

import numpy as np
import pytest
from tests.helpers import rand

import bprop as bp
from bprop import nn


def test_training_zeroes_a_fraction_p_and_scales_the_rest():
    bp.manual_seed(0)
    layer = nn.Dropout(0.25)
    out = np.asarray(layer(bp.ones(300, 300)))
    kept = out != 0
    assert kept.mean() == pytest.approx(0.75, abs=0.01)
    np.testing.assert_allclose(out[kept], 1 / 0.75, rtol=1e-6)
    assert out.mean() == pytest.approx(1.0, abs=0.02)  # the expectation is unchanged


def test_eval_is_the_identity_and_train_turns_it_back_on():
    layer = nn.Dropout(0.5)
    x = bp.randn(10, 10)
    assert layer.eval()(x) is x
    assert (np.asarray(layer.train()(x)) == 0).any()
    model = nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.9))
    model.eval()
    assert not model[1].training
    out = model(bp.ones(8, 4))
    np.testing.assert_array_equal(np.asarray(out), np.asarray(model[0](bp.ones(8, 4))))


def test_edge_probabilities():
    x = bp.randn(5, 6)
    assert nn.Dropout(0.0)(x) is x
    np.testing.assert_array_equal(np.asarray(nn.Dropout(1.0)(x)), 0)


@pytest.mark.parametrize("p", [-0.1, 1.5, float("nan")])
def test_probability_outside_unit_interval_is_rejected(p):
    with pytest.raises(ValueError, match=r"Dropout: probability p must be in \[0, 1\]"):
        nn.Dropout(p)


def test_gradcheck_with_the_seed_fixed_per_call():
    layer = nn.Dropout(0.3)

    def fn(x):
        bp.manual_seed(7)  # every evaluation draws the same mask
        return layer(x)

    assert bp.gradcheck(fn, [bp.tensor(rand(6, 7), requires_grad=True)])


def test_same_seed_same_mask_and_masks_differ_between_calls():
    layer = nn.Dropout(0.5)
    x = bp.ones(20, 20)
    bp.manual_seed(3)
    first, second = np.asarray(layer(x)), np.asarray(layer(x))
    bp.manual_seed(3)
    np.testing.assert_array_equal(np.asarray(layer(x)), first)
    assert (first != second).any()


def test_dtype_and_repr():
    assert nn.Dropout(0.5)(bp.tensor(rand(3, 3))).dtype == np.float64
    assert nn.Dropout(0.5)(bp.randn(3, 3)).dtype == np.float32
    assert repr(nn.Dropout(0.3)) == "Dropout(p=0.3, inplace=False)"


def test_dropout2d_drops_whole_channels_and_is_the_identity_in_eval():
    bp.manual_seed(0)
    layer = nn.Dropout2d(0.3)
    x = bp.ones(40, 50, 3, 4, requires_grad=True)
    out = np.asarray(layer(x))
    per_channel = out.reshape(40, 50, -1)
    assert ((per_channel == 0).all(-1) | (per_channel == np.float32(1 / 0.7)).all(-1)).all()
    assert (per_channel[..., 0] == 0).mean() == pytest.approx(0.3, abs=0.03)
    layer(x).sum().backward()
    assert np.ptp(np.asarray(x.grad).reshape(40, 50, -1), axis=-1).max() == 0  # one factor per channel
    assert layer.eval()(x) is x
    assert repr(nn.Dropout2d(0.2)) == "Dropout2d(p=0.2, inplace=False)"


def test_pad_modes_match_torch():
    torch = pytest.importorskip("torch")
    from tests.helpers import torch_parity

    for mode in ("constant", "reflect", "replicate", "circular"):
        torch_parity(
            lambda x, mode=mode: nn.functional.pad(x, (1, 2, 2, 0), mode=mode),
            lambda x, mode=mode: torch.nn.functional.pad(x, (1, 2, 2, 0), mode=mode),
            rand(2, 3, 4, 5),
        )
