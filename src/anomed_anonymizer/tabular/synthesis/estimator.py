"""DPSynthesizer: the estimator that ties domains, budget and synthesizer together."""

from __future__ import annotations

import logging
import time
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError

from ...models.tabular import TabularDataAnonymizer
from .._checks import check_int, check_table, numeric_values
from .budget import (
    BudgetRecord,
    Step,
    bounds_step,
    public_assumptions,
    row_count_uses,
    selection_step,
)
from .domains import (
    DTYPE,
    BinnedCodec,
    CategoricalCodec,
    Codec,
    DtypeCategories,
    Role,
    check_declared_domains,
    implicit_categories,
    numeric_categories,
    observed_codes,
)
from .params import (
    check_budget_shares,
    check_delta,
    check_other_category,
    check_positive,
    check_random_state,
    check_synthesizer,
    column_roles,
)
from .selection import Selection, select_categories
from .smartnoise import estimate_bounds, fit_and_sample, import_snsynth, library_version
from .utility import synthetic_utility

__all__ = ["DPSynthesizer"]

_logger = logging.getLogger(__name__.rsplit(".", 1)[0])

# The share of delta the category selection takes when it runs; the
# synthesizer gets the rest. Both depend on delta only through log(1/delta),
# so an even split costs either little.
_SELECTION_DELTA_SHARE = 0.5


