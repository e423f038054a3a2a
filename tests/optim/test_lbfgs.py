"""LBFGS against torch, closure call for closure call, with and without the strong-Wolfe search."""

import numpy as np
import pytest

import bprop as bp
from bprop import optim
from bprop.optim.lbfgs import cubic_interpolate


def rosenbrock(x, y):
    return (1 - x) ** 2 + 100 * (y - x**2) ** 2


A = np.array([[3.0, 1.0, 0.0, 0.5], [1.0, 2.0, 0.3, 0.0], [0.0, 0.3, 1.0, 0.2], [0.5, 0.0, 0.2, 4.0]])
C = np.array([1.0, -2.0, 0.5, 3.0])


def convex(lib, x):
    """½xᵀAx − cᵀx + ¼Σx⁴: smooth and convex, so rounding differences do not grow."""
    return 0.5 * (x * (lib.tensor(A) @ x)).sum() - (lib.tensor(C) * x).sum() + 0.25 * (x**4).sum()


def run(lib, start, steps, function=None, **config):
    """(x, closure losses, func_evals, n_iter) after ``steps`` LBFGS steps."""
    xy = lib.tensor(np.array(start, dtype=np.float64), requires_grad=True)
    opt = lib.optim.LBFGS([xy], **config)
    losses = []

    def closure():
        opt.zero_grad()
        loss = function(xy[0], xy[1]) if function else convex(lib, xy)
        loss.backward()
        losses.append(float(loss.item()))
        return loss

    for _ in range(steps):
        opt.step(closure)
    state = opt.state[opt.param_groups[0]["params"][0]]
    return np.array(xy.detach().numpy()), losses, state["func_evals"], state["n_iter"]


CONFIGS = [
    dict(),
    dict(lr=0.5, max_iter=7),
    dict(line_search_fn="strong_wolfe"),
    dict(line_search_fn="strong_wolfe", history_size=3, max_iter=10),
    dict(lr=1, max_iter=5, max_eval=6, tolerance_change=1e-5),
]


@pytest.mark.parametrize("config", CONFIGS, ids=str)
def test_matches_torch_evaluation_for_evaluation(config):
    torch = pytest.importorskip("torch")
    ours = run(bp, [-1.5, 2.0, 0.3, 1.0], 3, **config)
    theirs = run(torch, [-1.5, 2.0, 0.3, 1.0], 3, **config)
    np.testing.assert_allclose(ours[1], theirs[1], rtol=1e-9, atol=1e-12)  # every closure call
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-9, atol=1e-12)
    assert ours[2:] == theirs[2:]  # func_evals, n_iter


def test_strong_wolfe_finds_the_minimum_of_rosenbrock():
    xy, losses, _, _ = run(bp, [-1.5, 2.0], 10, rosenbrock, line_search_fn="strong_wolfe")
    np.testing.assert_allclose(xy, [1.0, 1.0], atol=1e-5)
    assert losses[-1] < 1e-9  # from 10^2 at the start; torch stops at the same 1.9e-10


def test_fits_a_least_squares_model():
    """A linear regression through nn and a closure, the way tutorials call LBFGS."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((50, 3))
    y = x @ np.array([[1.0], [-2.0], [0.5]]) + 0.3
    bp.manual_seed(0)
    model = bp.nn.Linear(3, 1).to(np.float64)
    opt = optim.LBFGS(model.parameters(), tolerance_grad=1e-12, tolerance_change=1e-14, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = bp.nn.functional.mse_loss(model(bp.tensor(x)), y)
        loss.backward()
        return loss

    for _ in range(3):
        opt.step(closure)
    np.testing.assert_allclose(np.asarray(model.weight).ravel(), [1.0, -2.0, 0.5], atol=1e-6)
    np.testing.assert_allclose(np.asarray(model.bias), [0.3], atol=1e-6)


def test_cubic_interpolation_is_exact_on_a_cubic():
    def f(x):
        return x**3 - 3 * x  # minimum at x = 1

    def df(x):
        return 3 * x**2 - 3

    assert cubic_interpolate(0.0, f(0.0), df(0.0), 2.0, f(2.0), df(2.0)) == pytest.approx(1.0)
    assert cubic_interpolate(2.0, f(2.0), df(2.0), 0.0, f(0.0), df(0.0)) == pytest.approx(1.0)


def test_refusals():
    p = bp.tensor([1.0], requires_grad=True)
    with pytest.raises(ValueError, match="line_search_fn"):
        optim.LBFGS([p], line_search_fn="armijo")
    with pytest.raises(ValueError, match="parameter groups"):
        optim.LBFGS([{"params": [p]}, {"params": [bp.tensor([2.0], requires_grad=True)]}])
    with pytest.raises(ValueError, match="closure"):
        optim.LBFGS([p]).step()


def test_state_dict_round_trip_continues_identically():
    def make(values):
        x = bp.tensor(np.array(values), requires_grad=True)
        opt = optim.LBFGS([x], max_iter=3, history_size=4)

        def closure():
            opt.zero_grad()
            loss = convex(bp, x)
            loss.backward()
            return loss

        return x, opt, closure

    x, opt, closure = make([-1.5, 2.0, 0.3, 1.0])
    opt.step(closure)
    saved, after_one_step = opt.state_dict(), np.asarray(x).tolist()
    opt.step(closure)
    opt.step(closure)
    y, resumed, closure_y = make(after_one_step)
    resumed.load_state_dict(saved)  # the history taken after step 1, untouched by steps 2 and 3
    resumed.step(closure_y)
    resumed.step(closure_y)
    np.testing.assert_array_equal(np.asarray(y), np.asarray(x))
