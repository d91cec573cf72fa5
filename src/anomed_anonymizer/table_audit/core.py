"""Audit a table anonymizer, or a release: the entry points."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Hashable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..tabular import SCHEMES
from ..tabular._checks import ColumnKind, check_table
from ._release import ReleasedCells, column_spans
from .attacks import (
    ANONYMETER_MISSING,
    anonymeter_attacks,
    anonymeter_available,
    inference_contributions,
    reconstruction_attack,
)
from .guidance import BELOW, interval_verdict, risk_guidance
from .guidance import search_k as search_larger_k
from .report import TableAudit
from .risk import reidentification_risk
from .utility import release_utility

__all__ = ["audit_release", "audit_table", "split_control"]

_logger = logging.getLogger(__name__)

Progress = Callable[[str], None]


def _given_or_named(
    given: Any, anonymizer: object, attribute: str, lacking: str
) -> Any:
    """``given``, else the anonymizer's ``attribute``; neither: a ValueError
    saying "<class> names no <lacking>"."""
    if given is not None:
        return given
    named = getattr(anonymizer, attribute, None)
    if named is None:
        raise ValueError(f"{type(anonymizer).__name__} names no {lacking}")
    return named


def split_control(
    table: pd.DataFrame, control_fraction: float = 0.5, seed: int = 0
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Hold out a random share of ``table`` as Anonymeter's control set.

    Parameters
    ----------
    table : pandas.DataFrame
        The leaky table.
    control_fraction : float, default 0.5
        The share held out, in ``[0, 0.9]``, rounded up to whole rows (so an
        even split of an odd table holds out the extra row).
    seed : int, default 0
        Seeds the draw.

    Returns
    -------
    (original, control) : tuple of pandas.DataFrame
        The records the anonymizer gets (in their order) and the held-out
        ones, both with a fresh ``RangeIndex``.

    Examples
    --------
    >>> import pandas as pd
    >>> original, control = split_control(pd.DataFrame({"x": range(11)}))
    >>> len(original), len(control)
    (5, 6)
    """
    if not 0 <= control_fraction <= 0.9:
        raise ValueError(
            f"control_fraction must be between 0 and 0.9, got {control_fraction}"
        )
    n_control = math.ceil(round(control_fraction * len(table), 9))
    control = table.sample(n=n_control, random_state=seed)
    original = table.drop(index=control.index)
    return original.reset_index(drop=True), control.reset_index(drop=True)


