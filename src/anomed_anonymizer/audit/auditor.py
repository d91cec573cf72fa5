"""The privacy audit: every attack against one target, on balanced sets."""

from __future__ import annotations

import copy
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..models.privacy import privacy_budget_of
from .boundary import BoundaryDistanceAttack, min_boundary_queries
from .label_only import (
    ARTBlackBoxAttack,
    NoiseRobustnessAttack,
    cross_fitted_scores,
    gap_scores,
)
from .metrics import evaluate_scores
from .one_run import OneRunAudit
from .reference import membership_design, train_reference_models
from .regression import (
    SKIPPED_FOR_REGRESSION,
    ARTLossAttack,
    lira_regression,
    per_example_loss,
    regression_utility,
    residuals,
    resolve_task,
    rmia_regression,
)
from .report import AttackResult, AuditReport, Check
from .score_based import lira_attack, rmia_scores
from .served import served_privacy
from .splits import balance_indices, member_split
from .targets import (
    Predictor,
    RemotePredictor,
    fit_copy,
    probability_model,
    true_label_probability,
)
from .utility import classification_utility

__all__ = ["MembershipAudit"]

_MIN_PER_SET = 10
_DETERMINISM = "DP training is randomized"


class MembershipAudit:
    """Membership-inference audit of an anonymizer, in process or over HTTP.

    Parameters
    ----------
    reference_models : int, optional
        Copies of the anonymizer refitted on random halves of the data for
        LiRA and RMIA (even; 0 skips the score-based attacks).
    n_jobs : int | None, optional
        joblib's ``n_jobs`` for the reference models; ``None`` takes it from
        an enclosing ``joblib.parallel_config`` (e.g. a Dask cluster).
    seed : int, optional
        Seeds the member split, every model's fit, the attacks and the
        intervals: an audit repeats exactly.
    confidence : float, optional
        Level of every interval.
    n_bootstrap : int, optional
        Bootstrap resamples per interval.
    delta : float, optional
        The delta the epsilon lower bound assumes.
    noise_scales : Sequence[float], optional
        Noise scales of the noise-robustness attack, relative to each
        feature's standard deviation.
    noise_queries : int, optional
        Noisy queries per sample and scale.
    boundary_queries : int, optional
        Most queries (rows sent to the model) per sample of the
        decision-boundary attack (HopSkipJump); 0 turns the attack off.
        Otherwise at least :func:`~.boundary.min_boundary_queries` (41).
    timeout : float, optional
        Seconds to wait for each ``/predict`` of a served target.
    one_run_canaries : int | None, optional
        Canaries of the one-run DP audit (:class:`~.one_run.OneRunAudit`)
        that :meth:`run` adds: one more training, whose mislabelled canaries
        give "audited ε ≥ x" beside the claimed ε. ``None`` takes
        ``min(1000, n / 2)``; 0 skips it. Classification only.
    task : {"auto", "classification", "regression"}, optional
        What the model does; ``"auto"`` reads it from ``y``
        (:func:`~.regression.resolve_task`: float or ``(n, k)`` targets are
        regression). A regressor is attacked through its loss (the
        loss-threshold attack and LiRA on reference models, see
        :mod:`.regression`); the attacks that need classes are skipped with
        a note, and the report gains ``utility`` (MSE and MAE).

    Attributes
    ----------
    target_ : SupervisedLearningAnonymizer
        After :meth:`run`: the copy of the anonymizer fitted on the members.
    members_, non_members_ : numpy.ndarray
        After :meth:`run`: row indices of the members and non-members.
    """

    def __init__(
        self,
        *,
        reference_models: int = 16,
        n_jobs: int | None = None,
        seed: int = 0,
        confidence: float = 0.95,
        n_bootstrap: int = 1000,
        delta: float = 0.0,
        noise_scales: Sequence[float] = (0.03, 0.1, 0.3, 1.0),
        noise_queries: int = 8,
        boundary_queries: int = 100,
        timeout: float = 60.0,
        one_run_canaries: int | None = None,
        task: str = "auto",
    ) -> None:
        self.reference_models = reference_models
        self.n_jobs = n_jobs
        self.seed = seed
        self.confidence = confidence
        self.n_bootstrap = n_bootstrap
        self.delta = delta
        self.noise_scales = noise_scales
        self.noise_queries = noise_queries
        self.boundary_queries = boundary_queries
        self.timeout = timeout
        self.one_run_canaries = one_run_canaries
        resolve_task(np.zeros(1), task)  # a clear error for an unknown task now
        self.task = task

    def run(
        self,
        anonymizer: Any,
        X: np.ndarray,
        y: np.ndarray,
        *,
        name: str | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> AuditReport:
        """Audit an *unfitted* anonymizer on data (both threat models).

        A seeded half of the rows are members: a deep copy of ``anonymizer``
        is fitted on them (``target_``); the others (as many) are non-members.
        Label-only attacks query the target's ``predict``; if it (or the
        model it wraps) has ``predict_proba`` or ``decision_function``, LiRA
        and RMIA compare its scores with reference models'.

        Parameters
        ----------
        anonymizer : SupervisedLearningAnonymizer
            Unfitted; left untouched.
        X, y : numpy.ndarray
            The population: features and labels.
        name : str | None, optional
            What the report calls the target.
        progress : Callable[[int], None] | None, optional
            Called with 1 whenever a reference model is done.

        Returns
        -------
        AuditReport

        Raises
        ------
        ValueError
            If the data are too few, malformed, or rejected by the
            anonymizer's own ``validate_input`` (the message says why).
        """
        task = resolve_task(y, self.task)
        X, y = _check_data(X, y, task=task)
        _validate(anonymizer, X)
        self._check_reference_models()
        if task == "regression":
            return self._run_regression(anonymizer, X, y, name, progress)
        self._check_boundary_queries()
        self.members_, self.non_members_ = member_split(y, self.seed)
        half = len(self.members_)
        if half < _MIN_PER_SET:
            raise ValueError(
                f"{len(X)} samples are too few: the audit needs at least "
                f"{_MIN_PER_SET} members and as many non-members of the same classes"
            )
        started = time.perf_counter()
        self.target_ = fit_copy(
            anonymizer, X[self.members_], y[self.members_], self.seed
        )
        settings = self._settings(fit_seconds=round(time.perf_counter() - started, 3))
        m, n = self.members_, self.non_members_
        attacks = self._label_only(self.target_.predict, X[m], y[m], X[n], y[n])
        notes: list[str] = []
        attacks += self._score_attacks(anonymizer, X, y, notes, progress)
        target = name or type(anonymizer).__name__
        report = self._in_process_report(
            anonymizer, X, y, attacks, target, settings, notes
        )
        report.utility = classification_utility(
            self.target_.predict, X[m], y[m], X[n], y[n]
        )
        if self.one_run_canaries != 0:
            one_run = OneRunAudit(
                canaries=self.one_run_canaries,
                confidence=self.confidence,
                seed=self.seed,
            ).run(anonymizer, X, y, name=target)
            report.one_run = one_run.to_dict()
        return report

    def run_black_box(
        self,
        predict: str | Predictor,
        X_members: np.ndarray,
        y_members: np.ndarray,
        X_non_members: np.ndarray,
        y_non_members: np.ndarray,
        *,
        name: str | None = None,
    ) -> AuditReport:
        """Audit a fitted model with label-only attacks.

        Parameters
        ----------
        predict : str | Predictor
            ``http://HOST/predict`` of a served anonymizer, or a function
            from features to labels.
        X_members, y_members : numpy.ndarray
            Samples the model was trained on.
        X_non_members, y_non_members : numpy.ndarray
            Samples it was not trained on. The larger set is subsampled
            (seeded) to the size of the smaller: the attacks are calibrated
            and measured on balanced sets.
        name : str | None, optional
            What the report calls the target (default: the URL).

        Returns
        -------
        AuditReport
            With ``utility`` (strict accuracy, or a regressor's MSE and MAE)
            on the attacked members and non-members, and, for a URL, the
            budget its server's ``GET /privacy`` serves (see
            :func:`.served.served_privacy`).
        """
        task = resolve_task(y_members, self.task)
        X_m, y_m = _check_data(X_members, y_members, "members", task)
        X_n, y_n = _check_data(X_non_members, y_non_members, "non-members", task)
        if X_m.shape[1] != X_n.shape[1]:
            raise ValueError(
                f"members have {X_m.shape[1]} features, non-members {X_n.shape[1]}"
            )
        if task == "regression":
            report = self._black_box_regression(predict, X_m, y_m, X_n, y_n, name)
        else:
            report = self._black_box_classification(predict, X_m, y_m, X_n, y_n, name)
        if isinstance(predict, str):  # a served model tells its budget
            served = served_privacy(predict, timeout=self.timeout)
            report.privacy = served.budget
            report.settings["privacy_url"] = served.url
            report.settings["privacy_problem"] = served.problem
        return report

    def _black_box_classification(self, predict, X_m, y_m, X_n, y_n, name):
        """:meth:`run_black_box` for a classifier: the label-only attacks, and
        strict accuracy on the (balanced) members and non-members."""
        self._check_boundary_queries()
        keep_m, keep_n = balance_indices(y_m, y_n, seed=self.seed)
        sets = X_m[keep_m], y_m[keep_m], X_n[keep_n], y_n[keep_n]
        size = len(keep_m)
        if size < _MIN_PER_SET:
            raise ValueError(
                f"only {size} members and non-members share their labels: the "
                f"audit needs at least {_MIN_PER_SET} of each"
            )
        if isinstance(predict, str):
            target = name or predict
            predict = RemotePredictor(predict, timeout=self.timeout)
        else:
            target = name or getattr(predict, "__qualname__", "model")
        attacks = self._label_only(predict, *sets)
        notes = _balance_notes(len(X_m), len(X_n), size)
        notes.append(
            "Black box: only label-only attacks (no scores, no reference models)."
        )
        settings = self._settings(reference_models=0)
        for attack in attacks:
            attack.member_indices, attack.non_member_indices = keep_m, keep_n
        report = AuditReport(size, size, attacks, target, settings, notes)
        report.indices_into = (
            "rows of X_members (non-members: of X_non_members) as given (CLI: "
            "--members/--non-members, or the challenge's training data/non-members)"
        )
        report.utility = classification_utility(predict, *sets)
        return report

    # -- regression ------------------------------------------------------------

    def _run_regression(self, anonymizer, X, y, name, progress) -> AuditReport:
        """:meth:`run` for a regressor: random halves, attacks on the loss."""
        # One "class": member_split then draws seeded random halves.
        self.members_, self.non_members_ = member_split(np.zeros(len(y)), self.seed)
        half = len(self.members_)
        if half < _MIN_PER_SET:
            raise ValueError(
                f"{len(X)} samples are too few: the audit needs at least "
                f"{_MIN_PER_SET} members and as many non-members"
            )
        m, n = self.members_, self.non_members_
        started = time.perf_counter()
        self.target_ = fit_copy(anonymizer, X[m], y[m], self.seed)
        settings = self._settings(
            fit_seconds=round(time.perf_counter() - started, 3),
            task="regression",
            boundary_queries=0,
        )
        target_residuals = residuals(self.target_, X, y)
        attacks = [
            self._loss_threshold(target_residuals[m], target_residuals[n]),
            self._art_loss(
                X.shape[1], target_residuals[m], y[m], target_residuals[n], y[n]
            ),
        ]
        notes = [SKIPPED_FOR_REGRESSION]
        if self.reference_models == 0:
            notes.append("LiRA and RMIA skipped: --reference-models 0.")
        else:
            design, reference = self._reference_models(
                anonymizer, X, y, progress, signal=residuals
            )
            for online in (False, True):
                mode = "online" if online else "offline"
                scores, details = lira_regression(
                    target_residuals, reference, design, online
                )
                attacks.append(
                    self._result(
                        f"LiRA ({mode})", "scores", scores[m], scores[n], details
                    )
                )
            scores, details = rmia_regression(target_residuals, reference, design)
            attacks.append(
                self._result("RMIA (loss)", "scores", scores[m], scores[n], details)
            )
        target = name or type(anonymizer).__name__
        report = self._in_process_report(
            anonymizer, X, y, attacks, target, settings, notes
        )
        report.utility = regression_utility(self.target_, X[m], y[m], X[n], y[n])
        return report

    def _in_process_report(self, anonymizer, X, y, attacks, target, settings, notes):
        """The report of an in-process audit: its attacks on the member split,
        the determinism check of a DP claim, and the claim."""
        m, n = self.members_, self.non_members_
        check, claimed = Check(_DETERMINISM, "skipped", "no DP claim to check"), None
        if privacy_budget_of(self.target_) is not None:
            check, claimed = determinism_check(anonymizer, X[m], y[m], X)
        for attack in attacks:
            attack.member_indices, attack.non_member_indices = m, n
        report = AuditReport(len(m), len(n), attacks, target, settings, notes)
        report.indices_into = "rows of the audited data X (CLI: --dataset)"
        report.checks.append(check)
        report.privacy = claimed
        return report

    def _black_box_regression(self, predict, X_m, y_m, X_n, y_n, name):
        """:meth:`run_black_box` for a regressor: the loss-threshold attack."""
        size = min(len(X_m), len(X_n))
        rng = np.random.default_rng(self.seed)
        keep_m = np.sort(rng.permutation(len(X_m))[:size])
        keep_n = np.sort(rng.permutation(len(X_n))[:size])
        if isinstance(predict, str):
            target = name or predict
            predict = RemotePredictor(predict, timeout=self.timeout, multi_output=True)
        else:
            target = name or getattr(predict, "__qualname__", "model")
        sets = X_m[keep_m], y_m[keep_m], X_n[keep_n], y_n[keep_n]
        res_m, res_n = residuals(predict, *sets[:2]), residuals(predict, *sets[2:])
        attacks = [
            self._loss_threshold(res_m, res_n),
            self._art_loss(X_m.shape[1], res_m, sets[1], res_n, sets[3]),
        ]
        for attack in attacks:
            attack.member_indices, attack.non_member_indices = keep_m, keep_n
        notes = [SKIPPED_FOR_REGRESSION]
        if not len(X_m) == len(X_n) == size:
            notes.append(
                f"Balanced from {len(X_m)} members and {len(X_n)} non-members to "
                f"{size} of each (seeded)."
            )
        notes.append("Black box: the attacks on the loss only (no reference models).")
        settings = self._settings(reference_models=0, task="regression")
        settings["boundary_queries"] = 0
        report = AuditReport(size, size, attacks, target, settings, notes)
        report.indices_into = (
            "rows of X_members (non-members: of X_non_members) as given (CLI: "
            "--members/--non-members, or the challenge's training data/non-members)"
        )
        report.utility = regression_utility(
            predict, X_m[keep_m], y_m[keep_m], X_n[keep_n], y_n[keep_n]
        )
        return report

    def _loss_threshold(self, member_residuals, non_member_residuals):
        """Yeom et al.'s attack: minus the per-example squared error."""
        return self._result(
            "loss threshold",
            "predictions",
            -per_example_loss(member_residuals),
            -per_example_loss(non_member_residuals),
            details={"loss": "squared error, mean over outputs"},
        )

    def _art_loss(self, n_features, member_residuals, y_m, non_member_residuals, y_n):
        """ART's black-box attack on the loss, cross-fitted on halves."""

        def art(train_m, train_n, test_m, test_n):
            attack = ARTLossAttack(n_features, seed=self.seed)
            attack.fit(
                member_residuals[train_m],
                y_m[train_m],
                non_member_residuals[train_n],
                y_n[train_n],
            )
            return (
                attack.membership_scores(member_residuals[test_m], y_m[test_m]),
                attack.membership_scores(non_member_residuals[test_n], y_n[test_n]),
            )

        # One stratum: the folds are seeded random halves.
        strata_m, strata_n = np.zeros(len(y_m)), np.zeros(len(y_n))
        scores = cross_fitted_scores(art, strata_m, strata_n, self.seed)
        decision = {
            "input_type": "loss",
            "attack_model_type": "rf",
            "template_tpr": float(np.mean(scores[0] > 0.5)),
            "template_fpr": float(np.mean(scores[1] > 0.5)),
        }
        return self._result(
            "ART black-box (loss)", "predictions", *scores, details=decision
        )

    # -- attacks -------------------------------------------------------------

    def _label_only(self, predict, X_m, y_m, X_n, y_n) -> list[AttackResult]:
        results = [
            self._result(
                "gap",
                "label-only",
                gap_scores(predict, X_m, y_m),
                gap_scores(predict, X_n, y_n),
            )
        ]
        classes = np.unique(np.concatenate((y_m, y_n)))

        def art(train_m, train_n, test_m, test_n):
            attack = ARTBlackBoxAttack(predict, X_m.shape[1], classes, seed=self.seed)
            attack.fit(X_m[train_m], y_m[train_m], X_n[train_n], y_n[train_n])
            return (
                attack.membership_scores(X_m[test_m], y_m[test_m]),
                attack.membership_scores(X_n[test_n], y_n[test_n]),
            )

        scores = cross_fitted_scores(art, y_m, y_n, self.seed)
        # ART's own answer rounds the probability: what the template reports.
        decision = {
            "template_tpr": float(np.mean(scores[0] > 0.5)),
            "template_fpr": float(np.mean(scores[1] > 0.5)),
        }
        results.append(
            self._result(
                "ART black-box (baseline)", "label-only", *scores, details=decision
            )
        )
        results.append(self._noise_robustness(predict, X_m, y_m, X_n, y_n))
        if self.boundary_queries:
            results.append(self._boundary(predict, X_m, y_m, X_n, y_n))
        return results

    def _boundary(self, predict, X_m, y_m, X_n, y_n) -> AttackResult:
        """Distance to the decision boundary: a threshold-free score, so no
        attack model and no cross-fitting."""
        attack = BoundaryDistanceAttack(predict, self.boundary_queries, seed=self.seed)
        distances = attack.distances(
            np.concatenate((X_m, X_n)), np.concatenate((y_m, y_n))
        )
        return self._result(
            "decision boundary (HopSkipJump)",
            "label-only",
            distances[: len(X_m)],
            distances[len(X_m) :],
            details=attack.details(),
        )

    def _noise_robustness(self, predict, X_m, y_m, X_n, y_n) -> AttackResult:
        X = np.concatenate((X_m, X_n))
        y = np.concatenate((y_m, y_n))
        attack = NoiseRobustnessAttack(
            predict,
            X.std(axis=0),
            np.unique(y),
            self.noise_scales,
            self.noise_queries,
            self.seed,
        )
        features = attack.features(X, y)
        f_m, f_n = features[: len(X_m)], features[len(X_m) :]

        def fit_and_score(train_m, train_n, test_m, test_n):
            attack.fit_features(f_m[train_m], f_n[train_n])
            return attack.score_features(f_m[test_m]), attack.score_features(
                f_n[test_n]
            )

        scores = cross_fitted_scores(fit_and_score, y_m, y_n, self.seed)
        details = {
            "scales": list(self.noise_scales),
            "queries_per_scale": self.noise_queries,
        }
        return self._result("noise robustness", "label-only", *scores, details=details)

    def _score_attacks(self, anonymizer, X, y, notes, progress) -> list[AttackResult]:
        if self.reference_models == 0:
            notes.append("Score-based attacks skipped: --reference-models 0.")
            return []
        if probability_model(self.target_) is None:
            notes.append(
                "Score-based attacks skipped: the anonymizer (and the model it "
                "wraps) has neither predict_proba nor decision_function."
            )
            return []
        design, reference = self._reference_models(anonymizer, X, y, progress)
        target = true_label_probability(self.target_, X, y)
        m, n = self.members_, self.non_members_
        results = []
        for online in (False, True):
            mode = "online" if online else "offline"
            scores, details = lira_attack(target, reference, design, online)
            results.append(
                self._result(
                    f"LiRA ({mode})", "scores", scores[m], scores[n], details=details
                )
            )
        for online in (False, True):
            mode = "online" if online else "offline"
            scores, a = rmia_scores(target, reference, design, online)
            details = {} if a is None else {"offline_a": a}
            results.append(
                self._result(
                    f"RMIA ({mode})", "scores", scores[m], scores[n], details=details
                )
            )
        return results

    # -- helpers ---------------------------------------------------------------

    def _reference_models(
        self, anonymizer, X, y, progress, signal=None
    ) -> tuple[np.ndarray, np.ndarray]:
        """The design (who trains on which half) and the reference models'
        signal (``signal``, default: their outputs) for LiRA and RMIA; the
        models are seeded after the design, from ``seed + 1``."""
        design = membership_design(len(X), self.reference_models, self.seed)
        reference = train_reference_models(
            anonymizer,
            X,
            y,
            design,
            n_jobs=self.n_jobs,
            seed=self.seed + 1,
            progress=progress,
            signal=signal,
        )
        return design, reference

    def _result(
        self, name, threat_model, member_scores, non_member_scores, details=None
    ):
        metrics = evaluate_scores(
            member_scores,
            non_member_scores,
            confidence=self.confidence,
            n_bootstrap=self.n_bootstrap,
            delta=self.delta,
            seed=self.seed,
        )
        return AttackResult(
            name,
            threat_model,
            metrics,
            np.asarray(member_scores),
            np.asarray(non_member_scores),
            details or {},
        )

    def _settings(self, **extra: Any) -> dict[str, Any]:
        settings = {
            "seed": self.seed,
            "confidence": self.confidence,
            "n_bootstrap": self.n_bootstrap,
            "delta": self.delta,
            "reference_models": self.reference_models,
            "boundary_queries": self.boundary_queries,
        }
        return {**settings, **extra}

    def _check_boundary_queries(self) -> None:
        queries, least = self.boundary_queries, min_boundary_queries()
        if isinstance(queries, bool) or not isinstance(queries, int | np.integer):
            raise ValueError(f"boundary_queries must be an integer, got {queries!r}")
        if queries != 0 and queries < least:
            raise ValueError(
                f"boundary_queries must be 0 (no decision-boundary attack) or at "
                f"least {least} (a label, a binary search and one HopSkipJump "
                f"iteration per sample), got {queries}"
            )

    def _check_reference_models(self) -> None:
        models = self.reference_models
        if models != 0 and (models < 2 or models % 2):
            raise ValueError(
                f"reference_models must be 0 or an even number >= 2, got {models}"
            )


def determinism_check(
    anonymizer: Any, X: np.ndarray, y: np.ndarray, probe: np.ndarray
) -> tuple[Check, dict[str, Any] | None]:
    """Fit two copies of ``anonymizer`` on the same data as the user configured
    it (no seed of the audit's) and compare what they say about ``probe``.

    A model that claims a DP budget must be randomized given its data: if the
    two fits agree bit for bit, anyone who knows the code and the other rows
    can retrain with and without a candidate and compare with the release,
    and the claimed ε cannot hold. Probabilities are compared where the model
    has them; labels alone agree often by chance, so identical labels are
    decided by the saved model files (identical bytes: deterministic), and
    stay inconclusive for a model that cannot save.

    Parameters
    ----------
    anonymizer : SupervisedLearningAnonymizer
        Unfitted; left untouched.
    X, y : numpy.ndarray
        The training data of both fits.
    probe : numpy.ndarray
        Features both fitted copies are asked about.

    Returns
    -------
    tuple[Check, dict | None]
        The check, and the budget the first copy reports (the ``/privacy``
        JSON), ``None`` without one.
    """
    name = _DETERMINISM
    models = []
    for _ in range(2):
        model = copy.deepcopy(anonymizer)
        model.fit(X, y)
        models.append(model)
    budget = privacy_budget_of(models[0])
    claimed = None if budget is None else budget.to_json()
    if budget is None:
        return Check(name, "skipped", "the model claims no DP budget"), claimed
    outputs = [_probe_outputs(model, probe) for model in models]
    if probability_model(models[0]) is not None:
        what = "probabilities"
    else:  # a regressor predicts numbers, a classifier labels
        what = "predictions" if outputs[0][0].dtype.kind == "f" else "labels"
    same = all(
        np.array_equal(a, b, equal_nan=True) for a, b in zip(*outputs, strict=True)
    )
    if not same:
        detail = f"two fits on the same data gave different {what} on {len(probe)} rows"
        return Check(name, "passed", detail), claimed
    if what != "probabilities":
        identical_files = _same_saved_bytes(models)
        if identical_files is None:
            detail = (
                f"two fits gave the same {what} on {len(probe)} rows and the "
                "model cannot save, so its weights cannot be compared"
            )
            return Check(name, "inconclusive", detail), claimed
        if not identical_files:
            detail = f"same {what}, but the saved models differ"
            return Check(name, "passed", detail), claimed
        what = f"{what} and saved model files"
    detail = (
        f"the claimed ε = {budget.epsilon:.3g} cannot hold: training is "
        f"deterministic given the data (two fits gave identical {what} on "
        f"{len(probe)} rows)"
    )
    return Check(name, "failed", detail), claimed


def _probe_outputs(model: Any, probe: np.ndarray) -> list[np.ndarray]:
    scorer = probability_model(model)
    if scorer is not None:
        method = getattr(scorer, "predict_proba", None) or scorer.decision_function
        return [np.asarray(method(probe))]
    return [np.asarray(model.predict(probe))]


def _same_saved_bytes(models: list[Any]) -> bool | None:
    with tempfile.TemporaryDirectory() as folder:
        files = [Path(folder) / f"model{i}" for i in range(len(models))]
        try:
            for model, path in zip(models, files, strict=True):
                model.save(path)
        except Exception:  # no way to save: nothing to compare
            return None
        contents = [path.read_bytes() for path in files]
    return all(content == contents[0] for content in contents)


def _check_data(
    X, y, what: str = "data", task: str = "classification"
) -> tuple[np.ndarray, np.ndarray]:
    X, y = np.asarray(X), np.asarray(y)
    if task == "regression":
        if X.ndim != 2 or y.ndim not in (1, 2) or len(X) != len(y):
            raise ValueError(
                f"{what}: expected X of shape (n, features) and y of shape (n,) "
                f"or (n, outputs), got {X.shape} and {y.shape}"
            )
        if y.dtype.kind not in "biuf" or not np.all(np.isfinite(y)):
            raise ValueError(
                f"{what}: a regression target must hold finite numbers "
                f"(dtype {y.dtype})"
            )
        y = y.astype(np.float64)
    elif X.ndim != 2 or y.ndim != 1 or len(X) != len(y):
        raise ValueError(
            f"{what}: expected X of shape (n, features) and y of shape (n,), "
            f"got {X.shape} and {y.shape}"
        )
    if len(X) < _MIN_PER_SET:
        raise ValueError(f"{what}: {len(X)} samples are too few to audit")
    return X, y


def _validate(anonymizer: Any, X: np.ndarray) -> None:
    validate = getattr(anonymizer, "validate_input", None)
    if callable(validate):
        try:
            validate(X)
        except NotImplementedError:  # no validator: nothing to check
            return
        except ValueError as exc:
            raise ValueError(f"the anonymizer rejects the audit data: {exc}") from exc


def _balance_notes(n_members: int, n_non_members: int, size: int) -> list[str]:
    if n_members == n_non_members == size:
        return []
    return [
        f"Balanced from {n_members} members and {n_non_members} non-members to "
        f"{size} of each, every class equally often in both (seeded), so that no "
        "attack gains from guessing the majority or a class's prior."
    ]
