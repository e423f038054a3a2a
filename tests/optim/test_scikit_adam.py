"""ScikitLearnAdam against scikit-learn's own AdamOptimizer, step by step."""

import numpy as np
import pytest

from bprop.optim.scikit_adam import ScikitLearnAdam
from bprop.tensor import Tensor

pytest.importorskip("sklearn")
from sklearn.neural_network._stochastic_optimizers import AdamOptimizer


@pytest.mark.parametrize("decay", [0.0, 1e-3])
def test_matches_scikit_learns_adam_including_the_l2_gradient(decay):
    rng = np.random.default_rng(0)
    start = [rng.standard_normal((5, 3)), rng.standard_normal(3)]
    ours = [Tensor(a.copy(), requires_grad=True) for a in start]
    theirs = [a.copy() for a in start]
    opt = ScikitLearnAdam(
        [{"params": [ours[0]], "weight_decay": decay}, {"params": [ours[1]]}], lr=1e-2, betas=(0.8, 0.99), eps=1e-6
    )
    reference = AdamOptimizer(theirs, learning_rate_init=1e-2, beta_1=0.8, beta_2=0.99, epsilon=1e-6)
    for step in range(20):
        # tiny gradients on some entries: where ε's placement matters
        grads = [rng.standard_normal(a.shape) * 10.0 ** rng.integers(-9, 0, a.shape) for a in start]
        for p, g in zip(ours, grads):
            p.grad = Tensor(g.copy(), dtype=p.dtype)
        opt.step()
        reference.update_params(theirs, [grads[0] + decay * theirs[0], grads[1]])
        for p, a in zip(ours, theirs):
            np.testing.assert_allclose(p.data, a, rtol=1e-12, atol=1e-15, err_msg=f"step {step}")


def test_refuses_torch_only_options():
    with pytest.raises(ValueError, match="amsgrad"):
        ScikitLearnAdam([Tensor(np.zeros(2), requires_grad=True)], amsgrad=True)
