"""Attacks on a release: Anonymeter's three, and AnoMed's reconstruction.

Anonymeter (Giomi et al. 2023, Statice) measures the risks the Article 29
Working Party names -- singling out, linkability, inference -- by attacking
the original records through the release and comparing with the same attack
on *control* records the anonymizer never saw: what the attack gains on the
originals beyond the controls is what the release leaks about them, not what
it teaches about the population. Each risk comes with a confidence interval
(Wilson score, propagated). Anonymeter is an optional dependency (extra
``audit-table``), imported when an attack runs.

The reconstruction attack is the AnoMed challenge's: an attacker who knows a
record's quasi-identifiers matches it to the nearest released row(s) and
reads off the sensitive value.
"""

from __future__ import annotations

import contextlib
import logging
import warnings
from collections.abc import Callable, Hashable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import binomtest

from .._install import install_hint
from ..tabular._checks import ColumnKind
from ._release import TOLERANCE, ReleasedCells

__all__ = [
    "ANONYMETER_MISSING",
    "TableAttackResult",
    "anonymeter_attacks",
    "anonymeter_available",
    "inference_contributions",
    "reconstruction_attack",
]

_logger = logging.getLogger(__name__)

ANONYMETER_MISSING = (
    "Anonymeter's attacks need the 'audit-table' extra: "
    f"{install_hint('audit-table')} (anonymeter pins numpy<1.27: pip moves "
    "NumPy 2 back to 1.26; to keep NumPy 2, the docs' Getting started "
    "(use audit-table-numpy2) installs anonymeter with --no-deps)"
)

# A numeric sensitive value counts as recovered within this share of the
# column's range: the emulated challenge's cell-accuracy rule.
_NUMERIC_TOLERANCE = 0.01

# Anonymeter fits its singling-out size correction on control sub-samples of
# min(1000, n) .. n rows: a single size, below this many.
_RELIABLE_CORRECTION_ROWS = 1100


@dataclass(frozen=True)
class TableAttackResult:
    """One attack's risk.

    Attributes
    ----------
    name : str
        ``singling-out-univariate``, ``singling-out-multivariate``,
        ``linkability``, ``inference`` or ``reconstruction``.
    risk : float
        The estimated risk in ``[0, 1]``.
    ci : tuple of float
        Its confidence interval (95 % unless configured otherwise).
    details : dict
        Success rates of the attack, its control and baseline, attack counts,
        and the warnings the attack raised.
    """

    name: str
    risk: float
    ci: tuple[float, float]
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """``{"name", "risk", "ci", **details}``."""
        return {
            "name": self.name,
            "risk": self.risk,
            "ci": [self.ci[0], self.ci[1]],
            **self.details,
        }


def anonymeter_available() -> bool:
    """Whether ``anonymeter`` can be imported."""
    try:
        import anonymeter.evaluators  # noqa: F401
    except ImportError:
        return False
    return True


@contextlib.contextmanager
def _seeded(seed: int) -> Iterator[None]:
    """Seed the generators Anonymeter draws from without taking a seed.

    pandas' ``sample`` falls back to NumPy's global generator and the
    singling-out correction samples with polars' global one; both are
    restored or reseeded afterwards so that nothing else depends on them.
    """
    import polars as pl

    state = np.random.get_state()
    np.random.seed(seed)
    pl.set_random_seed(seed)
    try:
        yield
    finally:
        np.random.set_state(state)


