"""scikit-learn-style estimators on microgradnn: ``MLPClassifier`` and ``MLPRegressor``.

The constructor arguments, defaults, fitted attributes and training rules are
scikit-learn's (``sklearn.neural_network``), so the lectures' three lines run on our engine:

>>> import numpy as np
>>> from microgradnn.estimators import MLPClassifier
>>> X, y = np.array([[0., 0.], [0., 1.], [1., 0.], [1., 1.]]), np.array([0, 1, 1, 0])
>>> clf = MLPClassifier(solver="lbfgs", hidden_layer_sizes=(4), activation="tanh",
...                     random_state=0).fit(X, y)
>>> clf.score(X, y)
1.0

``.model_`` is the trained network, an :class:`~microgradnn.nn.Sequential` of ``Linear``
layers and activations that returns the output layer's *pre-activation* (logits), so every
picture and tool of the library works on it. scikit-learn is optional: without it the
estimators still fit and predict (with simpler input checks); with it they are real
scikit-learn estimators (``clone``, pipelines, grid search, ``check_estimator``).
"""
from __future__ import annotations

import copy
import inspect
import math
import warnings

import numpy as np

from . import nn, optim
from .autograd import no_grad
from .nn import functional as F
from .tensor import Tensor, tensor

try:  # scikit-learn is optional: use its base classes and input checks when present
    from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
    from sklearn.exceptions import ConvergenceWarning, NotFittedError
    _SKLEARN = True
except ImportError:  # pragma: no cover - exercised only without scikit-learn
    _SKLEARN = False

    class ConvergenceWarning(UserWarning):
        """The optimiser stopped at ``max_iter`` before meeting ``tol``."""

    class NotFittedError(ValueError, AttributeError):
        """``predict`` or ``score`` called before ``fit``."""

    class BaseEstimator:
        """``get_params`` / ``set_params`` from the constructor's signature."""

        def get_params(self, deep: bool = True) -> dict:
            names = [p for p in inspect.signature(type(self).__init__).parameters
                     if p != "self"]
            return {name: getattr(self, name) for name in names}

        def set_params(self, **params):
            valid = self.get_params()
            for name, value in params.items():
                if name not in valid:
                    raise ValueError(f"{type(self).__name__}.set_params: invalid parameter "
                                     f"{name!r}; valid ones are {sorted(valid)}")
                setattr(self, name, value)
            return self

        def __repr__(self) -> str:
            args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
            return f"{type(self).__name__}({args})"

    class ClassifierMixin:
        def score(self, X, y) -> float:
            """Mean accuracy of ``predict(X)`` against ``y``."""
            return float(np.mean(self.predict(X) == np.asarray(y)))

    class RegressorMixin:
        def score(self, X, y) -> float:
            """Coefficient of determination R² of ``predict(X)`` (over all outputs, averaged
            uniformly)."""
            y = np.asarray(y, dtype=np.float64)
            pred = np.asarray(self.predict(X), dtype=np.float64).reshape(y.shape)
            y2, p2 = y.reshape(len(y), -1), pred.reshape(len(y), -1)
            ss_res = ((y2 - p2) ** 2).sum(axis=0)
            ss_tot = ((y2 - y2.mean(axis=0)) ** 2).sum(axis=0)
            ok = ss_tot != 0
            r2 = np.where(ok, 1 - ss_res / np.where(ok, ss_tot, 1), np.where(ss_res == 0, 1.0, 0.0))
            return float(r2.mean())

__all__ = ["MLPClassifier", "MLPRegressor"]

_ACTIVATIONS = {"identity": nn.Identity, "logistic": nn.Sigmoid, "tanh": nn.Tanh,
                "relu": nn.ReLU}


def _random_state(seed) -> np.random.RandomState:
    """scikit-learn's convention: None, an int, or a RandomState."""
    if seed is None:
        return np.random.RandomState()
    if isinstance(seed, np.random.RandomState):
        return seed
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
        return np.random.RandomState(int(seed))
    raise ValueError(f"random_state must be None, an int or a numpy RandomState, got {seed!r}")


