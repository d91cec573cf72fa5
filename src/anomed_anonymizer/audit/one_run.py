"""One-run DP auditing: a lower bound on epsilon from a single training run.

Steinke, Nasr & Jagielski (2023), "Privacy auditing with one (1) training
run" (NeurIPS 2023, arXiv:2305.08846). The audit inserts ``m`` *canaries* into
the training data, each included independently with probability 1/2, trains
the model **once**, and guesses from the trained model which canaries were
included. An (ε, δ)-DP training cannot let any guesser be right much more
often than randomized response with parameter ε would; the number of right
guesses therefore gives a lower bound on ε that holds with the stated
confidence (Theorem 3 of the paper, computed as in its Appendix D).

Here the canaries are rows of the audit data with a random *wrong* label (a
model that memorizes an included one predicts its wrong label; a model that
never saw it predicts the right one). Each canary is scored by the model:
the probability it gives the canary's label where the model exposes
probabilities, else 1 if ``predict`` answers the canary's label and 0
otherwise (what AnoMed's ``/predict`` shows). The top ``k+`` scores are
guessed "in", the bottom ``k-`` "out", the rest abstained on.

:func:`epsilon_lower_bound` is the statistics alone; :class:`OneRunAudit`
builds the canaries, trains, scores and reports a :class:`OneRunResult`
("audited epsilon >= x" beside the claimed epsilon).
"""

from __future__ import annotations

import copy
import math
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..models.privacy import privacy_budget_of
from .targets import probability_model, true_label_probability

__all__ = [
    "DEFAULT_GUESSES",
    "CanarySet",
    "GuessOutcome",
    "OneRunAudit",
    "OneRunResult",
    "epsilon_lower_bound",
    "one_run_p_value",
]

#: Default guessing rules ``(k+, k-)``, as fractions of the canaries: fixed
#: before the audit sees any score, so picking the best of them only costs a
#: Bonferroni split of the error probability (1/7 each).
DEFAULT_GUESSES: tuple[tuple[float, float], ...] = (
    (0.05, 0.0),
    (0.1, 0.0),
    (0.025, 0.025),
    (0.05, 0.05),
    (0.1, 0.1),
    (0.25, 0.25),
    (0.5, 0.5),
)

_DEFAULT_CANARIES = 1000
_MIN_TRAIN = 10
_SCORINGS = ("auto", "label", "probability")
# Bisection on epsilon: to this width, never beyond this epsilon (where
# e^eps / (1 + e^eps) is 1 in double precision).
_EPS_TOLERANCE = 1e-7
_EPS_CEILING = 64.0


# -- the statistics ----------------------------------------------------------


def one_run_p_value(m: int, r: int, v: int, epsilon: float, delta: float) -> float:
    """How likely an (ε, δ)-DP training lets ``r`` guesses be ``v`` times right.

    An upper bound on ``P[V >= v]`` for the number ``V`` of right guesses
    among ``r`` (abstaining on the other canaries), with ``m`` canaries each
    included independently with probability 1/2 (Steinke, Nasr & Jagielski
    2023, Theorem 3). With ``q = e^ε / (1 + e^ε)`` (the accuracy of ε-DP
    randomized response) and ``W ~ Binomial(r, q)``::

        p = P[W >= v] + 2 m δ max_{1 <= i <= v} P[v - i <= W < v] / i

    For δ = 0 it is the binomial tail ``P[W >= v]`` alone.

    Parameters
    ----------
    m : int
        Canaries, each included independently with probability 1/2.
    r : int
        Guesses made (canaries not abstained on), ``r <= m``.
    v : int
        Right guesses, ``v <= r``.
    epsilon : float
        The ε of the hypothesis, >= 0.
    delta : float
        The δ of the hypothesis, in [0, 1].

    Returns
    -------
    float
        The p-value of "the training is (ε, δ)-DP", in [0, 1].

    Examples
    --------
    Ten right out of ten under ε = 0 (a fair coin per canary):

    >>> one_run_p_value(10, 10, 10, 0.0, 0.0) == 0.5**10
    True
    >>> round(one_run_p_value(1000, 100, 80, 1.0, 0.0), 4)
    0.0716
    >>> one_run_p_value(1000, 100, 80, 1.0, 1e-5) > one_run_p_value(
    ...     1000, 100, 80, 1.0, 0.0)
    True
    """
    m, r, v = _counts(m, r, v)
    if not (math.isfinite(epsilon) and epsilon >= 0):
        raise ValueError(f"epsilon must be a non-negative number, got {epsilon!r}")
    if not 0.0 <= delta <= 1.0:
        raise ValueError(f"delta must lie in [0, 1], got {delta!r}")
    from scipy import special, stats

    if v == 0:
        return 1.0
    q = float(special.expit(epsilon))
    tail = float(stats.binom.sf(v - 1, r, q))  # P[W >= v]
    if delta == 0.0:
        return min(tail, 1.0)
    # P[v - i <= W < v] for i = 1..v, divided by i: the paper's alpha.
    below = np.cumsum(stats.binom.pmf(np.arange(v - 1, -1, -1), r, q))
    alpha = float(np.max(below / np.arange(1, v + 1)))
    return min(tail + 2.0 * m * delta * alpha, 1.0)


