"""Activations and the softmax family."""

import math

import numpy as np
import pytest
from tests.helpers import check, rand, torch_parity

import bprop as bp
import bprop.nn.functional as F
from bprop.ops.activation import erf

ACTIVATIONS = {
    "tanh": (lambda x: x.tanh(), lambda x: x.tanh()),
    "sigmoid": (lambda x: x.sigmoid(), lambda x: x.sigmoid()),
    "relu": (lambda x: x.relu(), lambda x: x.relu()),
    "leaky_relu": (lambda x: F.leaky_relu(x, 0.1), lambda x: __import__("torch").nn.functional.leaky_relu(x, 0.1)),
    "gelu": (lambda x: F.gelu(x), lambda x: __import__("torch").nn.functional.gelu(x)),
    "gelu_tanh": (lambda x: F.gelu(x, "tanh"),
                  lambda x: __import__("torch").nn.functional.gelu(x, approximate="tanh")),
}


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
@pytest.mark.parametrize("shape", [(7,), (3, 5), (2, 1, 3)])
def test_activation_gradcheck(name, shape):
    check(ACTIVATIONS[name][0], rand(*shape) * 3)


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activation_torch_parity(name):
    torch_parity(*ACTIVATIONS[name], rand(4, 6) * 4)


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_softmax_family(dim):
    check(lambda x: x.softmax(dim), rand(3, 4, 2))
    check(lambda x: x.log_softmax(dim), rand(3, 4, 2))
    torch_parity(lambda x: x.softmax(dim), lambda x: x.softmax(dim), rand(3, 4, 2))
    torch_parity(lambda x: x.log_softmax(dim), lambda x: x.log_softmax(dim), rand(3, 4, 2))


def test_softmax_is_stable_for_huge_logits():
    x = bp.tensor([[1000.0, 0.0, -1000.0]])
    np.testing.assert_allclose(x.softmax(1).data, [[1, 0, 0]], atol=1e-7)
    assert np.isfinite(x.log_softmax(1).data).all()
    assert np.isfinite(bp.tensor([-1000.0, 1000.0]).sigmoid().data).all()


def test_erf_matches_math_erf():
    xs = np.linspace(-7, 7, 141)
    np.testing.assert_allclose(erf(xs), [math.erf(v) for v in xs], atol=1e-15)


def test_relu_gradient_is_zero_at_zero():
    x = bp.tensor([-1.0, 0.0, 2.0], requires_grad=True)
    x.relu().sum().backward()
    np.testing.assert_array_equal(x.grad, [0, 0, 1])
