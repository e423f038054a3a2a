"""Exercise mode: the written files, right answers graded right, typical wrong answers named."""

import numpy as np
import pytest
from tests.exercise.answers import RIGHT, with_backward

from bprop.exercise import ExerciseError, check_file, names, write_exercise


def test_every_op_has_an_exercise_and_a_right_answer():
    assert names() == [
        "affine",
        "relu",
        "sigmoid",
        "softmax_ce",
        "dropout",
        "batchnorm",
        "layernorm",
        "conv",
        "maxpool",
    ]
    assert set(RIGHT) == set(names())


@pytest.mark.parametrize("op", names())
def test_the_written_file_has_the_forward_and_the_hints_and_is_not_done(op, tmp_path):
    path = write_exercise(op, tmp_path / f"{op}.py")
    text = path.read_text()
    assert f'OP = "{op}"' in text and "def forward(" in text and "def backward(dout, cache):" in text
    assert f"bprop check {op}.py" in text and "    # " in text  # the hints are comments in backward
    report = check_file(path)
    assert not report.ok and "backward is not written yet" in report.format()


@pytest.mark.parametrize("op", names())
def test_right_answers_pass(op, tmp_path):
    report = check_file(with_backward(op, RIGHT[op], tmp_path))
    assert report.ok, report.format()
    for result in report.results:
        assert result.error_vs_bprop < 1e-10 and result.error_vs_numeric < 1e-6
    assert report.format().endswith("gradients right")


WRONG = [
    # (op, backward body, gradient, words the diagnosis must contain)
    ("affine", "return dout @ w.T, dout.T @ x, dout.sum(axis=0)", "dw", "transposed"),
    ("affine", "return dout @ w.T, x.T @ dout, dout", "db", "missing a sum over the batch"),
    ("affine", "return dout @ w.T, x.T @ dout / x.shape[0], dout.sum(axis=0)", "dw", "an extra 1/N"),
    ("relu", "return (x > 0).astype(float)", "dx", "without multiplying by dout"),
    ("relu", "return -dout * (x > 0)", "dx", "the sign is flipped"),
    ("sigmoid", "return dout * (1 - s)", "dx", "dropped the σ(x) factor"),
    ("softmax_ce", "return dout * p / p.shape[0]", "dx", "missing the term −[c = y]/N"),
    ("softmax_ce", RIGHT["softmax_ce"].replace("/ n", ""), "dx", "a missing 1/N"),
    ("dropout", "return dout * mask", "dx", "0.7× the size"),
    ("dropout", "return dout / keep", "dx", "without the mask"),
    (
        "batchnorm",
        RIGHT["batchnorm"].replace(" - x_hat * (a * x_hat).mean(axis=0)", ""),
        "dx",
        "the path through the variance σ²",
    ),
    ("batchnorm", RIGHT["batchnorm"].replace(" - a.mean(axis=0)", ""), "dx", "the path through the mean μ"),
    ("batchnorm", RIGHT["batchnorm"].replace("a = gamma * dout", "a = dout"), "dx", "forgot γ"),
    (
        "batchnorm",
        RIGHT["batchnorm"].replace("dgamma = (dout * x_hat).sum(axis=0)", "dgamma = dout * x_hat"),
        "dgamma",
        "missing a sum over the batch",
    ),
    (
        "batchnorm",
        RIGHT["batchnorm"].replace("return dx, dgamma, dbeta", "return dx, dbeta, dgamma"),
        "dgamma",
        "that is dbeta",
    ),
    ("layernorm", RIGHT["layernorm"].replace("axis=1, keepdims=True", "axis=0"), "dx", "over the wrong axis"),
    ("conv", RIGHT["conv"].replace("dout.sum(axis=(0, 2, 3))", "dout"), "db", "missing a sum over axes (0, 2, 3)"),
    (
        "conv",
        RIGHT["conv"].replace("dxp[:, :, pad : pad + x.shape[2], pad : pad + x.shape[3]]", "dxp"),
        "dx",
        "crop 1 pixel(s) of padding",
    ),
    ("conv", RIGHT["conv"].replace("axes=([1], [0]))", "axes=([1], [0]))[:, :, ::-1, ::-1]"), "dx", "180°-rotated"),
    ("maxpool", RIGHT["maxpool"].replace("mask * dout", "dout"), "dx", "every entry of the window"),
]


@pytest.mark.parametrize("op,body,gradient,words", WRONG, ids=[f"{w[0]}-{w[2]}-{i}" for i, w in enumerate(WRONG)])
def test_typical_mistakes_are_named(op, body, gradient, words, tmp_path):
    report = check_file(with_backward(op, body, tmp_path))
    assert not report.ok
    by_name = {r.name: r for r in report.results}
    assert not by_name[gradient].ok
    assert words in by_name[gradient].diagnosis, report.format()
    if "that is" not in words:  # swapping dgamma and dbeta makes both wrong; otherwise only one is
        assert all(r.ok for r in report.results if r.name != gradient), report.format()


def test_an_unexplained_error_shows_where_and_an_exception_is_reported(tmp_path):
    report = check_file(with_backward("sigmoid", "return dout * s * (1 - s) + 0.01 * s", tmp_path))
    assert "no known mistake matches; largest difference at" in report.format()
    report = check_file(with_backward("affine", "return dout @ w, x.T @ dout, dout.sum(axis=0)", tmp_path, "raises"))
    assert "backward raised ValueError" in report.format()
    report = check_file(with_backward("affine", "return dout @ w.T, x.T @ dout", tmp_path, "two"))
    assert "backward returned 2 value(s); it should return 3: dx, dw, db" in report.format()


def test_an_edited_forward_is_refused(tmp_path):
    path = with_backward("relu", RIGHT["relu"], tmp_path)
    path.write_text(path.read_text().replace("out = np.maximum(x, 0)", "out = np.maximum(x, 0.5)"))
    assert "forward no longer computes the op" in check_file(path).format()


def test_user_mistakes_are_exercise_errors(tmp_path):
    with pytest.raises(ExerciseError, match="unknown op 'softmax': there are exercises for affine, relu"):
        write_exercise("softmax", tmp_path / "x.py")
    write_exercise("relu", tmp_path / "relu.py")
    with pytest.raises(ExerciseError, match=r"relu\.py exists already: not overwriting it"):
        write_exercise("relu", tmp_path / "relu.py")
    with pytest.raises(ExerciseError, match=r"missing\.py: no such file"):
        check_file(tmp_path / "missing.py")
    (tmp_path / "broken.py").write_text("def backward(:\n")
    with pytest.raises(ExerciseError, match=r"broken.py:1: syntax error"):
        check_file(tmp_path / "broken.py")
    (tmp_path / "other.py").write_text('OP = "tanh"\n')
    with pytest.raises(ExerciseError, match="OP = 'tanh' is not an exercise"):
        check_file(tmp_path / "other.py")


def test_grading_does_not_depend_on_the_learner_touching_inputs(tmp_path):
    """A backward that writes into its cache (x_hat -= …) must not change what it is compared with."""
    body = RIGHT["batchnorm"].replace("dbeta = dout.sum(axis=0)", "dbeta = dout.sum(axis=0)\nx_hat += 0")
    assert check_file(with_backward("batchnorm", body, tmp_path)).ok
    np.testing.assert_array_equal(check_file(with_backward("relu", RIGHT["relu"], tmp_path)).inputs["x"].shape, (5, 6))