def audit_table(
    anonymizer: Any,
    table: pd.DataFrame,
    *,
    quasi_identifiers: Sequence[Hashable] | None = None,
    sensitive: Hashable | None = None,
    control_fraction: float = 0.5,
    seed: int = 0,
    progress: Progress | None = None,
    search_k: int = 3,
    **options: Any,
) -> TableAudit:
    """Anonymize ``table`` with ``anonymizer`` and audit the release.

    A share of the rows (``control_fraction``) is held out: the anonymizer
    never sees it, Anonymeter compares its attacks on the released records
    with the same attacks on these, and together with the released records
    it forms the population of the journalist and marketer models.

    Parameters
    ----------
    anonymizer : TabularDataAnonymizer
        An unfitted anonymizer: any object with ``anonymize(table) ->
        (release, scheme)``.
    table : pandas.DataFrame
        The leaky table.
    quasi_identifiers : sequence of Hashable or None
        The columns an attacker knows. ``None`` takes the anonymizer's
        ``quasi_identifiers`` attribute (Mondrian has one).
    sensitive : Hashable or None
        The column attackers try to recover. ``None`` takes the anonymizer's
        ``sensitive_column`` attribute.
    control_fraction : float, default 0.5
        Share of ``table`` held out as control records; ``0`` holds out none
        (Anonymeter's attacks are skipped then). An even split lets
        Anonymeter compare the released and the control records at equal
        size; with fewer control records it scales their singling-out
        success by a fit that needs well over 1000 of them.
    seed : int, default 0
        Seeds the split, the decoding of ranges and the attacks.
    progress : callable or None
        Called with a short description before each step.
    search_k : int, default 3
        Where a risk is not wholly below the threshold and the anonymizer
        has a ``k`` (scikit-learn ``get_params``, as Mondrian and MDAV), try
        up to this many doublings of ``k`` on the same records, auditing each
        release the same way, and name the first ``k`` that brings each risk
        below the threshold (:func:`~.guidance.search_k`; the report's
        ``guidance`` and ``k_search``); ``0`` skips it.
    **options
        Passed to :func:`audit_release` (``threshold``, ``n_attacks``,
        ``n_cols``, ``linkability_columns``, ``attacks``, ``n_jobs``).

    Returns
    -------
    TableAudit

    Raises
    ------
    TypeError
        If ``anonymizer`` has no ``anonymize`` method.
    ValueError
        If the quasi-identifiers or the sensitive column are missing or
        invalid, or the anonymizer returns something that is not a release
        (the message says what).
    """
    if not callable(getattr(anonymizer, "anonymize", None)):
        raise TypeError(
            f"{type(anonymizer).__name__} is not a table anonymizer: it needs a "
            "method anonymize(table) -> (release, scheme), e.g. an instance of "
            "MondrianKAnonymizer"
        )
    quasi_identifiers = _given_or_named(
        quasi_identifiers,
        anonymizer,
        "quasi_identifiers",
        "quasi-identifiers; pass quasi_identifiers (the columns an attacker knows)",
    )
    sensitive = _given_or_named(
        sensitive,
        anonymizer,
        "sensitive_column",
        "sensitive column; pass sensitive (the column attackers try to recover)",
    )
    _check_columns(table, quasi_identifiers, sensitive)  # before the slow part
    original, control = split_control(table, control_fraction, seed)
    _step(progress, f"anonymize {len(original)} records")
    started = time.perf_counter()
    result = anonymizer.anonymize(original.copy())
    if not (isinstance(result, tuple) and len(result) == 2):
        raise ValueError(
            f"{type(anonymizer).__name__}.anonymize returned {type(result).__name__}; "
            "expected a tuple (release, scheme)"
        )
    release, scheme = result
    _logger.debug(
        "anonymized %d records in %.1f s (scheme %s)",
        len(original),
        time.perf_counter() - started,
        scheme,
    )
    common = {
        "control": control if len(control) else None,
        "quasi_identifiers": quasi_identifiers,
        "sensitive": sensitive,
        "seed": seed,
        **options,
    }
    audit = audit_release(
        original,
        release,
        scheme,
        progress=progress,
        anonymizer=_describe(anonymizer),
        **common,
    )
    k = _k_of(anonymizer)
    failing = [g.risk for g in audit.guidance if g.verdict != BELOW]
    k_search = None
    if failing and k is not None and search_k > 0:
        _step(progress, f"try larger k for {', '.join(failing)}")
        k_search = search_larger_k(
            anonymizer,
            original,
            audit_release,
            audit.threshold,
            failing,
            search_k,
            {**common, "contributions": False},
        )
        audit.k_search = k_search
    audit.guidance = risk_guidance(
        audit, audit.threshold, anonymizer_k=k, k_search=k_search
    )
    return audit


def _k_of(anonymizer: Any) -> int | None:
    """The anonymizer's ``k`` (a scikit-learn parameter), if it has one."""
    get_params = getattr(anonymizer, "get_params", None)
    if not callable(get_params):
        return None
    try:
        k = get_params().get("k")
    except (TypeError, ValueError, AttributeError):  # no k to search
        return None
    return k if isinstance(k, int) and not isinstance(k, bool) else None