def anonymeter_attacks(
    original: pd.DataFrame,
    synthetic: pd.DataFrame,
    control: pd.DataFrame,
    *,
    sensitive: Hashable,
    linkability_columns: tuple[list[Hashable], list[Hashable]],
    n_attacks: int = 500,
    n_cols: int = 3,
    confidence_level: float = 0.95,
    seed: int = 0,
    n_jobs: int = 1,
    progress: Callable[[str], None] | None = None,
) -> list[TableAttackResult]:
    """Run Anonymeter's singling-out, linkability and inference attacks.

    Parameters
    ----------
    original : pandas.DataFrame
        The records the anonymizer was given.
    synthetic : pandas.DataFrame
        The release, in the original columns (see
        :meth:`ReleasedCells.decode`).
    control : pandas.DataFrame
        Records of the same population the anonymizer never saw.
    sensitive : Hashable
        The secret of the inference attack; every other column is the
        attacker's auxiliary knowledge.
    linkability_columns : (list, list)
        The two disjoint column sets the linkability attacker holds about the
        same people, in two separate tables.
    n_attacks : int, default 500
        Attacks per evaluation; capped at the size of the smaller of
        ``original`` and ``control`` for linkability and inference (which
        attack distinct records).
    n_cols : int, default 3
        Columns per multivariate singling-out predicate.
    confidence_level : float, default 0.95
        Of the intervals.
    seed : int, default 0
        Seeds the attacks (query generation and the sampled targets).
    n_jobs : int, default 1
        Parallel jobs of Anonymeter's nearest-neighbour searches.
    progress : callable or None
        Called with the name of each attack before it runs.

    Returns
    -------
    list of TableAttackResult
        ``singling-out-univariate``, ``singling-out-multivariate``,
        ``linkability``, ``inference``.

    Raises
    ------
    ImportError
        If anonymeter is not installed (the message names the extra).
    """
    try:
        import anonymeter.evaluators as evaluators
    except ImportError as exc:
        raise ImportError(ANONYMETER_MISSING) from exc

    # Anonymeter addresses columns by name; give it string labels.
    names = {label: str(label) for label in original.columns}
    ori, syn, ctrl = (t.rename(columns=names) for t in (original, synthetic, control))
    so_control, so_notes = _singling_out_control(ori, ctrl, seed)
    secret = names[sensitive]
    n_targets = max(1, min(n_attacks, len(ori), len(ctrl)))
    common = {"ori": ori, "syn": syn}

    def singling_out(mode: str) -> Callable[[], Any]:
        return lambda: evaluators.SinglingOutEvaluator(
            **common, control=so_control, n_attacks=n_attacks, n_cols=n_cols, seed=seed
        ).evaluate(mode=mode)

    def linkability() -> Any:
        aux = tuple([names[c] for c in part] for part in linkability_columns)
        return evaluators.LinkabilityEvaluator(
            **common, control=ctrl, aux_cols=aux, n_attacks=n_targets
        ).evaluate(n_jobs=n_jobs)

    def inference() -> Any:
        return evaluators.InferenceEvaluator(
            **common,
            control=ctrl,
            aux_cols=[c for c in ori.columns if c != secret],
            secret=secret,
            regression=_is_numeric(ori[secret]),
            n_attacks=n_targets,
        ).evaluate(n_jobs=n_jobs)

    attacks: list[tuple[str, Callable[[], Any], list[str]]] = [
        ("singling-out-univariate", singling_out("univariate"), so_notes),
        ("singling-out-multivariate", singling_out("multivariate"), so_notes),
        ("linkability", linkability, []),
        ("inference", inference, []),
    ]
    results = []
    for name, run, notes in attacks:
        if progress is not None:
            progress(name)
        results.append(_evaluate(name, run, seed, confidence_level, notes))
    return results


def inference_contributions(
    original: pd.DataFrame,
    synthetic: pd.DataFrame,
    control: pd.DataFrame,
    *,
    sensitive: Hashable,
    risk: float,
    n_attacks: int = 500,
    confidence_level: float = 0.95,
    seed: int = 0,
    n_jobs: int = 1,
) -> dict[str, float]:
    """How much each auxiliary column drives the inference risk: ``risk``
    minus the risk of the same attack (same seed) without that column, most
    first.

    Runs Anonymeter's inference attack once per auxiliary column; with a
    single auxiliary column nothing is left to compare (an empty answer).
    """
    import anonymeter.evaluators as evaluators

    names = {label: str(label) for label in original.columns}
    ori, syn, ctrl = (t.rename(columns=names) for t in (original, synthetic, control))
    secret = names[sensitive]
    aux = [c for c in ori.columns if c != secret]
    n_targets = max(1, min(n_attacks, len(ori), len(ctrl)))
    contributions = {}
    for column in aux if len(aux) > 1 else []:
        kept = [c for c in aux if c != column]
        without = _evaluate(
            "inference",
            lambda kept=kept: evaluators.InferenceEvaluator(
                ori=ori,
                syn=syn,
                control=ctrl,
                aux_cols=kept,
                secret=secret,
                regression=_is_numeric(ori[secret]),
                n_attacks=n_targets,
            ).evaluate(n_jobs=n_jobs),
            seed,
            confidence_level,
            [],
        )
        contributions[column] = risk - without.risk
    return dict(sorted(contributions.items(), key=lambda item: -item[1]))


