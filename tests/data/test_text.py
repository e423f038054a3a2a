"""Text corpora for character-level language models, and the adding problem."""

import numpy as np
import pytest

from bprop.data.datasets import DatasetError
from bprop.data.datasets.adding import CHANCE_MSE, adding_problem
from bprop.data.datasets.text import encode, load_text, read_text, windows

FORTUNE = (
    "\x1b[32m《春晓》\x1b[m\n\x1b[33m作者：孟浩然\x1b[m\n春眠不觉晓，处处闻啼鸟。\n%\n"
    "\x1b[32m《静夜思》\x1b[m\n床前明月光。\n"
)


def test_colour_codes_and_record_separators_are_stripped(tmp_path):
    path = tmp_path / "poems"
    path.write_text(FORTUNE, encoding="utf-8")
    text = read_text(path)
    assert "\x1b" not in text and "%" not in text and "[m" not in text
    assert text == "《春晓》\n作者：孟浩然\n春眠不觉晓，处处闻啼鸟。\n\n《静夜思》\n床前明月光。\n"


def test_windows_are_targets_shifted_by_one():
    x, y = windows(np.arange(10), 3)
    np.testing.assert_array_equal(x, [[0, 1, 2], [3, 4, 5], [6, 7, 8]])
    np.testing.assert_array_equal(y, [[1, 2, 3], [4, 5, 6], [7, 8, 9]])


def test_held_out_tail_and_shared_vocabulary(tmp_path):
    path = tmp_path / "t.txt"
    path.write_text("abcdefgh" * 40 + "xyz", encoding="utf-8")
    train, test = load_text(path, held_out=0.1, length=8)
    assert train.classes == test.classes == sorted(set("abcdefghxyz\n"))
    assert train.data.shape[1] == 8 and len(test) >= 1
    seen_in_training = {train.classes[i] for i in np.unique(train.data)}
    assert "x" not in seen_in_training  # the tail is test data only
    assert "x" in {test.classes[i] for i in np.unique(np.concatenate([test.data, test.targets]))}


def test_errors_name_the_file_and_the_problem(tmp_path):
    with pytest.raises(DatasetError, match="no such file"):
        load_text(tmp_path / "missing.txt")
    short = tmp_path / "short.txt"
    short.write_text("abc", encoding="utf-8")
    with pytest.raises(DatasetError, match="too few for windows of 64"):
        load_text(short)
    latin = tmp_path / "latin1.txt"
    latin.write_bytes(b"caf\xe9")
    with pytest.raises(DatasetError, match="not UTF-8"):
        load_text(latin)
    with pytest.raises(DatasetError, match="never saw, first 'q'"):
        encode("aq", ["a", "b"])


def test_adding_problem_targets_are_the_sum_of_the_marked_values():
    x, y = adding_problem(200, 10, np.random.default_rng(0))
    assert x.shape == (200, 10, 2) and x.dtype == np.float32
    np.testing.assert_array_equal(x[..., 1].sum(axis=1), 2)
    assert (x[:, :5, 1].sum(axis=1) == 1).all()  # one marker in each half
    np.testing.assert_allclose(y, (x[..., 0] * x[..., 1]).sum(axis=1), rtol=1e-6)
    assert abs(np.var(y) - CHANCE_MSE) < 0.05