def epsilon_lower_bound(
    m: int, r: int, v: int, delta: float = 0.0, confidence: float = 0.95
) -> float:
    """The largest ε that ``v`` right out of ``r`` guesses refute.

    The training is *not* (ε, δ)-DP for any ε below the returned value, at
    the given confidence: the largest ε whose :func:`one_run_p_value` is at
    most ``1 - confidence``, by bisection (the p-value grows with ε). 0 when
    not even ε = 0 is refuted.

    Parameters
    ----------
    m : int
        Canaries, each included independently with probability 1/2.
    r : int
        Guesses made, ``r <= m``.
    v : int
        Right guesses, ``v <= r``.
    delta : float, optional
        The δ the bound is for: the model's own δ, so the bound is
        comparable with its claim.
    confidence : float, optional
        Probability that the bound holds, in (0, 1).

    Returns
    -------
    float
        ε' >= 0 such that, with probability ``confidence`` over the
        canaries' inclusion, the training is not (ε, δ)-DP for ε < ε'.

    Examples
    --------
    All 100 guesses right, δ = 0: the closed form
    ``log(q / (1 - q))`` with ``q = 0.05 ** (1/100)``:

    >>> round(epsilon_lower_bound(1000, 100, 100), 3)
    3.493
    >>> q = 0.05 ** (1 / 100)
    >>> round(math.log(q / (1 - q)), 3)
    3.493
    >>> round(epsilon_lower_bound(1000, 100, 100, delta=1e-5), 3)
    3.465
    >>> epsilon_lower_bound(1000, 100, 50)
    0.0
    """
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must lie in (0, 1), got {confidence!r}")
    level = 1.0 - confidence
    if one_run_p_value(m, r, v, 0.0, delta) > level:
        return 0.0
    low, high = 0.0, 1.0
    while one_run_p_value(m, r, v, high, delta) <= level:
        low, high = high, 2.0 * high
        if high > _EPS_CEILING:
            return _EPS_CEILING
    while high - low > _EPS_TOLERANCE:
        middle = (low + high) / 2.0
        if one_run_p_value(m, r, v, middle, delta) <= level:
            low = middle
        else:
            high = middle
    return low


def _counts(m: Any, r: Any, v: Any) -> tuple[int, int, int]:
    for name, value in (("m", m), ("r", r), ("v", v)):
        if isinstance(value, bool) or int(value) != value:
            raise ValueError(f"{name} must be a whole number, got {value!r}")
    m, r, v = int(m), int(r), int(v)
    if not 0 <= v <= r <= m:
        raise ValueError(f"need 0 <= v <= r <= m, got m={m}, r={r}, v={v}")
    return m, r, v


# -- canaries ----------------------------------------------------------------