def audit_release(
    original: pd.DataFrame,
    release: pd.DataFrame,
    scheme: str,
    *,
    quasi_identifiers: Sequence[Hashable],
    sensitive: Hashable,
    control: pd.DataFrame | None = None,
    threshold: float = 0.1,
    n_attacks: int = 500,
    n_cols: int = 3,
    linkability_columns: tuple[Sequence[Hashable], Sequence[Hashable]] | None = None,
    attacks: bool = True,
    seed: int = 0,
    n_jobs: int = 1,
    progress: Progress | None = None,
    anonymizer: str = "",
    contributions: bool = True,
) -> TableAudit:
    """Audit a release of ``original``.

    Parameters
    ----------
    original : pandas.DataFrame
        The table the anonymizer released.
    release : pandas.DataFrame
        What it released.
    scheme : {"same", "generalization", "microaggregation"}
        The release's scheme.
    quasi_identifiers : sequence of Hashable
        The columns an attacker knows.
    sensitive : Hashable
        The column attackers try to recover; not a quasi-identifier.
    control : pandas.DataFrame or None
        Records of the same population the anonymizer never saw, with the
        columns of ``original``. Without them Anonymeter's attacks are
        skipped and journalist risk equals prosecutor risk.
    threshold : float, default 0.1
        Record risk above which a record is at risk.
    n_attacks : int, default 500
        Anonymeter's attacks per evaluation.
    n_cols : int, default 3
        Columns per multivariate singling-out predicate.
    linkability_columns : (columns, columns) or None
        The two column sets of the linkability attack. ``None``: the
        quasi-identifiers against every other column but the sensitive one.
    attacks : bool, default True
        Run Anonymeter's attacks (slow); the reconstruction attack always
        runs.
    seed : int, default 0
        Seeds the decoding of ranges and the attacks.
    n_jobs : int, default 1
        Parallel jobs of Anonymeter's neighbour searches.
    progress : callable or None
        Called with a short description before each step.
    anonymizer : str
        A description of what made the release, for the report.
    contributions : bool, default True
        Where the inference risk is not wholly below ``threshold``, rerun the
        inference attack once per auxiliary column left out (what each column
        contributes; :func:`~.attacks.inference_contributions`).

    Returns
    -------
    TableAudit

    Raises
    ------
    ValueError
        If a column is missing, of an unsupported dtype or holds missing
        values, if the sensitive column is a quasi-identifier, if the scheme
        is unknown, or if the release does not follow it.
    """
    kinds, qis = _check_columns(original, quasi_identifiers, sensitive)
    if scheme not in SCHEMES:
        raise ValueError(
            f"unknown scheme {scheme!r}: expected one of {', '.join(SCHEMES)}"
        )
    if not isinstance(release, pd.DataFrame):
        raise ValueError(
            f"the release must be a DataFrame, got {type(release).__name__}"
        )
    if control is not None:
        control = _check_control(control, original, kinds)
    split = None
    if attacks and control is not None:  # checked before the slow part
        split = _linkability_split(linkability_columns, original, qis, sensitive)
    population = [original] if control is None else [original, control]
    cells = ReleasedCells(release, scheme, kinds, column_spans(population, kinds))

    _step(progress, "re-identification risk")
    risk = reidentification_risk(cells, original, control, qis, threshold)
    _step(progress, "utility")
    utility, marginals = release_utility(original, release, scheme, cells)
    decoded = cells.decode(original, np.random.default_rng(seed))

    skipped = _anonymeter_skipped(attacks, control)
    results = []
    if skipped is None:
        results += anonymeter_attacks(
            original,
            decoded,
            control,
            sensitive=sensitive,
            linkability_columns=split,
            n_attacks=n_attacks,
            n_cols=min(n_cols, original.shape[1]),
            seed=seed,
            n_jobs=n_jobs,
            progress=(lambda name: _step(progress, f"attack: {name}")),
        )
        inference = next(r for r in results if r.name == "inference")
        if contributions and interval_verdict(inference.ci, threshold) != BELOW:
            _step(progress, "attack: inference, one column left out at a time")
            inference.details["column_contributions"] = inference_contributions(
                original,
                decoded,
                control,
                sensitive=sensitive,
                risk=inference.risk,
                n_attacks=n_attacks,
                seed=seed,
                n_jobs=n_jobs,
            )
    _step(progress, "attack: reconstruction")
    results.append(
        reconstruction_attack(
            cells, decoded, original, control, qis, sensitive, kinds[sensitive]
        )
    )
    audit = TableAudit(
        n_rows=len(original),
        scheme=scheme,
        quasi_identifiers=qis,
        sensitive=sensitive,
        risk=risk,
        attacks=results,
        utility=utility,
        marginals=marginals,
        n_control=0 if control is None else len(control),
        n_released=len(release),
        anonymizer=anonymizer,
        notes=[] if skipped is None else [skipped],
        threshold=threshold,
    )
    audit.guidance = risk_guidance(audit, threshold)
    return audit