class DPSynthesizer(TabularDataAnonymizer, BaseEstimator):
    """Release a synthetic table that is (epsilon, delta)-differentially private.

    A marginal-based synthesizer of SmartNoise Synth -- MST (McKenna, Miklau
    & Sheldon 2021, the winner of the 2018 NIST synthetic data challenge) or
    AIM (McKenna et al. 2022) -- measures noisy one- and two-way marginals of
    the table, fits a graphical model to them and samples new rows from it.
    Every released value is a function of differentially private steps only,
    plus the public assumptions listed in the Notes, so the release is
    differentially private with respect to adding or removing one row.

    Parameters
    ----------
    epsilon : float, default 1.0
        The *total* privacy budget, every step included; must be > 0.
    delta : float or None, default None
        The delta of the (epsilon, delta) guarantee, in ``(0, 1)``, every step
        included. ``None`` takes ``1 / n ** 1.5`` for a table of ``n`` rows,
        the value the library recommends.
    synthesizer : {"mst", "aim"}, default "mst"
        The SmartNoise Synth synthesizer. MST is fast (seconds); AIM adapts
        which marginals it measures and is often more accurate, but several
        times slower.
    preprocessor_eps : float or None, default None
        The part of ``epsilon`` spent on estimating the bounds of binned
        columns without a declared range, split evenly between them. ``None``
        takes ``0.2 * epsilon`` when some column needs it. Nothing is spent
        when every binned column has a declared range, whatever this says.
    categorical_columns : sequence of Hashable or None, default None
        Numeric columns to treat as categorical (codes, small counts such as a
        number of children) instead of binning them. Bool, string and
        categorical columns are always categorical.
    continuous_columns : sequence of Hashable or None, default None
        Numeric columns to bin; by default every numeric column that is not in
        ``categorical_columns``. Listing a non-numeric column is an error.
    bounds : mapping of Hashable to (float, float) or None, default None
        Declared ``(lower, upper)`` ranges of binned columns; the same as
        giving them in ``domains`` (kept for compatibility).
    n_bins : int, default 10
        The number of equal-width bins of every binned numeric column.
    max_categories : int, default 100
        The most categories a categorical column may have: a larger declared
        domain is an error, and the private selection keeps at most this many
        (those with the largest noisy counts).
    n_rows : int or None, default None
        The number of synthetic rows; ``None`` takes the input's row count.
    random_state : int or None, default None
        Seeds what can be seeded: see Notes, *Reproducibility*.
    domains : mapping of Hashable to domain or None, default None
        Public knowledge about columns, from a codebook rather than from the
        data: for a categorical column the collection of its categories (a
        list or set), for a binned numeric column its ``(lower, upper)``
        range, e.g. ``{"diagnosis": ["flu", "cold", "HIV"], "age": (0,
        120)}``; for a pandas categorical also ``"dtype"``, which declares
        the categories of its dtype public (they are a codebook, not derived
        from the data). Used as given and free of budget; see Notes for
        values outside them.
    selection_eps : float or None, default None
        The part of ``epsilon`` spent on choosing the categories of
        categorical columns without a declared domain (pandas categoricals
        included; bool columns excepted, their dtype fixes it), split evenly
        between them. ``None`` takes ``0.3 * epsilon`` when some column needs
        it.
    other_category : str, default "other"
        The value that stands for "outside the domain" in string columns.

    Attributes
    ----------
    domains_ : dict
        Set by :meth:`anonymize`: the domain each column was synthesized on
        (a list of categories, without the "other" one, or a ``(lower,
        upper)`` range), whether declared, fixed by the dtype or chosen
        privately. Public or differentially private.
    report_ : dict
        Set by :meth:`anonymize`. The budget: ``"epsilon"`` and ``"delta"``
        (as requested), ``"epsilon_spent"`` and ``"delta_spent"`` (their sum
        over the steps), ``"epsilon_preprocessing"`` (bounds),
        ``"epsilon_selection"`` and ``"delta_selection"`` (categories),
        ``"epsilon_synthesizer"`` and ``"delta_synthesizer"``; the release:
        ``"synthesizer"``, ``"n_rows"``, ``"n_rows_input"``, ``"columns"`` (as
        in :meth:`budget_record`), ``"fit_seconds"``; and its utility,
        comparing input and output: ``"tvd"`` (per column, the total
        variation distance of the two marginal distributions, in ``[0, 1]``;
        categorical columns on their values, binned ones on their bins),
        ``"mean_tvd"``, ``"max_tvd"``, ``"mean_pairwise_tvd"`` (the mean TVD
        of the two-way marginals of all column pairs; ``None`` for one
        column), ``"max_abs_correlation_difference"`` and
        ``"mean_abs_correlation_difference"`` (between the Pearson
        correlations of the binned columns' bins; ``None`` for fewer than
        two). Column names are keys as ``str(label)``.

    Notes
    -----
    **The "same" representation.** The output has the input's columns, in the
    input's order, with the input's dtypes (a pandas categorical's categories
    aside, see below), and ``n_rows`` rows with a fresh
    ``RangeIndex``: the rows are synthetic, none stands for an input row, and
    they come in random order. A categorical column holds values of its
    domain, or ``other_category`` (unless numeric); a binned column holds
    values drawn uniformly within a bin, inside its bounds; integer columns
    are rounded (and kept within their dtype's range), bool columns stay
    bool. A pandas categorical stays categorical (with the input's
    ``ordered``), but its dtype holds the published categories only: those
    of its domain, in the domain's order, then ``other_category`` unless its
    categories are numbers; the input's dtype itself where it is declared
    ``"dtype"``.

    **Domains: declared or private.** The synthesizer may only emit values of
    a domain that does not depend on the data beyond what the budget paid for:

    - *Declared* (``domains``, ``bounds``): used as given, free of budget. A
      string value outside its declared categories becomes
      ``other_category``; a number outside a numeric column's declared
      categories becomes the nearest declared one; a number outside a
      declared range is clipped to it. The synthesizer measures "other" and
      "clipped" like any category, so the share of them in the output
      (``outside_share`` in the record) is a differentially private estimate;
      no exact count of out-of-domain values is released anywhere.
    - *Fixed by the dtype*: bool columns (``False``, ``True``), and pandas
      categoricals declared ``domains={label: "dtype"}`` (their dtype's
      categories, unused ones included, as the output's dtype).
    - *Private*, for every other column, pandas categoricals included: their
      categories may come from the data (``astype("category")`` takes the
      values that occur, a one-row value with them), and the data cannot
      tell such a dtype from a codebook (a column converted, then filtered,
      has unused categories as a codebook does; a codebook may occur in
      full), so an undeclared one is taken as private and logged as a
      warning that says how to declare it. Categories: each observed value is
      kept if its count plus discrete Laplace noise reaches a threshold
      (:mod:`anomed_anonymizer.tabular.synthesis.selection` derives it from
      the step's epsilon and delta: about ``1 + ln(1/delta) / epsilon``
      rows), so a value held by few rows is dropped with high probability;
      the values not kept become ``other_category`` (numbers: the nearest kept
      value; a numeric column with no kept value is an error). Bounds:
      SmartNoise's ``approx_bounds``, a pure-epsilon estimate whose bounds are
      powers of two and which clips sparse tails.

    **Budget accounting.** Up to three steps spend budget and compose
    sequentially: the bounds (``preprocessor_eps``, delta 0), the categories
    (``selection_eps`` and half of ``delta``) and the synthesizer, which gets
    the rest of both; MST and AIM turn it into a zCDP budget for their
    Gaussian measurements. So the steps add up to the requested (epsilon,
    delta); :meth:`budget_record` lists them.

    **Public assumptions.** The guarantee covers the table's contents given
    what is public: the column names and dtypes (but not the categories of
    undeclared pandas categoricals), declared domains, the categories that
    dtypes fix (bool, categoricals declared ``"dtype"``), ``other_category``
    and, unless ``synthesizer="aim"`` with ``n_rows`` and ``delta`` given,
    the row count (MST uses it as its known total; the default ``n_rows``
    and ``delta`` derive from it). :meth:`budget_record` lists those that
    applied, and names the categoricals whose categories were private.

    **Reproducibility.** All privacy noise -- the bounds' Laplace histogram,
    the selection's discrete Laplace counts, MST's and AIM's Gaussian
    measurements -- is drawn by OpenDP from a cryptographically secure
    generator that cannot be seeded (deliberately: predictable noise would
    not protect anyone). So two releases differ even with the same
    ``random_state``. ``random_state`` fixes everything else: NumPy's global
    generator while SmartNoise runs (MST's and AIM's exponential-mechanism
    choice of marginals, MST's spreading of merged categories, the sampling
    of rows; saved and restored afterwards), the order of the output rows and
    the placing of numbers within their bins. Given the same noisy
    measurements, the release is then identical. A publicly known seed makes
    the exponential mechanism's choice predictable, so leave it ``None`` for
    a real release: then NumPy's global generator is seeded from fresh OS
    entropy for the call (and restored afterwards), so that a
    ``np.random.seed`` elsewhere in the program does not reach the
    mechanism either. Seeding the global generator is not thread-safe: other
    threads drawing from ``np.random`` meanwhile see (and shift) the seeded
    stream.

    **The report is not private.** The utility figures of ``report_`` compare
    the output with the private input; they are for the data owner. Publish
    :meth:`budget_record`, which holds only the budget and public or DP
    facts.

    Examples
    --------
    >>> from anomed_anonymizer.emulator import adult_like
    >>> table = adult_like(3000)[["age", "education", "sex", "hours-per-week"]]
    >>> synth = DPSynthesizer(
    ...     epsilon=1.0,
    ...     domains={"age": (0, 120), "sex": ["Female", "Male"]},
    ... )
    >>> anon, scheme = synth.anonymize(table)  # doctest: +SKIP
    >>> scheme, anon.dtypes.equals(table.dtypes)  # doctest: +SKIP
    ('same', True)
    >>> set(anon["sex"]) <= {"Female", "Male", "other"}  # doctest: +SKIP
    True
    >>> [step["step"] for step in synth.budget_record()["steps"]]  # doctest: +SKIP
    ['bounds', 'categories', 'synthesizer']
    """

    def __init__(
        self,
        epsilon: float = 1.0,
        delta: float | None = None,
        synthesizer: Literal["mst", "aim"] = "mst",
        preprocessor_eps: float | None = None,
        categorical_columns: Sequence[Hashable] | None = None,
        continuous_columns: Sequence[Hashable] | None = None,
        bounds: Mapping[Hashable, tuple[float, float]] | None = None,
        n_bins: int = 10,
        max_categories: int = 100,
        n_rows: int | None = None,
        random_state: int | None = None,
        domains: Mapping[Hashable, Any] | None = None,
        selection_eps: float | None = None,
        other_category: str = "other",
    ) -> None:
        self.epsilon = epsilon
        self.delta = delta
        self.synthesizer = synthesizer
        self.preprocessor_eps = preprocessor_eps
        self.categorical_columns = categorical_columns
        self.continuous_columns = continuous_columns
        self.bounds = bounds
        self.n_bins = n_bins
        self.max_categories = max_categories
        self.n_rows = n_rows
        self.random_state = random_state
        self.domains = domains
        self.selection_eps = selection_eps
        self.other_category = other_category

    def anonymize(self, table: pd.DataFrame) -> tuple[pd.DataFrame, Literal["same"]]:
        """Fit the synthesizer on ``table`` and sample a synthetic table.

        Parameters
        ----------
        table : pandas.DataFrame
            The private table: at least two rows; numeric (int or float),
            bool, string or categorical columns without missing or infinite
            values.

        Returns
        -------
        anon_table : pandas.DataFrame
            The synthetic table, in the representation the class docstring
            describes.
        scheme : {"same"}
            The representation of ``anon_table``.

        Raises
        ------
        TypeError
            If ``table`` is not a DataFrame.
        ValueError
            If the table is empty or has a single row; if a column has an
            unsupported dtype (datetime, timedelta, complex, objects of mixed
            types: the message names the column), missing values (the message
            names the column and the count) or infinite values; if a
            parameter is out of range (the message names it): ``epsilon <=
            0``, ``delta`` not in ``(0, 1)``, ``preprocessor_eps`` and
            ``selection_eps`` not leaving at least 0.01 of ``epsilon``,
            unknown ``synthesizer``, bad ``bounds``, ``domains``, ``n_bins``,
            ``max_categories``, ``n_rows``, ``random_state`` or
            ``other_category``, column lists naming missing, non-numeric or
            doubly listed columns; if a private step fails (bounds: too few
            rows for their budget; categories: no value of a numeric column
            kept; the message names the column and what to change).
        ImportError
            If ``smartnoise-synth`` is not installed.
        """
        settings = self._settings(table)
        snsynth = import_snsynth()
        started = time.perf_counter()
        codecs, steps = _private_domains(snsynth, table, settings)
        labels = list(table.columns)
        eps_spent = sum(step.epsilon for step in steps)
        delta_spent = sum(step.delta for step in steps)
        budget = (settings.epsilon - eps_spent, settings.delta - delta_spent)
        sample, eps_synth = fit_and_sample(
            snsynth,
            settings.synthesizer,
            [codecs[c].encode(table[c]) for c in labels],
            [codecs[c].n_codes for c in labels],
            budget,
            settings.n_out,
            settings.random_state,
        )
        anon = _decode(table.columns, codecs, sample, settings.random_state)
        steps.append(Step("synthesizer", settings.synthesizer, eps_synth, budget[1]))
        self.domains_ = {c: codecs[c].domain() for c in labels}
        self._record = settings.record(steps, codecs)
        self.report_: dict[str, Any] = {
            **_budget_report(self._record),
            "n_rows_input": len(table),
            "fit_seconds": time.perf_counter() - started,
            **synthetic_utility(table, anon, codecs),
        }
        return anon, "same"

    def budget_record(self) -> dict[str, Any]:
        """The privacy budget of the last release, to store next to the table.

        Holds only public or differentially private facts (no utility figure
        computed from the private table), as plain JSON types.

        Returns
        -------
        dict
            ``"mechanism"``, ``"library"``, ``"library_version"``,
            ``"privacy_unit"``, ``"epsilon"`` and ``"delta"`` (the totals
            spent), ``"epsilon_requested"``, ``"delta_requested"``,
            ``"steps"`` (each with ``"step"`` -- ``"bounds"``,
            ``"categories"`` or ``"synthesizer"`` --, ``"mechanism"``,
            ``"epsilon"``, ``"delta"`` and, for the first two, ``"columns"``:
            the bounds' columns, or per column the selection's ``"epsilon"``,
            ``"delta"``, ``"noise_scale"``, ``"threshold"`` and
            ``"n_kept"``), ``"composition"``, ``"n_rows"``, ``"columns"``
            (per column ``{"kind": "categorical", "domain": "declared" |
            "dtype" (bool, or declared ``"dtype"``) | "selected",
            "n_categories": k, "other": label or None,
            "outside_share": s}`` or ``{"kind": "binned", "n_bins": b,
            "lower": lo, "upper": hi, "bounds": "declared" | "dp",
            "outside_share": s}``, where ``s`` is the share of synthetic rows
            outside the domain, a DP estimate, ``None`` where not measured),
            ``"public_assumptions"`` and ``"created"`` (UTC, ISO 8601).

        Raises
        ------
        sklearn.exceptions.NotFittedError
            If :meth:`anonymize` has not run yet.
        """
        record: BudgetRecord | None = getattr(self, "_record", None)
        if record is None:
            raise NotFittedError(
                "DPSynthesizer has released nothing yet: call anonymize() first"
            )
        return record.as_dict(library_version())

    def _settings(self, table: pd.DataFrame) -> _Settings:
        # Every column is released, so every column is checked.
        labels = list(table.columns) if isinstance(table, pd.DataFrame) else None
        kinds = check_table(table, labels, parameter="table")
        if len(table) < 2:
            raise ValueError(
                f"table has {len(table)} row; DPSynthesizer needs at least 2 rows"
            )
        epsilon = check_positive(self.epsilon, "epsilon")
        max_categories = check_int(self.max_categories, "max_categories", min_value=2)
        other = check_other_category(self.other_category)
        roles = column_roles(
            table, kinds, self.categorical_columns, self.continuous_columns
        )
        declared = check_declared_domains(
            table, roles, self.domains, self.bounds, other, max_categories
        )
        needs_bounds, needs_selection = _undeclared(table, roles, declared)
        eps_bounds, eps_selection = check_budget_shares(
            epsilon,
            self.preprocessor_eps,
            self.selection_eps,
            needs_bounds,
            needs_selection,
        )
        synthesizer = check_synthesizer(self.synthesizer)
        return _Settings(
            epsilon=epsilon,
            delta=check_delta(self.delta, len(table)),
            synthesizer=synthesizer,
            n_bins=check_int(self.n_bins, "n_bins", min_value=2),
            max_categories=max_categories,
            n_out=len(table)
            if self.n_rows is None
            else check_int(self.n_rows, "n_rows"),
            random_state=check_random_state(self.random_state),
            other=other,
            roles=roles,
            declared=declared,
            needs_bounds=needs_bounds,
            needs_selection=needs_selection,
            eps_bounds=eps_bounds,
            eps_selection=eps_selection,
            row_count_uses=row_count_uses(
                synthesizer, self.n_rows is None, self.delta is None
            ),
            categorical_dtypes=[
                c
                for c in table.columns
                if isinstance(table[c].dtype, pd.CategoricalDtype)
            ],
        )


