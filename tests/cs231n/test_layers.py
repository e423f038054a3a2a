"""The notebooks' gradient checks of every layer and sandwich of bprop.cs231n (numerical
gradients of the course's own gradient_check against the façade's backward), plus the naive
and fast conv/pool layers agreeing, and the batch-norm graph and closed-form backwards agreeing."""

import numpy as np
import pytest

from bprop.cs231n import layer_utils as lu
from bprop.cs231n import layers as L
from bprop.cs231n.gradient_check import eval_numerical_gradient, eval_numerical_gradient_array, rel_error

seed = np.random.seed
randn = np.random.randn
randint = np.random.randint


def check_layer(forward, backward, inputs, dout, tol, param_args=(), cancelled=()):
    """Numerical gradient of every input against ``backward(dout, cache)``. Inputs in
    ``cancelled`` (a bias followed by batch norm, which subtracts it again) must get a zero
    gradient; their relative error would compare rounding noise."""
    _, cache = forward(*inputs, *param_args)
    analytic = backward(dout, cache)
    analytic = analytic if isinstance(analytic, tuple) else (analytic,)
    for i, array in enumerate(inputs):
        if i in cancelled:
            np.testing.assert_allclose(analytic[i], 0, atol=1e-12)
            continue

        def f(_, i=i):
            args = list(inputs)
            return forward(*args, *param_args)[0]

        numeric = eval_numerical_gradient_array(f, array, dout)
        assert rel_error(numeric, analytic[i]) < tol, f"input {i}: {rel_error(numeric, analytic[i])}"


def test_affine_and_relu_and_affine_relu():
    seed(231)
    x, w, b, dout = randn(10, 2, 3), randn(6, 5), randn(5), randn(10, 5)
    check_layer(L.affine_forward, L.affine_backward, (x, w, b), dout, 1e-8)
    x = randn(10, 10)
    check_layer(L.relu_forward, L.relu_backward, (x,), randn(10, 10), 1e-9)
    x, w, b = randn(2, 3, 4), randn(12, 10), randn(10)
    check_layer(lu.affine_relu_forward, lu.affine_relu_backward, (x, w, b), randn(2, 10), 1e-7)


def test_softmax_and_svm_loss():
    seed(231)
    x = 0.001 * randn(50, 10)
    y = randint(10, size=50)
    loss, dx = L.svm_loss(x, y)
    assert loss == pytest.approx(9, abs=0.1)  # "Loss should be around 9"
    assert rel_error(eval_numerical_gradient(lambda x: L.svm_loss(x, y)[0], x, verbose=False), dx) < 1e-8
    loss, dx = L.softmax_loss(x, y)
    assert loss == pytest.approx(2.3, abs=0.01)  # "Loss should be close to 2.3"
    assert rel_error(eval_numerical_gradient(lambda x: L.softmax_loss(x, y)[0], x, verbose=False), dx) < 1e-7


def test_svm_loss_by_its_definition():
    """L = (1/N) Σ_i Σ_{j≠y_i} max(0, x_ij − x_iy_i + 1), written out in loops."""
    x, y = np.array([[1.0, 2.0, -1.0], [0.5, 0.1, 0.3]]), np.array([0, 2])
    expected = (max(0, 2 - 1 + 1) + max(0, -1 - 1 + 1) + max(0, 0.5 - 0.3 + 1) + max(0, 0.1 - 0.3 + 1)) / 2
    loss, dx = L.svm_loss(x, y)
    assert loss == pytest.approx(expected)
    np.testing.assert_allclose(dx, [[-0.5, 0.5, 0.0], [0.5, 0.5, -1.0]])