def _anonymeter_skipped(attacks: bool, control: pd.DataFrame | None) -> str | None:
    """Why Anonymeter's attacks do not run, or ``None`` if they do."""
    if not attacks:
        return "Anonymeter's attacks were not run (attacks=False)."
    if control is None:
        return (
            "Anonymeter's attacks were skipped: they need control records the "
            "anonymizer never saw."
        )
    if not anonymeter_available():
        return f"Anonymeter's attacks were skipped. {ANONYMETER_MISSING}"
    return None


def _step(progress: Progress | None, message: str) -> None:
    # Logged for library users; a command line shows its own progress.
    if progress is None:
        _logger.info("audit: %s", message)
    else:
        progress(message)


def _describe(anonymizer: Any) -> str:
    text = " ".join(repr(anonymizer).split())
    if text.startswith("<"):  # object.__repr__ says nothing useful
        return type(anonymizer).__name__
    return text  # whole: the report's heading wraps it, never cuts it


def _check_columns(
    original: pd.DataFrame,
    quasi_identifiers: Sequence[Hashable],
    sensitive: Hashable,
) -> tuple[dict[Hashable, ColumnKind], list[Hashable]]:
    checked = check_table(
        original, quasi_identifiers, parameter="quasi_identifiers", check_others=True
    )
    qis = [label for label in checked if label in set(_labels(quasi_identifiers))]
    if sensitive not in original.columns:
        raise ValueError(f"sensitive column {sensitive!r} is not a column of the table")
    if sensitive in qis:
        raise ValueError(
            f"sensitive column {sensitive!r} is also a quasi-identifier; an "
            "attacker recovers it, so it cannot be what they know"
        )
    kinds = {label: checked[label] for label in original.columns}
    return kinds, qis


def _labels(columns: Sequence[Hashable] | Hashable) -> list[Hashable]:
    if isinstance(columns, str) or not isinstance(columns, Sequence):
        return [columns]
    return list(columns)


def _check_control(
    control: pd.DataFrame, original: pd.DataFrame, kinds: dict[Hashable, ColumnKind]
) -> pd.DataFrame:
    missing = [c for c in original.columns if c not in control.columns]
    if missing:
        raise ValueError(f"the control records lack columns {missing}")
    control = control[list(original.columns)].reset_index(drop=True)
    if len(control):
        checked = check_table(
            control, list(original.columns), parameter="control columns"
        )
        wrong = [c for c in kinds if checked[c] != kinds[c]]
        if wrong:
            raise ValueError(
                f"control columns {wrong} are of another kind than in the table"
            )
    return control


def _linkability_split(
    columns: tuple[Sequence[Hashable], Sequence[Hashable]] | None,
    original: pd.DataFrame,
    qis: list[Hashable],
    sensitive: Hashable,
) -> tuple[list[Hashable], list[Hashable]]:
    if columns is None:
        rest = [c for c in original.columns if c not in set(qis) and c != sensitive]
        if rest:
            return list(qis), rest
        if len(qis) < 2:
            raise ValueError(
                "the linkability attack needs two disjoint column sets; with one "
                "quasi-identifier and no other column there are none"
            )
        return list(qis[: len(qis) // 2]), list(qis[len(qis) // 2 :])
    first, second = (list(_labels(part)) for part in columns)
    unknown = [c for c in first + second if c not in original.columns]
    if unknown:
        raise ValueError(f"linkability_columns name columns the table lacks: {unknown}")
    if not first or not second or set(first) & set(second):
        raise ValueError(
            "linkability_columns must be two non-empty, disjoint column sets"
        )
    return first, second