class _BaseMLP(BaseEstimator):
    """What the classifier and the regressor share: parameters, network, solvers."""

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam",
                 alpha=0.0001, batch_size="auto", learning_rate="constant",
                 learning_rate_init=0.001, power_t=0.5, max_iter=200, shuffle=True,
                 random_state=None, tol=1e-4, verbose=False, warm_start=False, momentum=0.9,
                 nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1,
                 beta_1=0.9, beta_2=0.999, epsilon=1e-8, n_iter_no_change=10, max_fun=15000):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun

    # ------------------------------------------------------------------ checks
    def _hidden_sizes(self) -> list[int]:
        sizes = self.hidden_layer_sizes
        sizes = [sizes] if isinstance(sizes, (int, np.integer)) else list(sizes)
        if any(isinstance(s, bool) or not isinstance(s, (int, np.integer)) or s <= 0
               for s in sizes):
            raise ValueError(f"{type(self).__name__}: hidden_layer_sizes must be positive "
                             f"ints, got {self.hidden_layer_sizes!r}")
        return [int(s) for s in sizes]

    def _check_params(self) -> None:
        name = type(self).__name__
        if self.activation not in _ACTIVATIONS:
            raise ValueError(f"{name}: activation must be one of {sorted(_ACTIVATIONS)}, got "
                             f"{self.activation!r}")
        if self.solver not in ("lbfgs", "sgd", "adam"):
            raise ValueError(f"{name}: solver must be 'lbfgs', 'sgd' or 'adam', got "
                             f"{self.solver!r}")
        if self.learning_rate not in ("constant", "invscaling", "adaptive"):
            raise ValueError(f"{name}: learning_rate must be 'constant', 'invscaling' or "
                             f"'adaptive', got {self.learning_rate!r}")
        for param, low, closed in (("alpha", 0.0, True), ("learning_rate_init", 0.0, False),
                                   ("tol", 0.0, True), ("momentum", 0.0, True),
                                   ("epsilon", 0.0, False)):
            value = getattr(self, param)
            if not isinstance(value, (int, float, np.number)) or isinstance(value, bool) or \
                    not (value >= low if closed else value > low):
                raise ValueError(f"{name}: {param} must be a number "
                                 f"{'>=' if closed else '>'} {low}, got {value!r}")
        for param in ("max_iter", "n_iter_no_change", "max_fun"):
            value = getattr(self, param)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{name}: {param} must be an int >= 1, got {value!r}")
        if not 0 <= self.momentum <= 1:
            raise ValueError(f"{name}: momentum must be in [0, 1], got {self.momentum!r}")
        for param in ("beta_1", "beta_2"):
            if not 0 <= getattr(self, param) < 1:
                raise ValueError(f"{name}: {param} must be in [0, 1), got "
                                 f"{getattr(self, param)!r}")
        if not 0 < self.validation_fraction < 1:
            raise ValueError(f"{name}: validation_fraction must be in (0, 1), got "
                             f"{self.validation_fraction!r}")
        if self.batch_size != "auto" and (isinstance(self.batch_size, bool) or not isinstance(
                self.batch_size, (int, np.integer)) or self.batch_size < 1):
            raise ValueError(f"{name}: batch_size must be 'auto' or an int >= 1, got "
                             f"{self.batch_size!r}")

    def _validate(self, X, y=None, reset: bool = False):
        """Arrays of float64 (X) checked as scikit-learn checks them (its own helpers when
        installed)."""
        regressor = isinstance(self, MLPRegressor)
        if _SKLEARN:
            from sklearn.utils.validation import validate_data
            if y is None and not reset:
                return validate_data(self, X, reset=False, dtype=np.float64)
            return validate_data(self, X, y, reset=reset, dtype=np.float64,
                                 multi_output=regressor, y_numeric=regressor)
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2:
            raise ValueError(f"{type(self).__name__}: expected a 2-D array X (n_samples, "
                             f"n_features), got shape {X.shape}")
        if X.shape[0] == 0 or X.shape[1] == 0:
            raise ValueError(f"{type(self).__name__}: X of shape {X.shape} is empty")
        if not np.isfinite(X).all():
            raise ValueError(f"{type(self).__name__}: X contains NaN or infinity")
        if reset:
            self.n_features_in_ = X.shape[1]
        elif X.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {X.shape[1]} features, but {type(self).__name__} is "
                             f"expecting {self.n_features_in_} features as input")
        if y is None:
            return X
        y = np.asarray(y)
        if len(y) != len(X):
            raise ValueError(f"{type(self).__name__}: X has {len(X)} samples, y {len(y)}")
        if regressor:
            y = y.astype(np.float64)
            if not np.isfinite(y).all():
                raise ValueError(f"{type(self).__name__}: y contains NaN or infinity")
        elif y.ndim == 2 and y.shape[1] == 1:
            y = y.ravel()
        return X, y

    def _check_fitted(self) -> None:
        if not hasattr(self, "model_"):
            raise NotFittedError(f"This {type(self).__name__} instance is not fitted yet; call "
                                 "fit before using it")

    # ----------------------------------------------------------------- network
    def _build(self, n_in: int, n_out: int, rng: np.random.RandomState) -> nn.Sequential:
        """Linear layers with the activation between them, drawn as scikit-learn draws
        them: weights and biases uniform in ±√(factor/(fan_in + fan_out)), factor 6
        (2 for the logistic activation)."""
        sizes = [n_in] + self._hidden_sizes() + [n_out]
        factor = 2.0 if self.activation == "logistic" else 6.0
        layers = []
        for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            layer = nn.Linear(fan_in, fan_out, dtype=np.float64)
            bound = math.sqrt(factor / (fan_in + fan_out))
            with no_grad():
                layer.weight.data[...] = rng.uniform(-bound, bound, (fan_in, fan_out)).T
                layer.bias.data[...] = rng.uniform(-bound, bound, fan_out)
            layers.append(layer)
            if i < len(sizes) - 2:
                layers.append(_ACTIVATIONS[self.activation]())
        return nn.Sequential(*layers)

    def _weights(self):
        return [m.weight for m in self.model_ if isinstance(m, nn.Linear)]

    def _objective(self, X: Tensor, Y) -> Tensor:
        """Data loss plus alpha/2·Σ‖W‖² divided by the number of samples (scikit-learn's)."""
        penalty = sum((w * w).sum() for w in self._weights())
        return self._data_loss(self.model_(X), Y) + penalty * (0.5 * self.alpha / X.shape[0])

    @property
    def coefs_(self) -> list[np.ndarray]:
        """Weight matrices in scikit-learn's layout, (fan_in, fan_out) (copies)."""
        self._check_fitted()
        return [w.data.T.copy() for w in self._weights()]

    @property
    def intercepts_(self) -> list[np.ndarray]:
        """Bias vectors (copies)."""
        self._check_fitted()
        return [m.bias.data.copy() for m in self.model_ if isinstance(m, nn.Linear)]

    def _forward(self, X) -> np.ndarray:
        """The network's output layer pre-activation for validated X."""
        with no_grad():
            return self.model_(tensor(X)).data

    # --------------------------------------------------------------------- fit
    def _fit(self, X, Y, *, val=None):
        """Train ``model_`` on float64 X and encoded targets Y with the chosen solver."""
        self._check_params()
        rng = self._rng
        if not (self.warm_start and hasattr(self, "model_")):
            self.model_ = self._build(X.shape[1], self.n_outputs_, rng)
            self.n_iter_ = 0
            self.t_ = 0
            self.loss_curve_ = []
            self.best_loss_ = np.inf
            self.validation_scores_ = [] if self.early_stopping else None
            self.best_validation_score_ = -np.inf if self.early_stopping else None
        self.n_layers_ = len(self._hidden_sizes()) + 2
        if self.solver == "lbfgs":
            self._fit_lbfgs(X, Y)
        else:
            self._fit_stochastic(X, Y, val)
        return self

    def _fit_lbfgs(self, X, Y) -> None:
        x = tensor(X)
        opt = optim.LBFGS(self.model_.parameters(), lr=1, max_iter=self.max_iter,
                          max_eval=self.max_fun, tolerance_grad=self.tol,
                          tolerance_change=2.220446049250313e-09, history_size=10,
                          line_search_fn="strong_wolfe")

        def closure():
            opt.zero_grad()
            loss = self._objective(x, Y)
            loss.backward()
            return loss

        opt.step(closure)
        state = opt.state[next(iter(self.model_.parameters()))]
        self.n_iter_ = int(state["n_iter"])
        with no_grad():
            self.loss_ = float(self._objective(x, Y).item())
        self.loss_curve_ = None
        self.best_loss_ = None
        if self.n_iter_ >= self.max_iter:
            warnings.warn(f"{type(self).__name__}: lbfgs reached max_iter={self.max_iter} "
                          "iterations before converging; increase max_iter or scale the "
                          "data", ConvergenceWarning)

    def _fit_stochastic(self, X, Y, val) -> None:
        n = len(X)
        if self.batch_size == "auto":
            batch = min(200, n)
        else:
            if self.batch_size > n:
                warnings.warn(f"{type(self).__name__}: batch_size {self.batch_size} is larger "
                              f"than the {n} samples; using {n}")
            batch = min(int(self.batch_size), n)
        params = list(self.model_.parameters())
        if self.solver == "sgd":
            opt = optim.SGD(params, lr=self.learning_rate_init, momentum=self.momentum,
                            nesterov=self.nesterovs_momentum and self.momentum > 0)
        else:
            opt = optim.Adam(params, lr=self.learning_rate_init,
                             betas=(self.beta_1, self.beta_2), eps=self.epsilon)
        lr = self.learning_rate_init
        rng = self._rng
        stall = 0
        best_state = None
        for _ in range(self.max_iter):
            order = rng.permutation(n) if self.shuffle else np.arange(n)
            total = 0.0
            for start in range(0, n, batch):
                idx = order[start:start + batch]
                loss = self._objective(tensor(X[idx]), self._rows(Y, idx))
                opt.zero_grad()
                loss.backward()
                opt.step()
                total += loss.item() * len(idx)
            self.n_iter_ += 1
            self.t_ += n
            self.loss_ = total / n
            self.loss_curve_.append(self.loss_)
            if self.verbose:
                print(f"Iteration {self.n_iter_}, loss = {self.loss_:.8f}")
            if self.solver == "sgd" and self.learning_rate == "invscaling":
                lr = self.learning_rate_init / (self.t_ + 1) ** self.power_t
                for group in opt.param_groups:
                    group["lr"] = lr
            if self.early_stopping:
                score = self._score_encoded(*val)
                self.validation_scores_.append(score)
                stall = stall + 1 if score < self.best_validation_score_ + self.tol else 0
                if score > self.best_validation_score_:
                    self.best_validation_score_ = score
                    best_state = copy.deepcopy(self.model_.state_dict())
            else:
                stall = stall + 1 if self.loss_ > self.best_loss_ - self.tol else 0
                self.best_loss_ = min(self.best_loss_, self.loss_)
            if stall > self.n_iter_no_change:
                if self.solver == "sgd" and self.learning_rate == "adaptive" and lr > 1e-6:
                    lr /= 5.0          # adaptive: a smaller step before giving up
                    for group in opt.param_groups:
                        group["lr"] = lr
                    stall = 0
                    continue
                break
        else:
            warnings.warn(f"{type(self).__name__}: stochastic optimiser reached max_iter="
                          f"{self.max_iter} epochs and has not converged yet",
                          ConvergenceWarning)
        if self.early_stopping and best_state is not None:
            self.model_.load_state_dict(best_state)

    @staticmethod
    def _rows(Y, idx):
        return Y[idx]

    def _split(self, X, y, stratify):
        """A validation set for early stopping (scikit-learn's train_test_split when
        installed, else a seeded shuffle)."""
        if _SKLEARN:
            from sklearn.model_selection import train_test_split
            return train_test_split(X, y, random_state=self._rng,
                                    test_size=self.validation_fraction,
                                    stratify=y if stratify else None)
        order = self._rng.permutation(len(X))
        n_val = max(1, int(math.ceil(self.validation_fraction * len(X))))
        val, fit = order[:n_val], order[n_val:]
        return X[fit], X[val], y[fit], y[val]


