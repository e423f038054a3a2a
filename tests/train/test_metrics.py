"""Metrics against hand-computed values (and scikit-learn's definitions)."""

import numpy as np

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
