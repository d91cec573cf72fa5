"""Label-only membership inference: what AnoMed's attackers get from ``/predict``.

- :func:`gap_scores`: the gap attack (Yeom et al. 2018): a sample the model
  labels correctly is guessed to be a member.
- :class:`ARTBlackBoxAttack`: ART's ``MembershipInferenceBlackBox`` exactly as
  the ``anomed-deanonymizer`` template runs it: a random forest on the
  predicted label and the one-hot true label. The baseline.
- :class:`NoiseRobustnessAttack`: Choquette-Choo et al. 2021 ("Label-only
  membership inference attacks"): a model is more robust to small
  perturbations around the samples it was trained on. Each sample is queried
  with Gaussian noise at several scales; the fractions still labelled
  correctly, with the true label (and whether it was predicted), feed a
  small gradient-boosted tree ensemble that learns which scales, and which
  classes' errors, separate members from non-members.
- The distance to the decision boundary (same paper) is in :mod:`.boundary`.

Attacks that learn are calibrated on balanced, known members and
non-members; :func:`cross_fitted_scores` scores every sample with an attack
that did not see it.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier

from .splits import stratified_folds
from .targets import Predictor

# Bounds of the noise-robustness attack model's smallest leaf (rows).
_MIN_LEAF, _MAX_LEAF = 2, 20

__all__ = [
    "ARTBlackBoxAttack",
    "NoiseRobustnessAttack",
    "cross_fitted_scores",
    "gap_scores",
]


def _art():
    """Import ART's attack without its "PyTorch/TensorFlow not found" noise."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*not found", category=UserWarning)
        from art.attacks.inference.membership_inference import (
            MembershipInferenceBlackBox,
        )
        from art.estimators import BaseEstimator
        from art.estimators.classification import ClassifierMixin
    return MembershipInferenceBlackBox, BaseEstimator, ClassifierMixin


