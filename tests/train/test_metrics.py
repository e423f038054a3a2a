"""Metrics against hand-computed values (and scikit-learn's definitions)."""

import numpy as np
import pytest

from bprop.train import metrics as M


def test_accuracy_topk_confusion_and_prf():
    scores = np.array([[0.9, 0.1, 0.0], [0.2, 0.5, 0.3], [0.1, 0.2, 0.7], [0.6, 0.3, 0.1]])
    target = np.array([0, 2, 2, 1])
    assert M.accuracy(scores, target) == 0.5
    assert M.accuracy(np.array([0, 2, 2, 1]), target) == 1.0
    assert M.top_k_accuracy(scores, target, k=1) == 0.5
    assert M.top_k_accuracy(scores, target, k=2) == 1.0
    assert M.top_k_accuracy(np.array([[0.1, 0.5, 0.4]]), np.array([0]), k=2) == 0.0
    cm = M.confusion_matrix(target, scores, 3)
    np.testing.assert_array_equal(cm, [[1, 0, 0], [1, 0, 0], [0, 1, 1]])
    prf = M.precision_recall_f1(cm)
    np.testing.assert_allclose(prf["precision"], [0.5, 0.0, 1.0])
    np.testing.assert_allclose(prf["recall"], [1.0, 0.0, 0.5])
    np.testing.assert_allclose(prf["f1"], [2 / 3, 0.0, 2 / 3])
    np.testing.assert_array_equal(prf["support"], [1, 1, 2])


def test_against_scikit_learn():
    metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(0)
    scores, target = rng.standard_normal((200, 5)), rng.integers(0, 5, 200)
    target[:3] = 4  # class 4 present, class 3 maybe never predicted: 0/0 cases become 0 as in sklearn
    cm = M.confusion_matrix(target, scores, 5)
    np.testing.assert_array_equal(cm, metrics.confusion_matrix(target, scores.argmax(1), labels=range(5)))
    p, r, f, s = metrics.precision_recall_fscore_support(target, scores.argmax(1), labels=range(5), zero_division=0)
    prf = M.precision_recall_f1(cm)
    for ours, theirs in zip((prf["precision"], prf["recall"], prf["f1"], prf["support"]), (p, r, f, s)):
        np.testing.assert_allclose(ours, theirs)
    for k in (1, 2, 3):
        assert M.top_k_accuracy(scores, target, k) == pytest.approx(
            metrics.top_k_accuracy_score(target, scores, k=k, labels=range(5))
        )


def test_get_metric():
    assert M.get_metric("accuracy") == ("accuracy", M.accuracy)
    name, top3 = M.get_metric("top3_accuracy")
    assert name == "top3_accuracy" and top3(np.array([[0.1, 0.2, 0.3, 0.4]]), np.array([1])) == 1.0
    assert M.get_metric(np.mean)[0] == "mean"
    for bad in ("top0_accuracy", "f1"):
        with pytest.raises(ValueError, match="unknown metric"):
            M.get_metric(bad)
