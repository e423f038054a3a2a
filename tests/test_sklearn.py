"""bprop.sklearn: scikit-learn's own estimator checks, Pipeline and GridSearchCV."""

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn")
from sklearn.datasets import load_iris, make_regression  # noqa: E402
from sklearn.model_selection import GridSearchCV  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

from bprop.sklearn import MLPClassifier, MLPRegressor  # noqa: E402


@parametrize_with_checks([MLPClassifier(max_iter=100, random_state=0), MLPRegressor(max_iter=100, random_state=0)])
def test_scikit_learn_estimator_checks(estimator, check):
    with np.errstate(all="ignore"):
        check(estimator)


def test_classifier_in_a_pipeline_and_grid_search():
    X, y = load_iris(return_X_y=True)
    pipe = make_pipeline(
        StandardScaler(), MLPClassifier(hidden_layer_sizes=(16,), learning_rate_init=1e-2, max_iter=150, random_state=0)
    )
    search = GridSearchCV(pipe, {"mlpclassifier__alpha": [1e-4, 1e-2]}, cv=3)
    search.fit(X, y)
    assert search.best_score_ > 0.9
    assert search.predict_proba(X).shape == (150, 3)


def test_classifier_attributes_and_partial_fit():
    X, y = load_iris(return_X_y=True)
    names = np.array(["setosa", "versicolor", "virginica"])[y]
    clf = MLPClassifier(hidden_layer_sizes=(20, 10), batchnorm=True, dropout=0.1, max_iter=80, random_state=1)
    clf.fit(X, names)
    assert list(clf.classes_) == list(names[[0, 50, 100]]) and clf.n_iter_ == len(clf.loss_curve_) <= 80
    assert clf.score(X, names) > 0.9
    online = MLPClassifier(learning_rate_init=1e-2, random_state=0)
    with pytest.raises(ValueError, match="classes"):
        online.partial_fit(X[:10], y[:10])
    for _ in range(30):
        online.partial_fit(X, y, classes=[0, 1, 2])
    assert online.n_iter_ == 30 and online.score(X, y) > 0.8


def test_early_stopping_keeps_validation_scores():
    X, y = load_iris(return_X_y=True)
    clf = MLPClassifier(early_stopping=True, learning_rate_init=1e-2, max_iter=300, random_state=0).fit(X, y)
    assert len(clf.validation_scores_) == clf.n_iter_ and clf.best_validation_score_ > 0.6


def test_regressor_learns_and_handles_two_targets():
    X, y = make_regression(n_samples=200, n_features=5, noise=0.1, random_state=0)
    y = y / y.std()
    reg = MLPRegressor(hidden_layer_sizes=(32,), learning_rate_init=1e-2, max_iter=300, random_state=0).fit(X, y)
    assert reg.score(X, y) > 0.95 and reg.predict(X).shape == (200,)
    two = MLPRegressor(max_iter=50, random_state=0).fit(X, np.c_[y, -y])
    assert two.predict(X).shape == (200, 2)


def test_fit_is_repeatable_and_leaves_the_global_seed_alone():
    import bprop as bp

    X, y = load_iris(return_X_y=True)
    bp.manual_seed(5)
    before = bp.randn(3).numpy()
    bp.manual_seed(5)
    a = MLPClassifier(max_iter=20, random_state=3).fit(X, y).predict_proba(X)
    after = bp.randn(3).numpy()
    b = MLPClassifier(max_iter=20, random_state=3).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(before, after)


def test_coefs_and_intercepts_in_scikit_learns_layout():
    X, y = load_iris(return_X_y=True)
    clf = MLPClassifier(hidden_layer_sizes=(7,), max_iter=5, random_state=0)
    with pytest.raises(AttributeError):  # NotFittedError is an AttributeError, as scikit-learn's
        _ = clf.coefs_
    clf.fit(X, y)
    assert [c.shape for c in clf.coefs_] == [(4, 7), (7, 3)]
    assert [b.shape for b in clf.intercepts_] == [(7,), (3,)]
    hidden = np.maximum(X @ clf.coefs_[0] + clf.intercepts_[0], 0)
    np.testing.assert_allclose(
        hidden @ clf.coefs_[1] + clf.intercepts_[1],
        np.log(clf.predict_proba(X))
        + np.log(np.exp(hidden @ clf.coefs_[1] + clf.intercepts_[1]).sum(1, keepdims=True)),
        rtol=1e-5,
        atol=1e-5,
    )


def test_training_continues_after_pickling_and_after_early_stopping_restored_weights():
    """The parameters are views into the optimizer's one flat buffer; unpickling copies views
    apart, early stopping loads new arrays, zero_grad drops the grads, and all must still train
    the model."""
    import pickle

    X, y = load_iris(return_X_y=True)
    for clf in (
        MLPClassifier(max_iter=5, random_state=0).fit(X, y),
        MLPClassifier(early_stopping=True, max_iter=30, n_iter_no_change=2, random_state=0).fit(X, y),
    ):
        copy = pickle.loads(pickle.dumps(clf))
        for model in (clf, copy):
            before = model.coefs_[0]
            model.partial_fit(X, y)
            assert not np.allclose(model.coefs_[0], before)
        np.testing.assert_array_equal(clf.coefs_[0], copy.coefs_[0])  # the Adam state came along too
        clf.model_.zero_grad()  # grads set to None: the views into the flat buffer are gone
        before = clf.coefs_[0]
        clf.partial_fit(X, y)
        assert not np.allclose(clf.coefs_[0], before)


@pytest.mark.parametrize("dtype,tolerance", [(np.float32, 1e-5), (np.float64, 1e-13)])
def test_same_steps_as_scikit_learn_from_its_initial_weights_and_batch_order(dtype, tolerance):
    """Given scikit-learn's initial weights and shuffles, bprop's fit takes scikit-learn's steps:
    same losses, penalty, Adam (ε where scikit-learn adds it) and batches, up to float32 rounding
    (and float64 rounding with dtype=np.float64, scikit-learn's own precision). This is also the
    pairing benchmarks/sklearn_mlp.py compares accuracy with."""
    from benchmarks.sklearn_pairing import fit_bprop_from, fit_scikit_learn_recording

    from bprop.data.datasets import load_digits

    digits = load_digits()
    X, y = np.asarray(digits.data).reshape(len(digits.data), -1)[:600].astype(np.float64) / 16.0, digits.targets[:600]
    params = dict(hidden_layer_sizes=(32, 16), max_iter=8, batch_size=64, alpha=1e-3, random_state=0)
    theirs, start = fit_scikit_learn_recording(params, X, y)
    ours = fit_bprop_from(start, {**params, "dtype": dtype}, X, y)
    assert len(start["orders"]) == 8 and ours.coefs_[0].dtype == dtype
    np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=tolerance)
    for mine, their in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_):
        np.testing.assert_allclose(mine, their, atol=tolerance)


def test_dtype_must_be_a_float_type():
    X, y = load_iris(return_X_y=True)
    for bad in (np.int32, "float16", "bogus"):
        with pytest.raises(ValueError, match="dtype must be float32 or float64"):
            MLPClassifier(dtype=bad).fit(X, y)