@dataclass(frozen=True)
class _Settings:
    """The checked parameters of one release, and which steps it needs."""

    epsilon: float
    delta: float
    synthesizer: str
    n_bins: int
    max_categories: int
    n_out: int
    random_state: int | None
    other: str
    roles: dict[Hashable, Role]
    declared: dict[Hashable, Any]
    needs_bounds: list[Hashable]
    needs_selection: list[Hashable]
    eps_bounds: float
    eps_selection: float
    row_count_uses: list[str]
    categorical_dtypes: list[Hashable]

    @property
    def delta_selection(self) -> float:
        return self.delta * _SELECTION_DELTA_SHARE if self.needs_selection else 0.0

    def record(
        self, steps: list[Step], codecs: Mapping[Hashable, Codec]
    ) -> BudgetRecord:
        dtype_domains = [
            c
            for c, codec in codecs.items()
            if isinstance(codec, CategoricalCodec) and codec.source == "dtype"
        ]
        uses_other = any(
            isinstance(codec, CategoricalCodec) and codec.other is not None
            for codec in codecs.values()
        )
        return BudgetRecord(
            synthesizer=self.synthesizer,
            epsilon_requested=self.epsilon,
            delta_requested=self.delta,
            steps=steps,
            n_rows=self.n_out,
            columns={str(c): codec.describe() for c, codec in codecs.items()},
            public_assumptions=public_assumptions(
                self.row_count_uses,
                [
                    c
                    for c, v in self.declared.items()
                    if not isinstance(v, DtypeCategories)
                ],
                dtype_domains,
                self.other if uses_other else None,
                private_categoricals=self.private_categoricals,
            ),
        )

    @property
    def private_categoricals(self) -> list[Hashable]:
        """The pandas categoricals whose categories the selection chooses."""
        return [c for c in self.needs_selection if c in self.categorical_dtypes]


