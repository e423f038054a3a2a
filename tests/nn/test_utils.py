"""nn.utils.clip_grad_norm_ against torch's."""

import numpy as np
import pytest

import bprop as bp
from bprop import nn


def _grads(scale):
    rng = np.random.default_rng(0)
    params = [bp.tensor(rng.standard_normal(s), requires_grad=True) for s in [(3, 4), (4,), (2, 2, 2)]]
    for p in params:
        p.grad = bp.tensor(rng.standard_normal(p.shape) * scale)
    return params


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, float("inf")])
@pytest.mark.parametrize("scale", [0.01, 10.0])
def test_matches_torch(norm_type, scale):
    torch = pytest.importorskip("torch")
    ours = _grads(scale)
    theirs = [torch.tensor(np.asarray(p), requires_grad=True) for p in ours]
    for t, p in zip(theirs, ours):
        t.grad = torch.tensor(np.array(p.grad))
    total = nn.utils.clip_grad_norm_(ours, 1.0, norm_type=norm_type)
    expected = torch.nn.utils.clip_grad_norm_(theirs, 1.0, norm_type=norm_type)
    assert total.item() == pytest.approx(expected.item(), rel=1e-12)
    for p, t in zip(ours, theirs):
        np.testing.assert_allclose(p.grad, t.grad.numpy(), rtol=1e-12)


def test_small_gradients_are_untouched_and_nonfinite_can_raise():
    params = _grads(0.01)
    before = [np.array(p.grad) for p in params]
    nn.utils.clip_grad_norm_(params, 100.0)
    for p, b in zip(params, before):
        np.testing.assert_array_equal(p.grad, b)
    params[0].grad[0, 0] = np.inf
    with pytest.raises(RuntimeError, match=r"total norm of order 2\.0 of the gradients is non-finite \(inf\)"):
        nn.utils.clip_grad_norm_(params, 1.0, error_if_nonfinite=True)


def test_clip_grad_value_matches_torch():
    torch = pytest.importorskip("torch")
    grads = [np.random.default_rng(i).standard_normal((3, 4)) * 3 for i in range(2)]
    ours = [bp.tensor(np.zeros((3, 4)), requires_grad=True) for _ in grads]
    theirs = [torch.zeros(3, 4, dtype=torch.float64, requires_grad=True) for _ in grads]
    for p, t, g in zip(ours, theirs, grads):
        p.grad, t.grad = bp.tensor(g.copy()), torch.tensor(g)
    no_grad = bp.tensor([1.0], requires_grad=True)
    assert nn.utils.clip_grad_value_([*ours, no_grad], 1.5) is None
    torch.nn.utils.clip_grad_value_(theirs, 1.5)
    for p, t in zip(ours, theirs):
        np.testing.assert_array_equal(np.asarray(p.grad), t.grad.numpy())
    assert np.abs(np.asarray(ours[0].grad)).max() == 1.5 and no_grad.grad is None


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_a_nonfinite_total_norm_clips_as_torch_or_raises(bad):
    torch = pytest.importorskip("torch")
    ours = _grads(1.0)
    theirs = [torch.tensor(np.asarray(p), requires_grad=True) for p in ours]
    ours[0].grad[1, 2] = bad
    for t, p in zip(theirs, ours):
        t.grad = torch.tensor(p.grad.numpy().copy())
    total = nn.utils.clip_grad_norm_(ours, 1.0)
    expected = torch.nn.utils.clip_grad_norm_(theirs, 1.0)
    np.testing.assert_array_equal(total.numpy(), expected.numpy())
    for p, t in zip(ours, theirs):
        np.testing.assert_array_equal(p.grad.numpy(), t.grad.numpy())
    with pytest.raises(RuntimeError, match="non-finite"):
        nn.utils.clip_grad_norm_(ours, 1.0, error_if_nonfinite=True)
    with pytest.raises(RuntimeError, match="non-finite"):
        torch.nn.utils.clip_grad_norm_(theirs, 1.0, error_if_nonfinite=True)