class MLPClassifier(ClassifierMixin, _BaseMLP):
    """A multilayer perceptron classifier trained on log-loss, with scikit-learn's
    constructor arguments, defaults and methods (``fit``, ``predict``, ``predict_proba``,
    ``predict_log_proba``, ``score``).

    Two classes use one logistic output, more use a softmax. After ``fit``: ``classes_``,
    ``model_`` (the network, returning logits), ``coefs_``, ``intercepts_``, ``loss_``,
    ``loss_curve_``, ``n_iter_``, ``n_features_in_``, ``n_outputs_``, ``out_activation_``.
    """

    def fit(self, X, y):
        """Fit the network to X (n_samples, n_features) and class labels y (n_samples,)."""
        X, y = self._validate(X, y, reset=True)
        self._check_targets(y)
        self.classes_, codes = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(f"{type(self).__name__}: needs samples of at least 2 classes, "
                             f"got 1 class ({self.classes_[0]!r})")
        binary = len(self.classes_) == 2
        self.n_outputs_ = 1 if binary else len(self.classes_)
        self.out_activation_ = "logistic" if binary else "softmax"
        self._rng = _random_state(self.random_state)
        val = None
        if self.early_stopping and self.solver != "lbfgs":
            X, Xv, codes, cv = self._split(X, codes, stratify=True)
            val = (Xv, cv)
        self._fit(X, codes, val=val)
        del self._rng
        return self

    @staticmethod
    def _check_targets(y) -> None:
        if _SKLEARN:
            from sklearn.utils.multiclass import check_classification_targets
            check_classification_targets(y)
            return
        y = np.asarray(y)
        if y.ndim != 1:
            raise ValueError(f"MLPClassifier: y must be 1-D class labels, got shape {y.shape}")
        if y.dtype.kind == "f" and not np.all(y == np.round(y)):
            raise ValueError("Unknown label type: continuous. MLPClassifier needs class labels; "
                             "use MLPRegressor for real-valued targets")

    def _data_loss(self, logits: Tensor, codes) -> Tensor:
        if self.n_outputs_ == 1:
            return F.binary_cross_entropy_with_logits(logits[:, 0],
                                                      tensor(codes.astype(np.float64)))
        return F.cross_entropy(logits, tensor(codes))

    def _score_encoded(self, X, codes) -> float:
        return float((self._predict_codes(X) == codes).mean())

    def _predict_codes(self, X) -> np.ndarray:
        out = self._forward(X)
        return (out[:, 0] > 0).astype(np.int64) if self.n_outputs_ == 1 else out.argmax(1)

    def predict(self, X) -> np.ndarray:
        """The most probable class of each row of X."""
        self._check_fitted()
        X = self._validate(X)
        return self.classes_[self._predict_codes(X)]

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities, (n_samples, n_classes), columns in the order of ``classes_``."""
        self._check_fitted()
        out = self._forward(self._validate(X))
        if self.n_outputs_ == 1:
            p = 1.0 / (1.0 + np.exp(-out[:, 0]))
            return np.stack([1.0 - p, p], axis=1)
        e = np.exp(out - out.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    def predict_log_proba(self, X) -> np.ndarray:
        """log of predict_proba."""
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))


class MLPRegressor(RegressorMixin, _BaseMLP):
    """A multilayer perceptron regressor trained on squared error (½·mean (y − ŷ)²), with
    scikit-learn's constructor arguments, defaults and methods (``fit``, ``predict``,
    ``score`` = R²). The output layer is linear; y may have several columns.
    """

    def fit(self, X, y):
        """Fit the network to X (n_samples, n_features) and targets y (n_samples,) or
        (n_samples, n_outputs)."""
        X, y = self._validate(X, y, reset=True)
        y = np.asarray(y, dtype=np.float64)
        self._y_ndim = y.ndim
        Y = y.reshape(len(y), -1)
        self.n_outputs_ = Y.shape[1]
        self.out_activation_ = "identity"
        self._rng = _random_state(self.random_state)
        val = None
        if self.early_stopping and self.solver != "lbfgs":
            X, Xv, Y, Yv = self._split(X, Y, stratify=False)
            val = (Xv, Yv)
        self._fit(X, Y, val=val)
        del self._rng
        return self

    def _data_loss(self, out: Tensor, Y) -> Tensor:
        d = out - tensor(Y)
        return (d * d).mean() * 0.5

    def _score_encoded(self, X, Y) -> float:
        pred = self._forward(X)
        ss_res = ((Y - pred) ** 2).sum(axis=0)
        ss_tot = ((Y - Y.mean(axis=0)) ** 2).sum(axis=0)
        return float(np.mean(1 - ss_res / np.where(ss_tot == 0, 1.0, ss_tot)))

    def predict(self, X) -> np.ndarray:
        """Predicted targets, (n_samples,) for a 1-D y at fit time, else (n_samples,
        n_outputs)."""
        self._check_fitted()
        out = self._forward(self._validate(X))
        return out[:, 0] if self._y_ndim == 1 else out

    if _SKLEARN:
        def __sklearn_tags__(self):
            tags = super().__sklearn_tags__()
            tags.target_tags.multi_output = True      # y may have several columns
            return tags
