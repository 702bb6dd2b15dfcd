"""microgradnn.estimators: scikit-learn's own estimator checks, scores within 1% of
scikit-learn's MLPClassifier on the digits, the training rules, and loud errors."""
import importlib.util
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pytest

from microgradnn import nn
from microgradnn.estimators import MLPClassifier, MLPRegressor

needs_sklearn = pytest.mark.skipif(importlib.util.find_spec("sklearn") is None,
                                   reason="compares with scikit-learn")
XOR_X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
XOR_Y = np.array([0, 1, 1, 0])


@needs_sklearn
@pytest.mark.parametrize("estimator", [MLPClassifier(max_iter=30), MLPRegressor(max_iter=30)],
                         ids=["classifier", "regressor"])
def test_check_estimator(estimator):
    from sklearn.utils.estimator_checks import check_estimator
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")             # ConvergenceWarnings of 30 epochs
        results = check_estimator(estimator, on_fail=None)
    failed = [(r["check_name"], repr(r["exception"])) for r in results
              if r["status"] == "failed"]
    assert not failed
    assert sum(r["status"] == "passed" for r in results) > 40


@needs_sklearn
@pytest.mark.parametrize("params", [dict(hidden_layer_sizes=(50,), max_iter=50),
                                    dict(solver="lbfgs", hidden_layer_sizes=(50,))],
                         ids=["adam", "lbfgs"])
