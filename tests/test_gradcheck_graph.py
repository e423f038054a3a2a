"""gradcheck_graph checks each op alone and names the first whose backward is wrong."""

import numpy as np
import pytest

import bprop as bp
import bprop.nn.functional as F
from bprop import nn
from bprop.autograd import ArrayFunction, Context


class Scale(ArrayFunction):
    """y = 3·x, so ∂C/∂x = 3·g."""

    factor = 3.0

    @staticmethod
    def forward(ctx: Context, x: np.ndarray) -> np.ndarray:
        return x * 3.0

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> tuple:
        return (grad * 3.0,)


class BrokenScale(Scale):
    """The same forward with a wrong backward (2·g instead of 3·g)."""

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> tuple:
        return (grad * 2.0,)


class Custom(nn.Module):
    def __init__(self, op: type[ArrayFunction]):
        super().__init__()
        self.op = op

    def forward(self, x: bp.Tensor) -> bp.Tensor:
        return self.op.apply(x)


def _loss(op: type[ArrayFunction]) -> bp.Tensor:
    bp.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(1, 3, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(12, 6),
        Custom(op),
        nn.BatchNorm1d(6),
        nn.Tanh(),
        nn.Dropout(0.3),
        nn.Linear(6, 3),
    )
    x = bp.tensor(np.random.default_rng(0).normal(size=(5, 1, 4, 4)).astype(np.float32))
    return F.cross_entropy(model(x), np.array([0, 1, 2, 0, 1]))


def test_a_broken_op_in_the_middle_is_named():
    report = bp.gradcheck_graph(_loss(BrokenScale))
    assert report.first_bad is not None and report.first_bad.op == "BrokenScale"
    assert [row.op for row in report.rows if not row.ok] == ["BrokenScale"]
    assert "first wrong backward" in report.table() and "BrokenScale" in report.table()


def test_a_sound_graph_passes_and_backward_still_works():
    loss = _loss(Scale)
    report = bp.gradcheck_graph(loss)
    assert report.first_bad is None and report.ok, report.table()
    assert {"Conv2d", "MaxPool2d", "Scale", "Dropout"} <= {row.op for row in report.rows}
    loss.backward()
    with pytest.raises(ValueError, match="freed"):
        bp.gradcheck_graph(loss)


def test_kinks_are_reported_not_failed():
    x = bp.tensor(np.array([-1.0, 0.0, 2.0, 0.0]), requires_grad=True)
    y = (x.relu() + x.abs() + x.reshape(2, 2).max(1).values.sum()).sum()
    report = bp.gradcheck_graph(y)
    assert report.ok
    assert {row.op for row in report.rows if row.kinks} >= {"ReLU", "Abs"}
    assert "kink" in report.table()


def test_leaves_are_refused():
    with pytest.raises(ValueError, match="no graph"):
        bp.gradcheck_graph(bp.tensor([1.0]))