@dataclass(frozen=True)
class CanarySet:
    """Mislabelled canaries and the training data they are hidden in.

    Attributes
    ----------
    X_canaries, y_canaries : numpy.ndarray
        The canaries: rows of the audit data, each with a random label other
        than its own.
    included : numpy.ndarray
        bool, one per canary: drawn independently with probability 1/2.
    rows : numpy.ndarray
        The canaries' row indices in the audit data.
    X_train, y_train : numpy.ndarray
        What the model is trained on: the audit data without the canaries'
        rows, plus the included canaries, shuffled.
    seed : int
        Seeds the canaries, their labels, the inclusion draw, the shuffle
        and the tie-breaking of equal scores; never the model.
    """

    X_canaries: np.ndarray
    y_canaries: np.ndarray
    included: np.ndarray
    rows: np.ndarray
    X_train: np.ndarray
    y_train: np.ndarray
    seed: int

    @property
    def m(self) -> int:
        """The number of canaries."""
        return len(self.included)


def _make_canaries(X: np.ndarray, y: np.ndarray, m: int, seed: int) -> CanarySet:
    rng = np.random.default_rng(seed)
    classes, codes = np.unique(y, return_inverse=True)
    rows = np.sort(rng.choice(len(X), size=m, replace=False))
    # A label other than the row's own, uniformly among the others.
    shift = rng.integers(1, len(classes), size=m)
    y_canaries = classes[(codes[rows] + shift) % len(classes)]
    included = rng.random(m) < 0.5
    rest = np.setdiff1d(np.arange(len(X)), rows)
    X_train = np.concatenate((X[rest], X[rows[included]]))
    y_train = np.concatenate((y[rest], y_canaries[included]))
    order = rng.permutation(len(X_train))
    return CanarySet(
        X_canaries=X[rows],
        y_canaries=y_canaries,
        included=included,
        rows=rows,
        X_train=X_train[order],
        y_train=y_train[order],
        seed=seed,
    )


# -- results -----------------------------------------------------------------