def gap_scores(predict: Predictor, X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """1.0 where the model labels a sample correctly, else 0.0."""
    return (np.asarray(predict(X)) == np.asarray(y)).astype(np.float64)


def _label_classifier(predict: Predictor, n_features: int, classes: np.ndarray):
    """An ART classifier that answers what ``anomed_deanonymizer.WebClassifier``
    answers: the raw predicted label (here: its index among ``classes``)."""
    _, BaseEstimator, ClassifierMixin = _art()

    class LabelClassifier(ClassifierMixin, BaseEstimator):
        estimator_params = ()

        def __init__(self) -> None:
            super().__init__(model=None, clip_values=None)
            self.nb_classes = len(classes)

        @property
        def input_shape(self) -> tuple[int, ...]:
            return (n_features,)

        def predict(self, x: np.ndarray, **kwargs: Any) -> np.ndarray:
            return encode_labels(np.asarray(predict(x)), classes).astype(np.float64)

        def fit(self, x, y, **kwargs):  # pragma: no cover - a black box
            raise NotImplementedError("the audited model is fitted elsewhere")

        def get_activations(self, *args, **kwargs):  # pragma: no cover
            raise NotImplementedError

        def loss_gradient(self, *args, **kwargs):  # pragma: no cover
            raise NotImplementedError

    return LabelClassifier()


def encode_labels(labels: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """Index of each label in ``classes``; ``len(classes)`` for unknown labels."""
    index = {label: i for i, label in enumerate(np.asarray(classes).tolist())}
    return np.array([index.get(v, len(classes)) for v in labels.tolist()], np.int64)


class ARTBlackBoxAttack:
    """ART's black-box membership inference, as the deanonymizer template runs it.

    Parameters
    ----------
    predict : Predictor
        The model under attack (e.g. a :class:`~.targets.RemotePredictor`).
    n_features : int
        Features per sample.
    classes : Sequence
        Every label the task has; the true labels are one-hot encoded over them.
    attack_model_type : str, optional
        ART's attack model, ``"rf"`` (the template's) by default.
    seed : int, optional
        Seeds the attack model (the template leaves it unseeded).
    """

    def __init__(
        self,
        predict: Predictor,
        n_features: int,
        classes: Sequence[Any],
        attack_model_type: str = "rf",
        seed: int = 0,
    ) -> None:
        self.predict = predict
        self.n_features = n_features
        self.classes = np.asarray(classes)
        self.attack_model_type = attack_model_type
        self.seed = seed
        self.attack_: Any = None

    def fit(
        self,
        X_member: np.ndarray,
        y_member: np.ndarray,
        X_nonmember: np.ndarray,
        y_nonmember: np.ndarray,
    ) -> ARTBlackBoxAttack:
        """Train on known members and non-members (the template's call)."""
        MembershipInferenceBlackBox, _, _ = _art()
        estimator = _label_classifier(self.predict, self.n_features, self.classes)
        attack = MembershipInferenceBlackBox(
            estimator=estimator, attack_model_type=self.attack_model_type
        )
        if hasattr(attack.attack_model, "random_state"):
            attack.attack_model.set_params(random_state=self.seed)
        attack.fit(
            x=X_member,
            y=self._encode(y_member),
            test_x=X_nonmember,
            test_y=self._encode(y_nonmember),
        )
        self.attack_ = attack
        return self

    def membership_scores(self, X: np.ndarray, y: np.ndarray) -> np.ndarray:
        """The attack model's probability that each sample is a member."""
        return np.ravel(
            self._fitted().infer(x=X, y=self._encode(y), probabilities=True)
        ).astype(np.float64)

    def infer_memberships(self, X: np.ndarray, y: np.ndarray) -> np.ndarray:
        """The template's answer: one boolean per sample."""
        return np.squeeze(self._fitted().infer(x=X, y=self._encode(y))).astype(bool)

    def _encode(self, y: np.ndarray) -> np.ndarray:
        return encode_labels(np.asarray(y), self.classes)

    def _fitted(self):
        if self.attack_ is None:
            raise RuntimeError("the attack is not fitted yet: call fit first")
        return self.attack_


class NoiseRobustnessAttack:
    """Label-only attack on robustness to Gaussian noise (Choquette-Choo et al.).

    Parameters
    ----------
    predict : Predictor
        The model under attack.
    feature_scale : numpy.ndarray
        Per-feature spread of the data (e.g. its standard deviation); noise at
        scale ``s`` has standard deviation ``s * feature_scale``.
    classes : Sequence
        Every label of the task.
    scales : Sequence[float], optional
        Noise scales, relative to ``feature_scale``.
    n_queries : int, optional
        Noisy copies per sample and scale.
    seed : int, optional
        Seeds the noise and the attack model.
    """

    def __init__(
        self,
        predict: Predictor,
        feature_scale: np.ndarray,
        classes: Sequence[Any],
        scales: Sequence[float] = (0.03, 0.1, 0.3, 1.0),
        n_queries: int = 8,
        seed: int = 0,
    ) -> None:
        self.predict = predict
        self.feature_scale = np.asarray(feature_scale, dtype=np.float64)
        self.classes = np.asarray(classes)
        self.scales = tuple(scales)
        self.n_queries = n_queries
        self.seed = seed
        self.model_: Any = None

    def features(self, X: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Per sample: correct at no noise, the fraction correct per scale,
        the one-hot true label, and the one-hot true label where correct.

        One batch of queries for all samples, so that a served model answers
        in a few requests.
        """
        X = np.asarray(X, dtype=np.float64)
        y = np.asarray(y)
        rng = np.random.default_rng(self.seed)
        copies = len(self.scales) * self.n_queries
        noise = rng.standard_normal((copies, *X.shape)) * self.feature_scale
        factors = np.repeat(self.scales, self.n_queries)[:, None, None]
        queries = np.concatenate((X[None], X[None] + factors * noise))
        labels = np.asarray(self.predict(queries.reshape(-1, X.shape[1])))
        correct = labels.reshape(1 + copies, len(X)) == y
        robust = correct[1:].reshape(len(self.scales), self.n_queries, len(X))
        label = (y[:, None] == self.classes[None, :]).astype(np.float64)
        return np.column_stack(
            (correct[0], robust.mean(axis=1).T, label, label * correct[0][:, None])
        ).astype(np.float64)

    def fit_features(
        self, member_features: np.ndarray, non_member_features: np.ndarray
    ) -> NoiseRobustnessAttack:
        """Learn how the features of members differ from non-members'."""
        features = np.concatenate((member_features, non_member_features))
        labels = np.r_[
            np.ones(len(member_features)), np.zeros(len(non_member_features))
        ]
        # Shallow and slow-learning. Leaves of a tenth of the fold (at least
        # 2, at most scikit-learn's 20): with the default 20, a fold of fewer
        # than 40 rows could not be split at all, and every sample got the
        # same score.
        leaf = int(np.clip(len(labels) // 10, _MIN_LEAF, _MAX_LEAF))
        model = HistGradientBoostingClassifier(
            max_depth=3,
            learning_rate=0.05,
            max_iter=100,
            min_samples_leaf=leaf,
            random_state=self.seed,
        )
        self.model_ = model.fit(features, labels)
        return self

    def score_features(self, features: np.ndarray) -> np.ndarray:
        """Membership scores (the attack model's log-odds)."""
        if self.model_ is None:
            raise RuntimeError("the attack is not fitted yet: call fit_features first")
        return self.model_.decision_function(features)


def cross_fitted_scores(
    fit_and_score: Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray], tuple],
    y_members: np.ndarray,
    y_non_members: np.ndarray,
    seed: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Score every member and non-member with an attack trained without it.

    Members and non-members are each cut into two seeded halves, stratified
    by label (see :mod:`.splits`); an attack is trained on one half of both
    and scores the other half, then the other way round.

    Parameters
    ----------
    fit_and_score : callable
        ``(train_members, train_non_members, test_members, test_non_members)``,
        index arrays, to ``(member_scores, non_member_scores)`` of the test
        indices.
    y_members, y_non_members : numpy.ndarray
        Labels of the sets (for stratification).
    seed : int
        Seeds the halves.

    Returns
    -------
    tuple[numpy.ndarray, numpy.ndarray]
        Scores of all members and of all non-members, in their given order.
    """
    folds_m = stratified_folds(y_members, seed)
    folds_n = stratified_folds(y_non_members, seed + 1)
    member_scores = np.empty(len(y_members))
    non_member_scores = np.empty(len(y_non_members))
    for train, test in ((0, 1), (1, 0)):
        scores_m, scores_n = fit_and_score(
            folds_m[train], folds_n[train], folds_m[test], folds_n[test]
        )
        member_scores[folds_m[test]] = scores_m
        non_member_scores[folds_n[test]] = scores_n
    return member_scores, non_member_scores