@pytest.mark.parametrize("mode", ["train", "test"])
def test_batchnorm_backward_and_alt(mode):
    seed(231)
    x, gamma, beta, dout = 5 * randn(4, 5) + 12, randn(5), randn(5), randn(4, 5)
    bn_param = {"mode": "train"}
    if mode == "test":
        L.batchnorm_forward(x, gamma, beta, bn_param)
        bn_param["mode"] = "test"
    for backward in (L.batchnorm_backward, L.batchnorm_backward_alt):
        check_layer(L.batchnorm_forward, backward, (x, gamma, beta), dout, 1e-8, (bn_param,))
    seed(231)
    x, gamma, beta, dout = 5 * randn(100, 500) + 12, randn(500), randn(500), randn(100, 500)
    _, cache = L.batchnorm_forward(x, gamma, beta, {"mode": "train"})
    staged, closed = L.batchnorm_backward(dout, cache), L.batchnorm_backward_alt(dout, cache)
    for a, b in zip(staged, closed):
        assert rel_error(a, b) < 1e-10  # the notebook's "dx difference: 1e-12"


def test_running_averages_follow_the_course():
    x = randn(8, 3)
    bn_param = {"mode": "train", "momentum": 0.8, "running_mean": np.ones(3), "running_var": np.ones(3)}
    L.batchnorm_forward(x, np.ones(3), np.zeros(3), bn_param)
    np.testing.assert_allclose(bn_param["running_mean"], 0.8 + 0.2 * x.mean(0))
    np.testing.assert_allclose(bn_param["running_var"], 0.8 + 0.2 * x.var(0))  # biased


def test_layernorm_backward():
    seed(231)
    x, gamma, beta, dout = 5 * randn(4, 5) + 12, randn(5), randn(5), randn(4, 5)
    check_layer(L.layernorm_forward, L.layernorm_backward, (x, gamma, beta), dout, 1e-8, ({},))


@pytest.mark.parametrize("normalization", ["batchnorm", "layernorm"])
def test_affine_norm_relu(normalization):
    seed(231)
    x, w, b, gamma, beta = randn(4, 6), randn(6, 5), randn(5), randn(5), randn(5)
    forward = lu.affine_bn_relu_forward if normalization == "batchnorm" else lu.affine_ln_relu_forward
    param = {"mode": "train"} if normalization == "batchnorm" else {}
    cancelled = (2,) if normalization == "batchnorm" else ()
    check_layer(forward, lu.affine_norm_relu_backward, (x, w, b, gamma, beta), randn(4, 5), 1e-7, (param,), cancelled)


def test_dropout_backward_and_test_mode():
    seed(231)
    x, dout = randn(10, 10) + 10, randn(10, 10)
    param = {"mode": "train", "p": 0.2, "seed": 123}
    check_layer(L.dropout_forward, L.dropout_backward, (x,), dout, 1e-8, (param,))
    out, cache = L.dropout_forward(x, {"mode": "test", "p": 0.2})
    assert out is x and L.dropout_backward(dout, cache) is dout
    with pytest.raises(ValueError, match=r"keep probability p must be in \(0, 1\], got 0"):
        L.dropout_forward(x, {"mode": "train", "p": 0})


def test_conv_naive_backward_and_fast_agree():
    seed(231)
    x, w, b, dout = randn(2, 2, 4, 4), randn(2, 2, 3, 3), randn(2), randn(2, 2, 4, 4)
    param = {"stride": 1, "pad": 1}
    check_layer(L.conv_forward_naive, L.conv_backward_naive, (x, w, b), dout, 1e-7, (param,))
    seed(231)
    x, w, b = randn(2, 3, 7, 7), randn(4, 3, 3, 3), randn(4)
    param = {"stride": 2, "pad": 1}
    dout = randn(2, 4, 4, 4)
    out_naive, cache_naive = L.conv_forward_naive(x, w, b, param)
    out_fast, cache_fast = L.conv_forward_fast(x, w, b, param)
    assert rel_error(out_naive, out_fast) < 1e-10
    for naive, fast in zip(L.conv_backward_naive(dout, cache_naive), L.conv_backward_fast(dout, cache_fast)):
        assert rel_error(naive, fast) < 1e-10


