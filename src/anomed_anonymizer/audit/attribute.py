"""Attribute inference: does ``/predict`` reveal a sensitive feature?

The threat model of Jayaraman & Evans (2022, "Are attribute inference attacks
just imputation?"): the attacker knows a record's other features and its true
target ``y``, may query the model's ``predict``, and wants the record's
sensitive feature ``s`` (one column of ``X``). Much of what such an attack
gets right, imputation gets right too: ``s`` is often predictable from the
other features and ``y`` without the model. So the attack is set beside that
**baseline** and only its advantage over it counts, with a paired bootstrap
interval, separately on the model's training rows (members) and on rows it
never saw (non-members).

- Baseline: a scikit-learn model trained on the attacker's auxiliary rows
  to predict ``s`` from the other features and ``y`` (one-hot labels for a
  classifier): the better in 3-fold cross-validation of a linear model
  (logistic or ridge regression) and ``HistGradientBoosting``.
- Attack (candidate values, Fredrikson et al. 2014 as Jayaraman & Evans
  run it): put each candidate value of ``s`` into the target row, query
  ``predict``, keep the candidates whose prediction matches the true ``y``
  best (least squared error for a regressor; the true label for a
  classifier). The candidates: the distinct values of a categorical column
  in the auxiliary rows, or a grid of its quantiles for a continuous one.
  The attack weighs that match against what the baseline already knows, as
  a Bayesian attacker does: the baseline's belief is the prior (its class
  probabilities; a Gaussian around its estimate, of its residual spread on
  the auxiliary rows, for a continuous column) and the match is the
  likelihood (a Gaussian of the residual, of the model's own error spread
  on the auxiliary rows with their true values; for a classifier, its
  accuracy there for a matching label and the rest shared out for another);
  the guess is the posterior's mode. So a noisy model cannot talk the attack
  out of a confident baseline, a model whose answer depends on ``s`` far more
  than its noise decides, and where the model gives no signal (every
  candidate matches equally) the attack is the baseline. Its advantage is
  what the model adds.

- Second attack, ART's ``AttributeInferenceBlackBox`` (the attack the
  platform's templates would run): ``predict`` wrapped in ART's
  ``BlackBoxClassifier`` / ``BlackBoxRegressor``, an attack model (a seeded
  random forest by default; a classifier for a categorical column, a
  regressor for a continuous one, ``is_continuous``) trained on the
  auxiliary rows to predict ``s`` from the other features, the model's
  prediction and the true ``y`` (the knowledge the baseline has, plus the
  model), then run on each split. It is scored against the same baseline,
  with the same paired bootstrap. ART takes one prediction column and one
  ``y`` column: a classifier's label index; for a regressor of ``k > 1``
  outputs, the mean over outputs of each.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from .regression import resolve_task
from .targets import RemotePredictor

__all__ = [
    "ART_ATTACK_MODELS",
    "ATTRIBUTE_TASKS",
    "ARTAttributeOutcome",
    "AttributeInferenceResult",
    "SplitOutcome",
    "attribute_inference",
]

#: What ``task_of_attribute`` may be.
ATTRIBUTE_TASKS = ("auto", "categorical", "continuous")

#: ART's attack models (``attack_model_type`` of ``AttributeInferenceBlackBox``).
ART_ATTACK_MODELS = ("rf", "gb", "lr", "dt", "knn", "svm", "nn")

#: At most this many distinct integer-like values make a column categorical
#: under ``task_of_attribute="auto"``.
MAX_CATEGORIES = 10

#: Fewer rows than this in a split and the verdict says the data is too thin.
MIN_ROWS = 20

_CONFIDENCE = 0.95

# Resampled row indices held at once by the bootstrap.
_BOOTSTRAP_CELLS = 1 << 22

# Fewer auxiliary rows than this and the baseline fits on one thread.
_THREADED_ROWS = 10_000

# Cross-validation folds that choose the baseline's model.
_FOLDS = 3


@dataclass(frozen=True)
class SplitOutcome:
    """Attack and baseline on one split (members or non-members).

    ``attack`` and ``baseline`` are accuracies (categorical attribute) or
    mean absolute errors (continuous); ``advantage`` is signed so that
    positive favours the attack: attack minus baseline accuracy, or baseline
    minus attack MAE. Intervals are 95 % bootstrap percentile intervals, the
    advantage's paired (the same rows resampled for both).
    ``uninformative`` is the share of rows where every candidate matched the
    model's prediction equally (the model gave no signal there).
    """

    n: int
    attack: float
    attack_ci: tuple[float, float]
    baseline: float
    baseline_ci: tuple[float, float]
    advantage: float
    advantage_ci: tuple[float, float]
    uninformative: float


@dataclass(frozen=True)
class ARTAttributeOutcome:
    """ART's ``AttributeInferenceBlackBox`` against the same baseline.

    ``members`` and ``non_members`` are scored as the candidate-value
    attack's (:class:`SplitOutcome`, advantage over the same baseline
    guesses, paired bootstrap); their ``uninformative`` is 0 (ART's attack
    model always gets the model's answer). ``verdict`` reads as
    :attr:`AttributeInferenceResult.verdict`.
    """

    attack: str
    attack_model: str
    members: SplitOutcome
    non_members: SplitOutcome | None
    verdict: str


@dataclass(frozen=True)
class AttributeInferenceResult:
    """What :func:`attribute_inference` found.

    Attributes
    ----------
    sensitive : int
        The column attacked.
    attribute_task : str
        ``"categorical"`` or ``"continuous"``.
    metric : str
        ``"accuracy"`` or ``"mae"``.
    target_task : str
        ``"classification"`` or ``"regression"`` (what ``predict`` answers).
    candidates : tuple of float
        The values tried in each row.
    n_aux : int
        Auxiliary rows the baseline was trained on.
    baseline_model : str
        The baseline's model, the better of a linear one and gradient
        boosting in cross-validation on the auxiliary rows.
    members : SplitOutcome
        On the model's training rows.
    non_members : SplitOutcome or None
        On held-out rows, if any were given.
    verdict : str
        ``"leaks: ..."`` only where the members' advantage interval lies
        above 0; otherwise ``"no advantage over imputation ..."`` (or too
        few rows to tell), always with ``n``.
    art : ARTAttributeOutcome or None
        ART's ``AttributeInferenceBlackBox`` on the same rows, or ``None``
        when not run (``art_attack_model=None``).
    """

    sensitive: int
    attribute_task: str
    metric: str
    target_task: str
    candidates: tuple[float, ...]
    n_aux: int
    baseline_model: str
    members: SplitOutcome
    non_members: SplitOutcome | None
    verdict: str
    art: ARTAttributeOutcome | None = None

    def to_dict(self) -> dict[str, Any]:
        """The result as JSON-ready built-in types."""
        return asdict(self)

    def to_json(self) -> str:
        """The result as JSON text."""
        return json.dumps(self.to_dict(), indent=2) + "\n"


def attribute_inference(
    predict: Callable[[np.ndarray], np.ndarray] | str | Any,
    X_aux: np.ndarray,
    y_aux: np.ndarray,
    X_target: np.ndarray,
    y_target: np.ndarray,
    sensitive: int,
    *,
    X_heldout: np.ndarray | None = None,
    y_heldout: np.ndarray | None = None,
    task: str = "auto",
    task_of_attribute: str = "auto",
    n_grid: int = 20,
    seed: int = 0,
    n_bootstrap: int = 1000,
    art_attack_model: str | None = "rf",
) -> AttributeInferenceResult:
    """Infer column ``sensitive`` of each target row, with and without the model.

    Parameters
    ----------
    predict : callable, str or object with ``predict``
        The model under attack: features in, predictions out (labels, or
        floats of shape ``(n,)`` or ``(n, k)``); a ``http://HOST/predict``
        URL (queried through :class:`~.targets.RemotePredictor`); or a fitted
        model whose ``predict`` is used.
    X_aux, y_aux : numpy.ndarray
        The attacker's auxiliary rows (same distribution, not the targets):
        they train the baseline and give the candidate values.
    X_target, y_target : numpy.ndarray
        Records the model was trained on (members), whose sensitive column
        the attack guesses (its true values score the guesses).
    sensitive : int
        Index of the sensitive column of ``X``.
    X_heldout, y_heldout : numpy.ndarray, optional
        Records the model never saw (non-members), attacked the same way.
    task : {"auto", "classification", "regression"}, optional
        What ``predict`` answers (see :func:`.regression.resolve_task`).
    task_of_attribute : {"auto", "categorical", "continuous"}, optional
        ``"auto"``: categorical if the auxiliary column has at most
        :data:`MAX_CATEGORIES` distinct values, all integers.
    n_grid : int, optional
        Candidate values of a continuous column (its auxiliary quantiles).
    seed : int, optional
        Seeds the baseline and the bootstrap.
    n_bootstrap : int, optional
        Bootstrap resamples per interval (at least 100).
    art_attack_model : str or None, optional
        The attack model of ART's ``AttributeInferenceBlackBox``, one of
        :data:`ART_ATTACK_MODELS` (``"rf"``, a random forest seeded by
        ``seed``, by default; ART's own default is ``"nn"``); ``None`` runs
        the candidate-value attack only.

    Returns
    -------
    AttributeInferenceResult

    Raises
    ------
    ValueError
        If ``sensitive`` is out of range, arrays disagree in length or
        width, an option is unknown, or the auxiliary column has one value.
    """
    X_aux, y_aux = _pair("aux", X_aux, y_aux)
    X_target, y_target = _pair("target", X_target, y_target)
    width = X_aux.shape[1]
    splits = [("target", X_target, y_target)]
    if (X_heldout is None) != (y_heldout is None):
        raise ValueError("give both X_heldout and y_heldout, or neither")
    if X_heldout is not None:
        X_heldout, y_heldout = _pair("heldout", X_heldout, y_heldout)
        splits.append(("heldout", X_heldout, y_heldout))
    for name, X, y in splits:
        if X.shape[1] != width:
            raise ValueError(f"X_{name} has {X.shape[1]} columns but X_aux has {width}")
        if y.shape[1:] != y_aux.shape[1:]:
            raise ValueError(
                f"y_{name} has shape {y.shape} but y_aux {y_aux.shape}: the "
                "targets must have the same outputs"
            )
    if isinstance(sensitive, bool) or not isinstance(sensitive, (int, np.integer)):
        raise ValueError(f"sensitive must be a column index, got {sensitive!r}")
    if not 0 <= sensitive < width:
        raise ValueError(
            f"sensitive={sensitive} is out of range: X has {width} columns "
            f"(0 to {width - 1})"
        )
    if width < 1:
        raise ValueError("X has no columns")
    if task_of_attribute not in ATTRIBUTE_TASKS:
        raise ValueError(
            f"task_of_attribute must be one of {', '.join(ATTRIBUTE_TASKS)}, "
            f"got {task_of_attribute!r}"
        )
    if n_grid < 2:
        raise ValueError(f"n_grid must be at least 2, got {n_grid}")
    if n_bootstrap < 100:
        raise ValueError(f"n_bootstrap must be at least 100, got {n_bootstrap}")
    if art_attack_model is not None and art_attack_model not in ART_ATTACK_MODELS:
        raise ValueError(
            f"art_attack_model must be one of {', '.join(ART_ATTACK_MODELS)} "
            f"or None, got {art_attack_model!r}"
        )
    target_task = resolve_task(y_aux, task)
    column = np.asarray(X_aux[:, sensitive], dtype=np.float64)
    if not np.all(np.isfinite(column)):
        raise ValueError(f"column {sensitive} of X_aux has non-finite values")
    values = np.unique(column)
    if len(values) < 2:
        raise ValueError(
            f"column {sensitive} of X_aux has a single value ({values[0]!r}): "
            "nothing to infer"
        )
    attribute_task = task_of_attribute
    if attribute_task == "auto":
        integer_like = bool(np.all(values == np.round(values)))
        attribute_task = (
            "categorical"
            if integer_like and len(values) <= MAX_CATEGORIES
            else "continuous"
        )
    if attribute_task == "categorical":
        candidates = values
    else:
        candidates = np.unique(np.quantile(column, np.linspace(0, 1, n_grid)))

    predictor = _predictor(predict, multi_output=y_aux.ndim == 2)
    baseline = _Baseline(
        X_aux, y_aux, sensitive, attribute_task, target_task, candidates, seed
    )
    noise = _model_noise(predictor, X_aux, y_aux, target_task)
    rng = np.random.default_rng(seed)
    outcomes = []
    base_guesses = []
    for _, X, y in splits:
        truth = np.asarray(X[:, sensitive], dtype=np.float64)
        base_guess, log_prior = baseline.guess(X, y)
        base_guesses.append(base_guess)
        log_likelihood, informative = _candidate_likelihoods(
            predictor, X, y, sensitive, candidates, target_task, noise
        )
        posterior = log_prior + log_likelihood
        attack_guess = np.where(
            informative, candidates[np.argmax(posterior, axis=1)], base_guess
        )
        outcomes.append(
            _score(
                truth,
                attack_guess,
                base_guess,
                attribute_task,
                1.0 - float(np.mean(informative)) if len(truth) else 0.0,
                n_bootstrap,
                rng,
            )
        )
    members = outcomes[0]
    non_members = outcomes[1] if len(outcomes) > 1 else None
    art = None
    if art_attack_model is not None:
        art_attack = _ARTAttack(
            predictor,
            X_aux,
            y_aux,
            sensitive,
            attribute_task,
            target_task,
            candidates,
            art_attack_model,
            seed,
        )
        art_outcomes = [
            _score(
                np.asarray(X[:, sensitive], dtype=np.float64),
                art_attack.infer(X, y),
                base_guess,
                attribute_task,
                0.0,
                n_bootstrap,
                rng,
            )
            for (_, X, y), base_guess in zip(splits, base_guesses, strict=True)
        ]
        art_non_members = art_outcomes[1] if len(art_outcomes) > 1 else None
        art = ARTAttributeOutcome(
            attack="ART AttributeInferenceBlackBox",
            attack_model=art_attack_model,
            members=art_outcomes[0],
            non_members=art_non_members,
            verdict=_verdict(art_outcomes[0], art_non_members, attribute_task),
        )
    return AttributeInferenceResult(
        sensitive=int(sensitive),
        attribute_task=attribute_task,
        metric="accuracy" if attribute_task == "categorical" else "mae",
        target_task=target_task,
        candidates=tuple(float(value) for value in candidates),
        n_aux=len(X_aux),
        baseline_model=baseline.name,
        members=members,
        non_members=non_members,
        verdict=_verdict(members, non_members, attribute_task),
        art=art,
    )


def _pair(name: str, X: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
    X = np.asarray(X)
    y = np.asarray(y)
    if X.ndim != 2:
        raise ValueError(f"X_{name} must be 2-D (rows, features), got shape {X.shape}")
    if y.ndim not in (1, 2):
        raise ValueError(f"y_{name} must be 1-D or 2-D, got shape {y.shape}")
    if len(X) != len(y):
        raise ValueError(
            f"X_{name} has {len(X)} rows but y_{name} has {len(y)}: one target per row"
        )
    if len(X) == 0:
        raise ValueError(f"X_{name} has no rows")
    return X, y


def _predictor(predict: Any, multi_output: bool) -> Callable[[np.ndarray], Any]:
    if isinstance(predict, str):
        return RemotePredictor(predict, multi_output=multi_output)
    method = getattr(predict, "predict", None)
    if callable(method):
        return method
    if callable(predict):
        return predict
    raise ValueError(
        f"predict must be a function, a /predict URL or a model with predict, "
        f"got {type(predict).__name__}"
    )


class _Baseline:
    """Imputation of the sensitive column from the other features and ``y``."""

    def __init__(
        self,
        X: np.ndarray,
        y: np.ndarray,
        sensitive: int,
        attribute_task: str,
        target_task: str,
        candidates: np.ndarray,
        seed: int,
    ) -> None:
        from sklearn.ensemble import (
            HistGradientBoostingClassifier,
            HistGradientBoostingRegressor,
        )
        from sklearn.linear_model import LogisticRegression, RidgeCV
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler
        from threadpoolctl import threadpool_limits

        self.sensitive = sensitive
        self.candidates = candidates
        self.labels = np.unique(y) if target_task == "classification" else None
        features = self._features(X, y)
        truth = np.asarray(X[:, sensitive], dtype=np.float64)
        self.categorical = attribute_task == "categorical"
        if self.categorical:
            models = {
                "logistic regression": make_pipeline(
                    StandardScaler(), LogisticRegression(max_iter=1000)
                ),
                "gradient boosting": HistGradientBoostingClassifier(random_state=seed),
            }
            scoring = "accuracy"
            folds = min(_FOLDS, int(np.unique(truth, return_counts=True)[1].min()))
        else:
            models = {
                "ridge regression": make_pipeline(StandardScaler(), RidgeCV()),
                "gradient boosting": HistGradientBoostingRegressor(random_state=seed),
            }
            scoring = "neg_mean_absolute_error"
            folds = _FOLDS
        # The best imputer the attacker can build: chosen by cross-validation
        # on the auxiliary rows (a flexible model alone overfits few rows).
        self.name = next(iter(models))
        # OpenMP threads cost more than they save on a few thousand rows.
        self.threads = 1 if len(truth) < _THREADED_ROWS else None
        with threadpool_limits(self.threads):
            self._select(models, features, truth, folds, scoring)

    def _select(self, models, features, truth, folds, scoring) -> None:
        from sklearn.model_selection import cross_val_score

        if folds >= 2 and len(truth) >= 2 * folds:
            scores = {
                name: float(
                    np.mean(
                        cross_val_score(
                            model, features, truth, cv=folds, scoring=scoring
                        )
                    )
                )
                for name, model in models.items()
            }
            # a model that cannot fit (e.g. NaN features for the linear one)
            # scores NaN: it is never chosen over one that can
            self.name = max(
                scores, key=lambda name: np.nan_to_num(scores[name], nan=-np.inf)
            )
        self.model = models[self.name].fit(features, truth)
        if not self.categorical:  # the prior's spread: its residuals on aux
            residual = truth - self.model.predict(features)
            self.variance = max(float(np.mean(residual**2)), 1e-12)

    def _features(self, X: np.ndarray, y: np.ndarray) -> np.ndarray:
        others = np.delete(np.asarray(X, dtype=np.float64), self.sensitive, axis=1)
        if self.labels is None:
            target = np.asarray(y, dtype=np.float64).reshape(len(y), -1)
        else:  # one-hot labels; one never seen in the aux rows is all zeros
            target = (np.asarray(y)[:, None] == self.labels[None, :]).astype(np.float64)
        return np.hstack([others, target])

    def guess(self, X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The baseline's value per row, and its log-belief in each candidate
        (log probability; for a continuous column a Gaussian around its
        estimate, of its residual spread on the auxiliary rows)."""
        from threadpoolctl import threadpool_limits

        features = self._features(X, y)
        with threadpool_limits(self.threads):
            return self._guess(features)

    def _guess(self, features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if self.categorical:
            proba = self.model.predict_proba(features)
            column = {value: i for i, value in enumerate(self.model.classes_)}
            belief = np.zeros((len(features), len(self.candidates)))
            for j, value in enumerate(self.candidates):
                if value in column:
                    belief[:, j] = proba[:, column[value]]
            log_belief = np.log(np.clip(belief, 1e-12, None))
            return self.model.classes_[np.argmax(proba, axis=1)], log_belief
        estimate = self.model.predict(features)
        distance = self.candidates[None, :] - estimate[:, None]
        return estimate, -(distance**2) / (2 * self.variance)


def _art_attribute():
    """ART's attack and black-box estimators, without ART's import noise."""
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*not found", category=UserWarning)
        from art.attacks.inference.attribute_inference import (
            AttributeInferenceBlackBox,
        )
        from art.estimators.classification import BlackBoxClassifier
        from art.estimators.regression import BlackBoxRegressor
    return AttributeInferenceBlackBox, BlackBoxClassifier, BlackBoxRegressor


class _ARTAttack:
    """ART's ``AttributeInferenceBlackBox`` around ``predict``, fitted on the
    auxiliary rows (ART queries the model for them itself)."""

    def __init__(
        self,
        predict: Callable[[np.ndarray], Any],
        X: np.ndarray,
        y: np.ndarray,
        sensitive: int,
        attribute_task: str,
        target_task: str,
        candidates: np.ndarray,
        attack_model: str,
        seed: int,
    ) -> None:
        from threadpoolctl import threadpool_limits

        AttributeInferenceBlackBox, BlackBoxClassifier, BlackBoxRegressor = (
            _art_attribute()
        )
        self.predict = predict
        self.sensitive = sensitive
        self.continuous = attribute_task == "continuous"
        self.candidates = candidates
        self.labels = np.unique(y) if target_task == "classification" else None
        rows = np.asarray(X, dtype=np.float64)
        width = rows.shape[1]
        # ART queries the model in batches of 128 rows cast to float32: it
        # gets the answers to one query of the auxiliary rows as they are,
        # looked up by their float32 bytes.
        answer = self.predict(rows)
        if self.labels is None:
            known = self._column(answer)
            estimator_type, extra = BlackBoxRegressor, {}
        else:
            known = self._one_hot(answer)
            estimator_type, extra = BlackBoxClassifier, {"nb_classes": len(self.labels)}
        table = {
            key.tobytes(): value
            for key, value in zip(rows.astype(np.float32), known, strict=True)
        }

        def lookup(batch: np.ndarray) -> np.ndarray:
            keys = np.asarray(batch, dtype=np.float32)
            return np.array([table[key.tobytes()] for key in keys])

        estimator = estimator_type(lookup, input_shape=(width,), **extra)
        self.attack = AttributeInferenceBlackBox(
            estimator,
            attack_model_type=attack_model,
            attack_feature=sensitive,
            is_continuous=self.continuous,
        )
        model = self.attack.attack_model
        if model is not None and "random_state" in model.get_params():
            model.set_params(random_state=seed)
        with threadpool_limits(1 if len(rows) < _THREADED_ROWS else None):
            self.attack.fit(rows, y=self._y(y))

    def _column(self, answer: Any) -> np.ndarray:
        """A regressor's answer as ART's one column: the mean over outputs."""
        answer = np.asarray(answer, dtype=np.float64)
        return answer.reshape(len(answer), -1).mean(axis=1)

    def _index(self, labels: Any) -> np.ndarray:
        """Labels as their index among the auxiliary labels (-1 if unseen)."""
        labels = np.asarray(labels)
        if labels.ndim != 1:
            raise ValueError(
                f"predict answered shape {labels.shape[1:]} per row; a "
                "classifier must give one label per row"
            )
        index = np.searchsorted(self.labels, labels)
        index = np.clip(index, 0, len(self.labels) - 1)
        return np.where(self.labels[index] == labels, index, -1)

    def _one_hot(self, labels: Any) -> np.ndarray:
        index = self._index(labels)
        one_hot = np.zeros((len(index), len(self.labels)), dtype=np.float32)
        seen = index >= 0
        one_hot[np.flatnonzero(seen), index[seen]] = 1.0
        return one_hot

    def _y(self, y: np.ndarray) -> np.ndarray:
        if self.labels is None:
            return self._column(y)
        return np.maximum(self._index(y), 0)

    def infer(self, X: np.ndarray, y: np.ndarray) -> np.ndarray:
        """ART's guess of the sensitive column of each row of ``X``."""
        from threadpoolctl import threadpool_limits

        rows = np.asarray(X, dtype=np.float64)
        answer = self.predict(rows)
        if self.labels is None:
            pred = self._column(answer).reshape(-1, 1)
        else:  # ART's own feature in fit: the argmax of the one-hot answer
            pred = np.argmax(self._one_hot(answer), axis=1).reshape(-1, 1)
        others = np.delete(rows, self.sensitive, axis=1)
        with threadpool_limits(1 if len(rows) < _THREADED_ROWS else None):
            guess = self.attack.infer(
                others,
                y=self._y(y),
                pred=pred.astype(np.float64),
                values=None if self.continuous else self.candidates.tolist(),
            )
        return np.asarray(guess, dtype=np.float64).reshape(len(rows))


def _answers(
    predict: Callable[[np.ndarray], Any],
    X: np.ndarray,
    sensitive: int,
    candidates: np.ndarray,
) -> np.ndarray:
    """The model's answer for every row with every candidate, ``(c, n, ...)``."""
    n, c = len(X), len(candidates)
    queries = np.repeat(np.asarray(X, dtype=np.float64)[None], c, axis=0)
    queries[:, :, sensitive] = candidates[:, None]
    answer = np.asarray(predict(queries.reshape(c * n, -1)))
    if len(answer) != c * n:
        raise ValueError(
            f"predict answered {len(answer)} rows for {c * n} queries: it must "
            "give one prediction per row"
        )
    return answer.reshape((c, n, *answer.shape[1:]))


def _squared_errors(answer: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Per output squared errors of float answers ``(c, n, k)`` against ``y``."""
    prediction = answer.astype(np.float64).reshape(*answer.shape[:2], -1)
    truth = np.asarray(y, dtype=np.float64).reshape(1, len(y), -1)
    if prediction.shape[2] != truth.shape[2]:
        raise ValueError(
            f"predict answered {prediction.shape[2]} outputs per row but y "
            f"has {truth.shape[2]}"
        )
    return (prediction - truth) ** 2


def _model_noise(
    predict: Callable[[np.ndarray], Any], X: np.ndarray, y: np.ndarray, task: str
) -> tuple[float, ...]:
    """How well the model answers rows it was not trained on, with their true
    sensitive values: a regressor's residual variance per output, or a
    classifier's accuracy and number of labels (the likelihood's scale)."""
    answer = np.asarray(predict(np.asarray(X, dtype=np.float64)))
    if len(answer) != len(X):
        raise ValueError(
            f"predict answered {len(answer)} rows for {len(X)} queries: it must "
            "give one prediction per row"
        )
    if task == "classification":
        if answer.ndim != 1:
            raise ValueError(
                f"predict answered shape {answer.shape[1:]} per row; a "
                "classifier must give one label per row"
            )
        labels = max(len(np.unique(y)), 2)
        accuracy = float(np.mean(answer.reshape(len(y)) == np.asarray(y)))
        # Keep both likelihoods positive and the match the likelier.
        low, high = 1.0 / labels + 1e-3, 1.0 - 1e-3
        return (min(max(accuracy, low), high), float(labels))
    errors = _squared_errors(answer[None], y)[0]
    return tuple(np.maximum(errors.mean(axis=0), 1e-12).tolist())


def _candidate_likelihoods(
    predict: Callable[[np.ndarray], Any],
    X: np.ndarray,
    y: np.ndarray,
    sensitive: int,
    candidates: np.ndarray,
    target_task: str,
    noise: tuple[float, ...],
) -> tuple[np.ndarray, np.ndarray]:
    """The log-likelihood of ``y`` under each candidate per row (``(n, c)``),
    and the rows where the candidates differ at all."""
    answer = _answers(predict, X, sensitive, candidates)
    if target_task == "classification":
        if answer.ndim != 2:
            raise ValueError(
                f"predict answered shape {answer.shape[2:]} per row; a "
                "classifier must give one label per row"
            )
        accuracy, labels = noise
        match = (answer == np.asarray(y)[None]).T
        log_likelihood = np.where(
            match, np.log(accuracy), np.log((1 - accuracy) / (labels - 1))
        )
    else:
        errors = _squared_errors(answer, y)  # (c, n, k)
        variance = np.asarray(noise, dtype=np.float64).reshape(1, 1, -1)
        log_likelihood = -np.sum(errors / (2 * variance), axis=2).T
    spread = log_likelihood.max(axis=1) - log_likelihood.min(axis=1)
    informative = spread > 1e-9 * (1.0 + np.abs(log_likelihood).max(axis=1))
    return log_likelihood, informative


def _score(
    truth: np.ndarray,
    attack: np.ndarray,
    baseline: np.ndarray,
    attribute_task: str,
    uninformative: float,
    n_bootstrap: int,
    rng: np.random.Generator,
) -> SplitOutcome:
    if attribute_task == "categorical":
        attack_loss = (attack == truth).astype(np.float64)  # accuracy: higher wins
        base_loss = (baseline == truth).astype(np.float64)
        sign = 1.0
    else:
        attack_loss = np.abs(attack - truth)  # MAE: lower wins
        base_loss = np.abs(baseline - truth)
        sign = -1.0
    n = len(truth)
    boot_attack = np.empty(n_bootstrap)
    boot_base = np.empty(n_bootstrap)
    step = max(1, _BOOTSTRAP_CELLS // n)  # resamples at a time: bounded memory
    for start in range(0, n_bootstrap, step):
        rows = rng.integers(0, n, size=(min(step, n_bootstrap - start), n))
        boot_attack[start : start + len(rows)] = attack_loss[rows].mean(axis=1)
        boot_base[start : start + len(rows)] = base_loss[rows].mean(axis=1)
    boot_advantage = sign * (boot_attack - boot_base)
    return SplitOutcome(
        n=n,
        attack=float(attack_loss.mean()),
        attack_ci=_interval(boot_attack),
        baseline=float(base_loss.mean()),
        baseline_ci=_interval(boot_base),
        advantage=float(sign * (attack_loss.mean() - base_loss.mean())),
        advantage_ci=_interval(boot_advantage),
        uninformative=uninformative,
    )


def _interval(values: np.ndarray) -> tuple[float, float]:
    tail = (1.0 - _CONFIDENCE) / 2 * 100
    low, high = np.percentile(values, [tail, 100 - tail])
    return float(low), float(high)


def _verdict(
    members: SplitOutcome, non_members: SplitOutcome | None, attribute_task: str
) -> str:
    low, high = members.advantage_ci
    what = "accuracy" if attribute_task == "categorical" else "MAE"
    figures = (
        f"{what} advantage over imputation on members "
        f"{members.advantage:+.3f} (95% CI {low:+.3f} to {high:+.3f}, "
        f"n={members.n})"
    )
    if non_members is not None:
        low_out, high_out = non_members.advantage_ci
        figures += (
            f"; on held-out rows {non_members.advantage:+.3f} "
            f"({low_out:+.3f} to {high_out:+.3f}, n={non_members.n})"
        )
    if members.n < MIN_ROWS:
        return f"too few member rows to tell: {figures}"
    if low > 0:
        return f"leaks: {figures}"
    if high < 0:
        return f"no advantage over imputation (the attack does worse): {figures}"
    return f"no advantage over imputation: {figures}"