def test_digits_score_within_one_percent_of_sklearn(params):
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    from sklearn.neural_network import MLPClassifier as SkMLPClassifier
    X, y = load_digits(return_X_y=True)
    Xtr, Xte, ytr, yte = train_test_split(X / 16, y, test_size=0.25, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = MLPClassifier(random_state=0, **params).fit(Xtr, ytr)
        theirs = SkMLPClassifier(random_state=0, **params).fit(Xtr, ytr)
    assert ours.score(Xte, yte) > 0.94
    assert abs(ours.score(Xte, yte) - theirs.score(Xte, yte)) <= 0.01
    assert [c.shape for c in ours.coefs_] == [c.shape for c in theirs.coefs_]
    assert [b.shape for b in ours.intercepts_] == [b.shape for b in theirs.intercepts_]


def test_lecture_xor_lines():
    clf = MLPClassifier(solver="lbfgs", hidden_layer_sizes=(4), activation="tanh",
                        random_state=0).fit(XOR_X, XOR_Y)
    assert clf.score(XOR_X, XOR_Y) == 1.0
    assert isinstance(clf.model_, nn.Module) and clf.out_activation_ == "logistic"
    proba = clf.predict_proba(XOR_X)
    assert proba.shape == (4, 2)
    np.testing.assert_allclose(proba.sum(1), 1.0)
    np.testing.assert_array_equal(proba.argmax(1), XOR_Y)
    assert 1 <= clf.n_iter_ < 200 and clf.loss_ < 0.1


def test_string_labels_multiclass_and_predict_log_proba():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((90, 2)) + np.repeat([[0, 0], [4, 0], [0, 4]], 30, axis=0)
    y = np.repeat(["cat", "dog", "eel"], 30)
    clf = MLPClassifier(hidden_layer_sizes=(8,), solver="lbfgs", random_state=0).fit(X, y)
    assert list(clf.classes_) == ["cat", "dog", "eel"] and clf.out_activation_ == "softmax"
    assert clf.score(X, y) > 0.95 and clf.predict(X[:2]).dtype == y.dtype
    np.testing.assert_allclose(np.exp(clf.predict_log_proba(X)), clf.predict_proba(X))


@pytest.mark.parametrize("solver", ["lbfgs", "adam", "sgd"])
def test_regressor_fits_a_curve_and_several_outputs(solver):
    rng = np.random.default_rng(0)
    X = rng.uniform(-2, 2, (200, 1))
    y = np.sin(X[:, 0])
    kw = dict(learning_rate_init=0.01, batch_size=20) if solver != "lbfgs" else {}
    reg = MLPRegressor(hidden_layer_sizes=(20,), activation="tanh", solver=solver,
                       max_iter=300, random_state=0, **kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reg.fit(X, y)
    assert reg.score(X, y) > 0.9 and reg.predict(X).shape == (200,)
    Y = np.stack([y, 2 * y], 1)
    reg2 = MLPRegressor(hidden_layer_sizes=(20,), activation="tanh", solver="lbfgs",
                        random_state=0).fit(X, Y)
    assert reg2.predict(X).shape == (200, 2) and reg2.n_outputs_ == 2


def test_same_random_state_same_model_and_sklearn_stopping_rule():
    rng = np.random.default_rng(1)
    X, y = rng.standard_normal((60, 3)), rng.integers(0, 2, 60)
    a = MLPClassifier(hidden_layer_sizes=(5,), max_iter=500, random_state=3).fit(X, y)
    b = MLPClassifier(hidden_layer_sizes=(5,), max_iter=500, random_state=3).fit(X, y)
    np.testing.assert_array_equal(a.coefs_[0], b.coefs_[0])
    assert a.loss_curve_ == b.loss_curve_ and len(a.loss_curve_) == a.n_iter_
    # stopped by the rule: n_iter_no_change + 1 epochs without improving by tol
    assert a.n_iter_ < 500
    tail = a.loss_curve_[-(a.n_iter_no_change + 1):]
    assert all(loss > a.best_loss_ - a.tol for loss in tail)


def test_early_stopping_keeps_the_best_validation_score():
    rng = np.random.default_rng(2)
    X, y = rng.standard_normal((200, 4)), rng.integers(0, 3, 200)
    clf = MLPClassifier(hidden_layer_sizes=(30,), early_stopping=True, max_iter=300,
                        random_state=0).fit(X, y)
    assert clf.best_validation_score_ == max(clf.validation_scores_)
    assert len(clf.validation_scores_) == clf.n_iter_ < 300


def test_convergence_warning_at_max_iter():
    with pytest.warns(Warning, match="max_iter"):
        MLPClassifier(max_iter=2, random_state=0).fit(XOR_X, XOR_Y)


@pytest.mark.parametrize("params, words", [
    (dict(activation="softplus"), "activation"), (dict(solver="newton"), "solver"),
    (dict(hidden_layer_sizes=(10, 0)), "hidden_layer_sizes"), (dict(alpha=-1.0), "alpha"),
    (dict(max_iter=0), "max_iter"), (dict(batch_size=0), "batch_size"),
    (dict(validation_fraction=1.5), "validation_fraction"),
    (dict(learning_rate="fast"), "learning_rate"),
])
def test_bad_parameters_raise_at_fit(params, words):
    clf = MLPClassifier(**params)                   # scikit-learn checks in fit, not here
    with pytest.raises(ValueError, match=words):
        clf.fit(XOR_X, XOR_Y)


def test_errors_before_fit_wrong_features_and_one_class():
    with pytest.raises(ValueError, match="not fitted"):
        MLPClassifier().predict(XOR_X)
    clf = MLPClassifier(solver="lbfgs", random_state=0).fit(XOR_X, XOR_Y)
    with pytest.raises(ValueError, match="3 features"):
        clf.predict(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="1 class"):
        MLPClassifier().fit(XOR_X, np.zeros(4))
    with pytest.raises(ValueError):
        MLPClassifier().fit(XOR_X, np.array([0.5, 1.5, 2.25, 0.0]))   # not class labels


def test_works_without_sklearn():
    """Blocking the import of scikit-learn: fit, predict, score and get_params still work."""
    code = textwrap.dedent("""
        import sys
        sys.modules["sklearn"] = None
        import numpy as np
        from microgradnn.estimators import MLPClassifier, MLPRegressor
        X = np.array([[0., 0.], [0., 1.], [1., 0.], [1., 1.]])
        clf = MLPClassifier(solver="lbfgs", hidden_layer_sizes=4, activation="tanh",
                            random_state=0).fit(X, [0, 1, 1, 0])
        assert clf.score(X, [0, 1, 1, 0]) == 1.0, clf.predict(X)
        assert clf.get_params()["hidden_layer_sizes"] == 4
        reg = MLPRegressor(solver="lbfgs", random_state=0).fit(X, X.sum(1))
        assert reg.score(X, X.sum(1)) > 0.9
        try:
            clf.predict(np.zeros((1, 3)))
        except ValueError as e:
            assert "3 features" in str(e)
        else:
            raise AssertionError("no error for 3 features")
        print("ok")
    """)
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=root, env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"