def _undeclared(
    table: pd.DataFrame, roles: Mapping[Hashable, Role], declared: Mapping
) -> tuple[list[Hashable], list[Hashable]]:
    """The columns whose bounds, and those whose categories, must be private."""
    undeclared = [c for c in table.columns if c not in declared]
    needs_bounds = [c for c in undeclared if roles[c] == "binned"]
    needs_selection = [
        c
        for c in undeclared
        if roles[c] == "categorical" and implicit_categories(table[c]) is None
    ]
    return needs_bounds, needs_selection


def _private_domains(
    snsynth: Any, table: pd.DataFrame, settings: _Settings
) -> tuple[dict[Hashable, Codec], list[Step]]:
    """Run the private steps the undeclared columns need; build every codec."""
    steps: list[Step] = []
    ranges = {c: v for c, v in settings.declared.items() if isinstance(v, tuple)}
    if settings.needs_bounds:
        share = settings.eps_bounds / len(settings.needs_bounds)
        for label in settings.needs_bounds:
            values = numeric_values(table[label]).astype(np.float64)
            ranges[label] = estimate_bounds(
                snsynth, label, values, share, settings.n_bins
            )
        steps.append(bounds_step(settings.needs_bounds, settings.eps_bounds))
    categories = {c: v for c, v in settings.declared.items() if isinstance(v, pd.Index)}
    if settings.needs_selection:
        k = len(settings.needs_selection)
        selections = {}
        for label in settings.private_categoricals:
            _logger.warning(
                "column %r is a pandas categorical whose categories are not "
                "declared: they are taken as private (astype('category') takes "
                "them from the data) and chosen by the private selection, like a "
                "string column's; to publish them, declare domains={%r: %r} (the "
                "dtype's categories are public) or domains={%r: [...]} (a "
                "codebook)",
                label,
                label,
                DTYPE,
                label,
            )
        for label in settings.needs_selection:
            selections[label], categories[label] = _select(
                table[label],
                label,
                (settings.eps_selection / k, settings.delta_selection / k),
                settings.max_categories,
                settings.other,
            )
        steps.append(selection_step(selections))
    codecs: dict[Hashable, Codec] = {}
    for label in table.columns:
        series = table[label]
        if settings.roles[label] == "binned":
            lower, upper = ranges[label]
            source = "declared" if label in settings.declared else "dp"
            codecs[label] = BinnedCodec(
                label, series.dtype, lower, upper, settings.n_bins, source
            )
        else:
            codecs[label] = _categorical_codec(
                series, label, categories.get(label), settings
            )
    return codecs, steps