def _is_numeric(column: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(
        column
    )


def _singling_out_control(
    ori: pd.DataFrame, ctrl: pd.DataFrame, seed: int
) -> tuple[pd.DataFrame, list[str]]:
    """The control set for singling out, and a note if its size biases it.

    Singling out compares success rates on tables of equal size; Anonymeter
    corrects for a smaller control set by a fit on its sub-samples of 1000
    rows or more, which is degenerate on smaller ones. A larger control set
    is cut to size instead (its records are all non-members).
    """
    if len(ctrl) > len(ori):
        return ctrl.sample(n=len(ori), random_state=seed), []
    if len(ctrl) < len(ori) and len(ctrl) <= _RELIABLE_CORRECTION_ROWS:
        return ctrl, [
            f"the control set ({len(ctrl)} records) is smaller than the released "
            f"one ({len(ori)}): Anonymeter's size correction is unreliable below "
            f"{_RELIABLE_CORRECTION_ROWS} control records; hold out half "
            "(control_fraction=0.5) for an unbiased singling-out risk"
        ]
    return ctrl, []


def _evaluate(
    name: str,
    run: Callable[[], Any],
    seed: int,
    confidence_level: float,
    notes: list[str],
) -> TableAttackResult:
    """Run one evaluator, seeded, collecting what it warns about."""
    with (
        _seeded(seed),
        _anonymeter_log() as logged,
        warnings.catch_warnings(record=True) as caught,
    ):
        warnings.simplefilter("always")
        evaluator = run()
        outcome = evaluator.results(confidence_level=confidence_level)
        risk = outcome.risk()
    messages = logged + [str(w.message) for w in caught] + notes
    result = _result(name, risk, outcome, messages)
    if name.startswith("singling-out"):
        result.details["columns"] = _query_columns(evaluator)
    _logger.debug("%s: risk %.3f %s", name, result.risk, result.ci)
    return result


def _query_columns(evaluator: Any) -> dict[str, int]:
    """In how many of the attack's *successful* singling-out queries each
    column appears (most first): the columns that single records out."""
    counts: dict[str, int] = {}
    for query in evaluator.queries():
        try:
            columns = set(query.meta.root_names())  # a polars expression
        except AttributeError:  # an older Anonymeter: pandas query strings
            continue
        for column in columns:
            counts[column] = counts.get(column, 0) + 1
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@contextlib.contextmanager
def _anonymeter_log() -> Iterator[list[str]]:
    """Collect what Anonymeter logs as warnings (such as too few singling-out
    queries), for the report, instead of printing it."""
    logger = logging.getLogger("anonymeter")
    handler = _Collect()
    logger.addHandler(handler)
    propagate, logger.propagate = logger.propagate, False
    try:
        yield handler.messages
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate


def _result(name: str, risk: Any, outcome: Any, caught: list[str]) -> TableAttackResult:
    def rate(success_rate: Any) -> float | None:
        return None if success_rate is None else float(success_rate.value)

    details: dict[str, Any] = {
        "attack_rate": rate(outcome.attack_rate),
        "control_rate": rate(outcome.control_rate),
        "baseline_rate": rate(outcome.baseline_rate),
        "n_attacks": int(outcome.n_attacks_ori),
    }
    messages = sorted(set(caught))
    if messages:
        details["warnings"] = messages
    return TableAttackResult(
        name=name,
        risk=float(risk.value),
        ci=(float(risk.ci[0]), float(risk.ci[1])),
        details=details,
    )


def reconstruction_attack(
    cells: ReleasedCells,
    decoded: pd.DataFrame,
    original: pd.DataFrame,
    control: pd.DataFrame | None,
    quasi_identifiers: Sequence[Hashable],
    sensitive: Hashable,
    kind: ColumnKind,
    confidence_level: float = 0.95,
) -> TableAttackResult:
    """Recover the sensitive column from the quasi-identifiers through the release.

    For each original record, the released rows nearest to it on the
    quasi-identifiers (distance 0 when the record lies inside a row's ranges
    and sets; every row at the smallest distance) vote on its sensitive
    value: the most common value among them, or their median for a numeric
    column. A guess is right when it equals the true value (numeric: within
    1 % of the column's range, the challenge's rule).

    The risk is the accuracy beyond the base rate -- the accuracy of
    guessing, for everyone, the release's most common (median) sensitive
    value -- normalized like Anonymeter's: ``(accuracy - base) / (1 -
    base)``, clipped to ``[0, 1]``; its interval maps the Wilson interval of
    the accuracy the same way. ``control_accuracy`` is the same attack on
    the control records, which the release does not contain.

    Parameters
    ----------
    cells : ReleasedCells
        The release.
    decoded : pandas.DataFrame
        The release in the original columns (one record per released row),
        whose sensitive column holds the values the rows vote with.
    original, control : pandas.DataFrame
        The anonymizer's input and the held-out records (``None``: none).
    quasi_identifiers : sequence of Hashable
        What the attacker knows.
    sensitive : Hashable
        What the attacker recovers.
    kind : {"numeric", "nominal"}
        The sensitive column's kind.
    confidence_level : float, default 0.95
        Of the interval.

    Returns
    -------
    TableAttackResult
        Named ``reconstruction``; details hold ``accuracy``, ``base_rate``,
        ``control_accuracy`` and ``n_attacks``.
    """
    guesser = _Guesser(cells, list(quasi_identifiers), decoded[sensitive], kind)
    population = [original] if control is None else [original, control]
    if kind == "numeric":
        every = pd.concat([t[sensitive] for t in population]).to_numpy(np.float64)
        tolerance = _NUMERIC_TOLERANCE * (float(np.ptp(every)) or 1.0)

    def correct(guess: np.ndarray, table: pd.DataFrame) -> np.ndarray:
        secret = table[sensitive]
        if kind == "numeric":
            return np.abs(guess - secret.to_numpy(dtype=np.float64)) <= tolerance
        return np.asarray(secret.astype(str).to_numpy() == guess, dtype=bool)

    hits = correct(guesser.guess(original), original)
    base = float(np.mean(correct(np.full(len(original), guesser.base), original)))
    n_hits, n = int(hits.sum()), len(hits)
    interval = binomtest(n_hits, n).proportion_ci(confidence_level, method="wilson")

    def beyond(rate: float) -> float:
        return 0.0 if base >= 1 else float(np.clip((rate - base) / (1 - base), 0, 1))

    details: dict[str, Any] = {
        "accuracy": n_hits / n,
        "base_rate": base,
        "control_accuracy": (
            None
            if control is None or not len(control)
            else float(np.mean(correct(guesser.guess(control), control)))
        ),
        "n_attacks": n,
    }
    return TableAttackResult(
        name="reconstruction",
        risk=beyond(n_hits / n),
        ci=(beyond(interval.low), beyond(interval.high)),
        details=details,
    )


class _Guesser:
    """Guesses a record's sensitive value from the released rows nearest to it
    on the quasi-identifiers (majority vote, or median for numbers)."""

    def __init__(
        self,
        cells: ReleasedCells,
        columns: list[Hashable],
        released: pd.Series,
        kind: ColumnKind,
    ) -> None:
        self.cells, self.columns, self.numeric = cells, columns, kind == "numeric"
        released = released.reset_index(drop=True)
        if self.numeric:
            self.values = pd.to_numeric(released, errors="coerce").to_numpy(
                dtype=np.float64
            )
            #: The guess that knows nothing about the record: the median.
            self.base: Any = float(np.nanmedian(self.values))
        else:
            text = released.astype(str).to_numpy()
            self.labels, codes = np.unique(text, return_inverse=True)
            self.one_hot = np.eye(len(self.labels))[codes.reshape(-1)]
            #: The guess that knows nothing about the record: the most common.
            self.base = self.labels[np.argmax(self.one_hot.sum(axis=0))]

    def guess(self, table: pd.DataFrame) -> np.ndarray:
        encoded = self.cells.encode(table, self.columns)
        out = np.empty(len(table), dtype=np.float64 if self.numeric else object)
        for rows in self.cells.chunks(len(table)):
            d = self.cells.distances(encoded, self.columns, rows)
            tied = d <= d.min(axis=1, keepdims=True) + TOLERANCE
            if self.numeric:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows
                    candidates = np.where(tied, self.values[None, :], np.nan)
                    out[rows] = np.nanmedian(candidates, axis=1)
            else:
                votes = tied.astype(np.float64) @ self.one_hot
                out[rows] = self.labels[np.argmax(votes, axis=1)]
        return out