def test_max_pool_naive_backward_and_fast_agree():
    seed(231)
    x, dout = randn(3, 2, 8, 8), randn(3, 2, 4, 4)
    param = {"pool_height": 2, "pool_width": 2, "stride": 2}
    check_layer(L.max_pool_forward_naive, L.max_pool_backward_naive, (x,), dout, 1e-8, (param,))
    out_naive, cache_naive = L.max_pool_forward_naive(x, param)
    out_fast, cache_fast = L.max_pool_forward_fast(x, param)
    assert rel_error(out_naive, out_fast) == 0.0
    assert rel_error(L.max_pool_backward_naive(dout, cache_naive), L.max_pool_backward_fast(dout, cache_fast)) == 0.0


def test_conv_sandwiches():
    seed(231)
    x, w, b, dout = randn(2, 3, 16, 16), randn(3, 3, 3, 3), randn(3), randn(2, 3, 8, 8)
    conv, pool = {"stride": 1, "pad": 1}, {"pool_height": 2, "pool_width": 2, "stride": 2}
    check_layer(lu.conv_relu_pool_forward, lu.conv_relu_pool_backward, (x, w, b), dout, 1e-6, (conv, pool))
    x, dout = randn(2, 3, 8, 8), randn(2, 3, 8, 8)
    check_layer(lu.conv_relu_forward, lu.conv_relu_backward, (x, w, b), dout, 1e-7, (conv,))
    gamma, beta = randn(3), randn(3)
    check_layer(
        lu.conv_bn_relu_forward,
        lu.conv_bn_relu_backward,
        (x, w, b, gamma, beta),
        dout,
        1e-6,
        (conv, {"mode": "train"}),
        cancelled=(2,),
    )


def test_spatial_batchnorm_and_groupnorm_backward():
    seed(231)
    x, gamma, beta, dout = 5 * randn(2, 3, 4, 5) + 12, randn(3), randn(3), randn(2, 3, 4, 5)
    check_layer(
        L.spatial_batchnorm_forward, L.spatial_batchnorm_backward, (x, gamma, beta), dout, 1e-6, ({"mode": "train"},)
    )
    seed(231)
    x, gamma, beta, dout = 5 * randn(2, 6, 4, 5) + 12, randn(1, 6, 1, 1), randn(1, 6, 1, 1), randn(2, 6, 4, 5)
    check_layer(L.spatial_groupnorm_forward, L.spatial_groupnorm_backward, (x, gamma, beta), dout, 1e-7, (2, {}))
    _, cache = L.spatial_groupnorm_forward(x, gamma, beta, 2, {})
    assert [g.shape for g in L.spatial_groupnorm_backward(dout, cache)] == [x.shape, (1, 6, 1, 1), (1, 6, 1, 1)]


def test_affine_shapes_are_checked_in_the_course_layout():
    with pytest.raises(
        ValueError,
        match=r"x of shape \(2, 3, 4\) is \(N, D\) = \(2, 12\) flattened, so w must be "
        r"\(D, M\) = \(12, M\) and b \(M,\); got w \(5, 12\) and b \(5,\)",
    ):
        L.affine_forward(randn(2, 3, 4), randn(5, 12), randn(5))


def test_bad_modes_are_named():
    with pytest.raises(ValueError, match='bn_param\\["mode"\\] must be "train" or "test", got \'eval\''):
        L.batchnorm_forward(randn(4, 3), np.ones(3), np.zeros(3), {"mode": "eval"})


def test_star_imports_give_the_course_names_only():
    """Notebooks do `from cs231n.layers import *`: no helper or module of bprop comes along."""
    namespace: dict = {}
    exec("from bprop.cs231n.layers import *\nfrom bprop.cs231n.layer_utils import *", namespace)
    names = {n for n in namespace if not n.startswith("__")}
    assert {"affine_forward", "batchnorm_backward_alt", "svm_loss", "conv_relu_pool_forward"} <= names
    assert not names & {"np", "conv", "reference", "run_forward", "OpCache", "Grads"}