def _categorical_codec(
    series: pd.Series, label: Hashable, categories: pd.Index | None, settings: _Settings
) -> CategoricalCodec:
    implicit = implicit_categories(series)
    if implicit is not None:
        return CategoricalCodec(label, series.dtype, implicit, "dtype")
    declared = settings.declared.get(label)
    if isinstance(declared, DtypeCategories):
        return CategoricalCodec(label, series.dtype, declared.categories, "dtype")
    assert categories is not None
    source = "declared" if label in settings.declared else "selected"
    other = None if numeric_categories(series) else settings.other
    return CategoricalCodec(label, series.dtype, categories, source, other)


def _select(
    series: pd.Series,
    label: Hashable,
    budget: tuple[float, float],
    max_categories: int,
    other: str,
) -> tuple[Selection, pd.Index]:
    codes, values = observed_codes(series)
    selection = select_categories(codes, *budget, max_categories)
    kept = values.take(selection.kept)
    if numeric_categories(series):
        if not len(kept):
            raise ValueError(
                f"no value of the numeric column {label!r} passed the private "
                f"selection (a noisy count of at least {selection.threshold} rows "
                f"at epsilon {selection.epsilon:.3g}): declare its categories in "
                "domains, or raise selection_eps"
            )
        # Sorted, for the nearest-value mapping (a categorical's categories
        # need not be).
        return selection, kept.sort_values()
    # A value that reads like the "other" label joins the other values.
    kept = pd.Index([v for v in kept if v != other], dtype=object)
    if not len(kept):
        _logger.warning(
            "no value of column %r passed the private selection (a noisy count of "
            "at least %d rows): it is released as %r throughout; declare its "
            "categories in domains, or raise selection_eps",
            label,
            selection.threshold,
            other,
        )
    return selection, kept