@dataclass(frozen=True)
class GuessOutcome:
    """One guessing rule: ``k_plus`` guessed in, ``k_minus`` out.

    Attributes
    ----------
    k_plus, k_minus : int
        Canaries guessed included (the highest scores) and excluded (the
        lowest).
    r, v : int
        Guesses (``k_plus + k_minus``) and right guesses.
    epsilon_lower_bound : float
        At the audit's Bonferroni-corrected level.
    max_certifiable_epsilon : float
        The bound had every one of the ``r`` guesses been right: no model
        can be shown to spend more with this rule.
    """

    k_plus: int
    k_minus: int
    r: int
    v: int
    epsilon_lower_bound: float
    max_certifiable_epsilon: float

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON."""
        return {
            "k_plus": self.k_plus,
            "k_minus": self.k_minus,
            "r": self.r,
            "v": self.v,
            "epsilon_lower_bound": self.epsilon_lower_bound,
            "max_certifiable_epsilon": self.max_certifiable_epsilon,
        }


@dataclass(frozen=True)
class OneRunResult:
    """What a one-run audit shows: "audited epsilon >= x" beside the claim.

    Attributes
    ----------
    epsilon_lower_bound : float
        The audited ε: with probability ``confidence`` the training is not
        (ε, ``delta``)-DP for any smaller ε. The best of the guessing rules,
        each tested at ``(1 - confidence) / len(outcomes)``.
    confidence : float
        The level of the bound, for all rules together.
    delta : float
        The δ the bound is for (the claimed δ, unless the audit was given
        one).
    claimed_epsilon, claimed_delta : float | None
        What the fitted model reports (``privacy_budget_of``); ``None`` for
        a model without a guarantee.
    m : int
        Canaries.
    included : int
        Canaries that were trained on.
    k_plus, k_minus, r, v : int
        The rule that gave the bound: guessed in, guessed out, guesses,
        right guesses.
    max_certifiable_epsilon : float
        The most any rule of this audit could certify (every guess right):
        an audited ε near it means the audit, not the model, is the limit;
        a small audited ε is evidence about the model only when this is
        well above the claim.
    outcomes : tuple[GuessOutcome, ...]
        Every rule tried.
    scoring : str
        ``"probability"`` (of the canary's label) or ``"label"`` (1 when
        ``predict`` answers the canary's label).
    seed : int
        Seeded the canaries and their inclusion (not the model): recorded so
        the audit can be checked.
    target : str
        What was audited.
    mechanism : str | None
        The claim's mechanism.
    void_reasons : tuple[str, ...]
        Why the claimed ε does not hold (e.g. seeded noise), if known.
    details : dict
        Fit time, training rows, library facts.
    """

    epsilon_lower_bound: float
    confidence: float
    delta: float
    claimed_epsilon: float | None
    claimed_delta: float | None
    m: int
    included: int
    k_plus: int
    k_minus: int
    r: int
    v: int
    max_certifiable_epsilon: float
    outcomes: tuple[GuessOutcome, ...]
    scoring: str
    seed: int
    target: str = "model"
    mechanism: str | None = None
    void_reasons: tuple[str, ...] = ()
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def contradicted(self) -> bool | None:
        """Whether the audit refutes the claim (audited ε above the claimed
        ε, at the audit's δ); ``None`` without a claim.

        Examples
        --------
        >>> _example_result(claimed_epsilon=1.0).contradicted
        False
        >>> _example_result(claimed_epsilon=None).contradicted is None
        True
        """
        if self.claimed_epsilon is None:
            return None
        return self.epsilon_lower_bound > self.claimed_epsilon

    def summary(self) -> str:
        """One line: the audited ε beside the claim.

        Examples
        --------
        >>> print(_example_result(claimed_epsilon=1.0).summary())
        model: audited epsilon >= 0.00 (95 % one-run audit, delta 1e-05, 1000 \
canaries, 54 of 100 guesses right), claimed epsilon 1.00 (delta 1e-05): not \
contradicted; this audit can certify at most 3.04
        """
        audited = (
            f"{self.target}: audited epsilon >= {self.epsilon_lower_bound:.2f} "
            f"({self.confidence * 100:g} % one-run audit, delta {self.delta:.3g}, "
            f"{self.m} canaries, {self.v} of {self.r} guesses right)"
        )
        if self.claimed_epsilon is None:
            claim = "no epsilon claimed"
        else:
            verdict = "CONTRADICTED" if self.contradicted else "not contradicted"
            claim = (
                f"claimed epsilon {self.claimed_epsilon:.2f} "
                f"(delta {self.claimed_delta:.3g}): {verdict}"
            )
        limit = f"this audit can certify at most {self.max_certifiable_epsilon:.2f}"
        return f"{audited}, {claim}; {limit}"

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON: every field, ``contradicted`` and ``summary`` too."""
        return {
            "method": "one-run audit (Steinke, Nasr & Jagielski 2023)",
            "target": self.target,
            "epsilon_lower_bound": self.epsilon_lower_bound,
            "confidence": self.confidence,
            "delta": self.delta,
            "claimed_epsilon": self.claimed_epsilon,
            "claimed_delta": self.claimed_delta,
            "mechanism": self.mechanism,
            "contradicted": self.contradicted,
            "void_reasons": list(self.void_reasons),
            "m": self.m,
            "included": self.included,
            "k_plus": self.k_plus,
            "k_minus": self.k_minus,
            "r": self.r,
            "v": self.v,
            "max_certifiable_epsilon": self.max_certifiable_epsilon,
            "outcomes": [outcome.to_dict() for outcome in self.outcomes],
            "scoring": self.scoring,
            "seed": self.seed,
            "details": dict(self.details),
            "summary": self.summary(),
        }


def _example_result(claimed_epsilon: float | None) -> OneRunResult:
    """A result as a private model's audit gives it (for the doctests)."""
    outcome = GuessOutcome(50, 50, 100, 54, 0.0, 3.04)
    return OneRunResult(
        epsilon_lower_bound=0.0,
        confidence=0.95,
        delta=1e-5,
        claimed_epsilon=claimed_epsilon,
        claimed_delta=None if claimed_epsilon is None else 1e-5,
        m=1000,
        included=497,
        k_plus=50,
        k_minus=50,
        r=100,
        v=54,
        max_certifiable_epsilon=3.04,
        outcomes=(outcome,),
        scoring="probability",
        seed=0,
    )


# -- the audit ---------------------------------------------------------------


class OneRunAudit:
    """One-run DP audit of a classifier (Steinke, Nasr & Jagielski 2023).

    Parameters
    ----------
    canaries : int | None, optional
        The number ``m`` of mislabelled canaries; ``None`` takes 1000 or half
        the rows, whichever is fewer. The bound can only be as large as the
        canaries allow (see ``max_certifiable_epsilon``): the paper uses
        thousands.
    confidence : float, optional
        The probability (over the canaries' inclusion) that the audited ε is
        a true lower bound, for all guessing rules together.
    guesses : Sequence[tuple[float, float]] | None, optional
        The guessing rules ``(k+, k-)`` tried, fixed in advance: integers
        are counts of canaries, floats in [0, 1] fractions of ``m``. The
        best rule is reported, each tested at ``(1 - confidence) /
        len(guesses)`` (Bonferroni), so trying them all keeps the bound
        valid. ``None`` takes :data:`DEFAULT_GUESSES`.
    scoring : {"auto", "probability", "label"}, optional
        How a canary is scored: ``"probability"`` of its (wrong) label,
        which needs ``predict_proba`` or ``decision_function`` on the model
        or the model it wraps; ``"label"``: 1 when ``predict`` answers its
        label, else 0 (what ``/predict`` shows). ``"auto"`` takes the
        probability where there is one.
    delta : float | None, optional
        The δ of the bound; ``None`` takes the model's claimed δ (0 for a
        model without a claim).
    seed : int | None, optional
        Seeds the canaries, their labels and their inclusion (and the
        tie-breaking of equal scores); ``None`` draws 63 bits of OS entropy,
        recorded in the result. A seed repeats an audit; fix it before
        auditing, since trying seeds until one gives a large bound voids the
        confidence. The model is never seeded by the audit: a DP model draws
        its own fresh noise.

    Attributes
    ----------
    canaries_ : CanarySet
        After :meth:`run`: the canaries and the training data.
    target_ : Any
        After :meth:`run`: the deep copy of the anonymizer trained once.

    Notes
    -----
    The bound is valid for any model and any scores, provided the
    inclusions are independent fair coins the model's own randomness does
    not depend on, and the guessing rules are fixed before the scores are
    seen; ties between equal scores are broken by a random order drawn
    independently of the inclusion. DP is taken per training example under
    addition or removal (a canary is in the training data or not): the
    privacy unit of Opacus' DP-SGD. A mechanism whose guarantee is for
    replacing one example is audited against the same ε, which it may not
    meet under addition or removal.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.neighbors import KNeighborsClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> result = OneRunAudit(canaries=500, seed=0).run(
    ...     KNeighborsClassifier(n_neighbors=1), X, y)
    >>> result.epsilon_lower_bound > 1, result.claimed_epsilon is None
    (True, True)
    """

    def __init__(
        self,
        canaries: int | None = None,
        confidence: float = 0.95,
        guesses: Sequence[tuple[float, float]] | None = None,
        *,
        scoring: str = "auto",
        delta: float | None = None,
        seed: int | None = None,
    ) -> None:
        self.canaries = canaries
        self.confidence = confidence
        self.guesses = guesses
        self.scoring = scoring
        self.delta = delta
        self.seed = seed

    def make_canaries(self, X: np.ndarray, y: np.ndarray) -> CanarySet:
        """Draw the canaries and the training data they hide in.

        Use it to audit a model trained elsewhere (e.g. by a challenge on
        ``X_train``/``y_train``), then pass its scores of ``X_canaries`` to
        :meth:`evaluate`.

        Parameters
        ----------
        X, y : numpy.ndarray
            The audit data: features ``(n, features)`` and labels ``(n,)``,
            at least two classes.

        Returns
        -------
        CanarySet

        Examples
        --------
        >>> X, y = np.arange(80.0).reshape(40, 2), np.arange(40) % 2
        >>> canaries = OneRunAudit(canaries=20, seed=1).make_canaries(X, y)
        >>> bool((canaries.y_canaries != y[canaries.rows]).all())
        True
        >>> len(canaries.X_train) == 20 + int(canaries.included.sum())
        True
        """
        X, y = _check_data(X, y)
        self._check_settings()
        m = self._m(len(X))
        seed = self.seed if self.seed is not None else secrets.randbits(63)
        return _make_canaries(X, y, m, int(seed))

    def run(
        self, anonymizer: Any, X: np.ndarray, y: np.ndarray, *, name: str | None = None
    ) -> OneRunResult:
        """Insert canaries, train a deep copy of ``anonymizer`` once, audit it.

        Parameters
        ----------
        anonymizer : Any
            An unfitted anonymizer or estimator with ``fit`` and ``predict``
            (a ``WrappedAnonymizer``, a ``TorchWrapper``, a diffprivlib or
            scikit-learn classifier); left untouched. Its copy is fitted as
            it is: no seed is set, so a DP model draws fresh noise.
        X, y : numpy.ndarray
            The audit data; ``m`` rows become canaries, the others are
            trained on with their labels.
        name : str | None, optional
            What the result calls the target.

        Returns
        -------
        OneRunResult

        Raises
        ------
        ValueError
            If the data are too few or malformed, a setting is out of range,
            or the model cannot be scored as asked.
        TypeError
            If ``anonymizer`` cannot be deep-copied.
        """
        X, y = _check_data(X, y)
        _validate(anonymizer, X)
        canaries = self.make_canaries(X, y)
        try:
            model = copy.deepcopy(anonymizer)
        except Exception as exc:
            raise TypeError(
                f"the audit trains a deep copy of the anonymizer, but "
                f"{type(anonymizer).__name__} cannot be deep-copied "
                f"({type(exc).__name__}: {exc})"
            ) from exc
        started = time.perf_counter()
        model.fit(canaries.X_train, canaries.y_train)
        fit_seconds = time.perf_counter() - started
        self.canaries_, self.target_ = canaries, model
        scoring = self._scoring(model)
        scores = _scores(model, canaries.X_canaries, canaries.y_canaries, scoring)
        budget = privacy_budget_of(model)
        details = {
            "fit_seconds": round(fit_seconds, 3),
            "training_rows": len(canaries.X_train),
            "audit_rows": len(X),
        }
        return self.evaluate(
            scores,
            canaries.included,
            claimed_epsilon=None if budget is None else budget.epsilon,
            claimed_delta=None if budget is None else budget.delta,
            mechanism=None if budget is None else budget.mechanism,
            void_reasons=() if budget is None else budget.void_reasons,
            scoring=scoring,
            seed=canaries.seed,
            target=name or type(anonymizer).__name__,
            details=details,
        )

    def evaluate(
        self,
        scores: np.ndarray,
        included: np.ndarray,
        *,
        claimed_epsilon: float | None = None,
        claimed_delta: float | None = None,
        mechanism: str | None = None,
        void_reasons: Sequence[str] = (),
        scoring: str = "label",
        seed: int | None = None,
        target: str = "model",
        details: dict[str, Any] | None = None,
    ) -> OneRunResult:
        """Turn the canaries' scores into the audited ε.

        Parameters
        ----------
        scores : numpy.ndarray
            One per canary, higher meaning "more likely trained on",
            computed the same way for every canary.
        included : numpy.ndarray
            bool, one per canary: whether it was trained on.
        claimed_epsilon, claimed_delta : float | None, optional
            The model's claim, if any.
        mechanism : str | None, optional
            The claim's mechanism, for the report.
        void_reasons : Sequence[str], optional
            Why the claim does not hold, for the report.
        scoring : str, optional
            How the scores were made, for the report.
        seed : int | None, optional
            Breaks ties between equal scores (``None``: OS entropy); the
            seed of the canaries, for the report.
        target : str, optional
            What the report calls the model.
        details : dict | None, optional
            Further plain facts for the report.

        Returns
        -------
        OneRunResult

        Examples
        --------
        Scores that tell every canary apart:

        >>> included = np.arange(1000) % 2 == 0
        >>> result = OneRunAudit(seed=0).evaluate(included * 1.0, included)
        >>> result.v == result.r, round(result.epsilon_lower_bound, 2)
        (True, 5.31)
        """
        self._check_settings()
        scores = np.asarray(scores, dtype=np.float64)
        included = np.asarray(included)
        if included.dtype != bool or included.ndim != 1:
            raise ValueError("included must be a 1-d boolean array, one per canary")
        if scores.shape != included.shape:
            raise ValueError(
                f"need one score per canary: {len(included)} canaries, scores of "
                f"shape {scores.shape}"
            )
        if np.isnan(scores).any():
            raise ValueError("the canaries' scores hold NaN")
        m = len(included)
        if m == 0:
            raise ValueError("no canaries to audit")
        delta = self._delta(claimed_delta)
        rules = self._rules(m)
        level = (1.0 - self.confidence) / len(rules)
        tie_seed = seed if seed is not None else secrets.randbits(63)
        # Descending scores, equal ones in a random order that knows nothing
        # of the inclusion.
        tie_break = np.random.default_rng([int(tie_seed), 1]).permutation(m)
        order = np.lexsort((tie_break, -scores))
        outcomes = []
        for k_plus, k_minus in rules:
            right = int(included[order[:k_plus]].sum())
            right += int((~included[order[m - k_minus :]]).sum()) if k_minus else 0
            r = k_plus + k_minus
            outcomes.append(
                GuessOutcome(
                    k_plus=k_plus,
                    k_minus=k_minus,
                    r=r,
                    v=right,
                    epsilon_lower_bound=epsilon_lower_bound(
                        m, r, right, delta, 1.0 - level
                    ),
                    max_certifiable_epsilon=epsilon_lower_bound(
                        m, r, r, delta, 1.0 - level
                    ),
                )
            )
        # The best bound; among equals, the rule that guessed best.
        best = max(outcomes, key=lambda o: (o.epsilon_lower_bound, o.v / o.r))
        return OneRunResult(
            epsilon_lower_bound=best.epsilon_lower_bound,
            confidence=float(self.confidence),
            delta=delta,
            claimed_epsilon=None if claimed_epsilon is None else float(claimed_epsilon),
            claimed_delta=None if claimed_delta is None else float(claimed_delta),
            m=m,
            included=int(included.sum()),
            k_plus=best.k_plus,
            k_minus=best.k_minus,
            r=best.r,
            v=best.v,
            max_certifiable_epsilon=max(o.max_certifiable_epsilon for o in outcomes),
            outcomes=tuple(outcomes),
            scoring=scoring,
            seed=int(tie_seed),
            target=target,
            mechanism=mechanism,
            void_reasons=tuple(void_reasons),
            details=dict(details or {}),
        )

    # -- helpers -------------------------------------------------------------

    def _check_settings(self) -> None:
        if not (isinstance(self.confidence, float) and 0.0 < self.confidence < 1.0):
            raise ValueError(
                f"confidence must be a number in (0, 1), got {self.confidence!r}"
            )
        if self.scoring not in _SCORINGS:
            raise ValueError(
                f"scoring must be one of {', '.join(_SCORINGS)}, got {self.scoring!r}"
            )
        if self.delta is not None and not 0.0 <= self.delta < 1.0:
            raise ValueError(f"delta must lie in [0, 1), got {self.delta!r}")
        if self.canaries is not None and (
            isinstance(self.canaries, bool)
            or not isinstance(self.canaries, int)
            or self.canaries < 1
        ):
            raise ValueError(
                f"canaries must be a positive integer or None, got {self.canaries!r}"
            )
        if self.seed is not None and (
            isinstance(self.seed, bool) or not isinstance(self.seed, int)
        ):
            raise ValueError(f"seed must be an integer or None, got {self.seed!r}")

    def _m(self, n: int) -> int:
        m = self.canaries
        if m is None:
            m = min(_DEFAULT_CANARIES, n // 2)
        if n - m < _MIN_TRAIN or m < 1:
            raise ValueError(
                f"{n} rows cannot hold {m} canaries: the audit keeps at least "
                f"{_MIN_TRAIN} rows as training data besides the canaries"
            )
        return m

    def _rules(self, m: int) -> list[tuple[int, int]]:
        guesses = DEFAULT_GUESSES if self.guesses is None else self.guesses
        rules = []
        for pair in guesses:
            if len(pair) != 2:
                raise ValueError(f"a guessing rule is a pair (k+, k-), got {pair!r}")
            k_plus, k_minus = (_count(value, m) for value in pair)
            if k_plus + k_minus > m:
                raise ValueError(
                    f"the guessing rule {pair!r} makes {k_plus + k_minus} guesses "
                    f"for {m} canaries"
                )
            if k_plus + k_minus > 0 and (k_plus, k_minus) not in rules:
                rules.append((k_plus, k_minus))
        if not rules:
            raise ValueError(f"no guessing rule makes a guess for {m} canaries")
        return rules

    def _delta(self, claimed_delta: float | None) -> float:
        if self.delta is not None:
            return float(self.delta)
        return float(claimed_delta or 0.0)

    def _scoring(self, model: Any) -> str:
        if self.scoring != "auto":
            return self.scoring
        return "probability" if probability_model(model) is not None else "label"


def _count(value: Any, m: int) -> int:
    """A rule's ``k``: an integer count, or a float fraction of ``m``."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
        raise ValueError(f"k+ and k- are counts or fractions, got {value!r}")
    if isinstance(value, (int, np.integer)):
        if value < 0:
            raise ValueError(f"k+ and k- must not be negative, got {value!r}")
        return int(value)
    if not 0.0 <= value <= 1.0:
        raise ValueError(
            f"a fraction of the canaries must lie in [0, 1], got {value!r} "
            "(pass an int for a count)"
        )
    return math.floor(value * m)


def _scores(model: Any, X: np.ndarray, y: np.ndarray, scoring: str) -> np.ndarray:
    if scoring == "probability":
        if probability_model(model) is None:
            raise ValueError(
                f"scoring='probability' needs predict_proba or decision_function, "
                f"which {type(model).__name__} lacks; use scoring='label'"
            )
        return true_label_probability(model, X, y)
    prediction = np.asarray(model.predict(X))
    if prediction.shape != (len(X),):
        raise ValueError(
            f"scoring='label' needs one label per row from predict, got shape "
            f"{prediction.shape}"
        )
    return (prediction == y).astype(np.float64)


def _check_data(X: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
    X, y = np.asarray(X), np.asarray(y)
    if X.ndim != 2 or y.ndim != 1 or len(X) != len(y):
        raise ValueError(
            f"expected X of shape (n, features) and y of shape (n,), got {X.shape} "
            f"and {y.shape}"
        )
    if len(np.unique(y)) < 2:
        raise ValueError(
            "the canaries get a wrong label: the data need at least two classes"
        )
    return X, y


def _validate(anonymizer: Any, X: np.ndarray) -> None:
    validate: Callable[[np.ndarray], None] | None = getattr(
        anonymizer, "validate_input", None
    )
    if callable(validate):
        try:
            validate(X)
        except NotImplementedError:
            return
        except ValueError as exc:
            raise ValueError(f"the anonymizer rejects the audit data: {exc}") from exc