def _decode(
    labels: pd.Index,
    codecs: Mapping[Hashable, Codec],
    sample: list[np.ndarray],
    random_state: int | None,
) -> pd.DataFrame:
    rng = np.random.default_rng(random_state)
    # mbi emits rows grouped by value; shuffle them (post-processing) so that
    # row order carries nothing and any slice is a fair sample.
    order = rng.permutation(len(sample[0]))
    columns = [
        codecs[c].decode(codes[order], rng)
        for c, codes in zip(labels, sample, strict=True)
    ]
    # From Series, not arrays: pandas 3 would infer str for object strings.
    anon = pd.concat(columns, axis=1, ignore_index=True)
    anon.columns = labels
    return anon


def _budget_report(record: BudgetRecord) -> dict[str, Any]:
    eps_bounds, _ = record.spent("bounds")
    eps_selection, delta_selection = record.spent("categories")
    eps_synth, delta_synth = record.spent("synthesizer")
    return {
        "synthesizer": record.synthesizer,
        "epsilon": record.epsilon_requested,
        "delta": record.delta_requested,
        "epsilon_spent": record.epsilon,
        "delta_spent": record.delta,
        "epsilon_preprocessing": eps_bounds,
        "epsilon_selection": eps_selection,
        "delta_selection": delta_selection,
        "epsilon_synthesizer": eps_synth,
        "delta_synthesizer": delta_synth,
        "n_rows": record.n_rows,
        "columns": record.columns,
    }
