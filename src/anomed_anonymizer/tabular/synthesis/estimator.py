"""Differentially private synthetic tables, with SmartNoise Synth (MST or AIM).

The synthesizers come from the optional dependency ``smartnoise-synth``
(imported as ``snsynth``), installed by the ``synth`` extra. It is imported
only when :meth:`DPSynthesizer.anonymize` runs, so that this module, and
``anomed_anonymizer.tabular``, import without it.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import logging
import math
import numbers
import time
import warnings
from collections.abc import Hashable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timezone
from typing import Any, Literal

import numpy as np
import pandas as pd
from pandas.api import types as pdt
from sklearn.exceptions import NotFittedError

from .._checks import check_int, check_table, nominal_codes, numeric_values
from ..base import TabularDataAnonymizer

__all__ = ["DPSynthesizer"]

_logger = logging.getLogger(__name__)

_SYNTH_EXTRA_MESSAGE = (
    "DPSynthesizer needs the 'synth' extra: pip install 'anomed-anonymizer[synth]'"
)

# The marginal-based synthesizers of smartnoise-synth. Both take (epsilon,
# delta), work on the same all-categorical ("cube") encoding and track the
# preprocessing budget the same way. The GAN synthesizers are left out: they
# need a continuous encoding and opacus 0.14, which predates current torch.
_SYNTHESIZERS = ("mst", "aim")

# snsynth refuses to train on what is left after preprocessing below this.
_MIN_TRAINING_EPSILON = 0.01


class DPSynthesizer(TabularDataAnonymizer):
    """Release a synthetic table that is (epsilon, delta)-differentially private.

    A marginal-based synthesizer of SmartNoise Synth -- MST (McKenna, Miklau
    & Sheldon 2021, the winner of the 2018 NIST synthetic data challenge) or
    AIM (McKenna et al. 2022) -- measures noisy one- and two-way marginals of
    the table, fits a graphical model to them and samples new rows from it.
    Every released value is a function of these noisy measurements only (plus
    the public assumptions in the Notes), so the release is differentially
    private with respect to adding or removing one row.

    Parameters
    ----------
    epsilon : float, default 1.0
        The *total* privacy budget, preprocessing included; must be > 0.
    delta : float or None, default None
        The delta of the (epsilon, delta) guarantee, in ``(0, 1)``. ``None``
        takes ``1 / n ** 1.5`` for a table of ``n`` rows, the value the
        library recommends (``n`` itself is published anyway: see Notes).
    synthesizer : {"mst", "aim"}, default "mst"
        The SmartNoise Synth synthesizer. MST is fast (seconds); AIM adapts
        which marginals it measures and is often more accurate, but several
        times slower.
    preprocessor_eps : float or None, default None
        The part of ``epsilon`` spent on estimating the bounds of numeric
        columns that have no public ``bounds``; it is split evenly between
        those columns. ``None`` takes ``0.2 * epsilon`` when some column needs
        it and 0 otherwise. It must leave at least 0.01 for the synthesizer.
        When every numeric column has public bounds nothing is spent on
        preprocessing, whatever this says.
    categorical_columns : sequence of Hashable or None, default None
        Numeric columns to treat as categorical (for example codes, or small
        counts such as a number of children), instead of binning them. Their
        observed values become a public domain (see Notes). Bool, string and
        categorical columns are always categorical.
    continuous_columns : sequence of Hashable or None, default None
        Numeric columns to bin; by default every numeric column that is not in
        ``categorical_columns``. Listing a non-numeric column is an error.
    bounds : mapping of Hashable to (float, float) or None, default None
        Public ``(lower, upper)`` bounds of numeric columns, known without
        looking at the data (for example ``{"age": (0, 120)}``). These cost no
        budget and give better bins than the private estimate; values outside
        are clipped to them.
    n_bins : int, default 10
        The number of equal-width bins of every binned numeric column.
    max_categories : int, default 100
        The most distinct values a categorical column may have (see Notes).
    n_rows : int or None, default None
        The number of synthetic rows; ``None`` takes the input's row count.
    random_state : int or None, default None
        Seeds NumPy's global generator while the synthesizer runs (saved and
        restored afterwards) and the placing of numeric values within their
        bins. The release is *not* reproducible all the same: see Notes.

    Attributes
    ----------
    report_ : dict
        Set by :meth:`anonymize`. The budget: ``"epsilon_spent"`` (the total,
        preprocessing included), ``"epsilon_preprocessing"``,
        ``"epsilon_synthesizer"``, ``"epsilon"`` (as requested), ``"delta"``;
        the release: ``"synthesizer"``, ``"n_rows"``, ``"n_rows_input"``,
        ``"columns"`` (per column, how it was represented: see
        :meth:`budget_record`), ``"fit_seconds"``; and its utility, comparing
        input and output: ``"tvd"`` (per column, the total variation distance
        between the two marginal distributions, in ``[0, 1]``; numeric
        columns on their bins, the same for both), ``"mean_tvd"``,
        ``"max_tvd"``, ``"mean_pairwise_tvd"`` (the mean TVD of the two-way
        marginals of all column pairs, which is what the synthesizer tries to
        preserve; ``None`` for one column), ``"max_abs_correlation_difference"``
        and ``"mean_abs_correlation_difference"`` (between the Pearson
        correlation matrices of the binned numeric columns; ``None`` for fewer
        than two). Column names are keys as ``str(label)``.

    Notes
    -----
    **The "same" representation.** The output has the input's columns, in the
    input's order, with the input's dtypes, and ``n_rows`` rows with a fresh
    ``RangeIndex``: the rows are synthetic, none stands for an input row, and
    they come in random order.
    A categorical column holds values that occur in the input. A binned
    numeric column holds values drawn uniformly within the bin the
    synthesizer chose, inside the column's bounds; integer columns are
    rounded (and kept within their dtype's range), bool columns stay bool,
    strings stay strings and pandas categoricals keep their categories.

    **Budget accounting.** Two steps spend budget, and they compose
    sequentially (epsilons and deltas add up):

    1. Bounds. Each binned column without public ``bounds`` gets
       ``preprocessor_eps / k`` (``k`` such columns) for a pure-epsilon
       estimate of its range (SmartNoise's ``approx_bounds``: a Laplace-noised
       histogram over powers of two, so the bounds are powers of two and
       sparse tails are clipped). Public bounds cost nothing.
    2. The synthesizer gets the rest, ``epsilon - epsilon_preprocessing``,
       with ``delta``; MST and AIM turn it into a zCDP budget for their
       Gaussian measurements.

    ``report_["epsilon_spent"]`` and :meth:`budget_record` give the total,
    which never exceeds ``epsilon``.

    **Public assumptions.** The DP guarantee covers the table's *contents*,
    given what the synthesizer takes to be public: the column names and
    dtypes, the row count (the output has as many rows by default), public
    ``bounds``, and, as in SmartNoise Synth, the set of values observed in
    each categorical column, which fixes the synthesizer's domain and may
    appear in the output even for a value held by a single row. So a column
    that looks like an identifier is rejected: more than ``max_categories``
    distinct values, or (except for bool columns) more distinct values than
    half the rows, as for names, e-mails or IDs. Drop such columns, or
    generalize them first. For the same reason a table needs at least two
    rows.

    **Reproducibility.** The privacy noise is drawn by OpenDP from a
    cryptographically secure generator that cannot be seeded (deliberately:
    predictable noise would not protect anyone), so two runs differ even with
    the same ``random_state``. ``random_state`` fixes only what SmartNoise
    draws from NumPy's global generator (MST's choice of marginals, AIM's
    workload, the sampling of rows) and the placing within bins. A publicly
    known seed makes MST's exponential-mechanism choice predictable, so
    leave it ``None`` for a real release. Seeding the global generator is not
    thread-safe: other threads drawing from ``np.random`` meanwhile see (and
    shift) the seeded stream.

    **The report is not private.** The utility figures of ``report_`` compare
    the output with the private input; they are for the data owner. Publish
    :meth:`budget_record`, which holds only the budget and public or DP
    facts.

    Examples
    --------
    >>> from anomed_anonymizer.tabular import adult_like
    >>> table = adult_like(3000)[["age", "education", "sex", "hours-per-week"]]
    >>> synth = DPSynthesizer(epsilon=1.0, bounds={"age": (0, 120)})
    >>> anon, scheme = synth.anonymize(table)  # doctest: +SKIP
    >>> scheme  # doctest: +SKIP
    'same'
    >>> anon.dtypes.equals(table.dtypes)  # doctest: +SKIP
    True
    >>> synth.report_["epsilon_spent"] <= 1.0  # doctest: +SKIP
    True
    >>> synth.budget_record()["epsilon"]  # doctest: +SKIP
    1.0
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
            categorical column has too many distinct values (see Notes); if a
            parameter is out of range (the message names it): ``epsilon <=
            0``, ``delta`` not in ``(0, 1)``, ``preprocessor_eps`` not leaving
            at least 0.01 of ``epsilon``, unknown ``synthesizer``, bad
            ``bounds``, ``n_bins``, ``max_categories``, ``n_rows`` or
            ``random_state``, column lists naming missing, non-numeric or
            doubly listed columns; if the private bounds estimate fails
            (too few rows for its budget: the message names the column).
        ImportError
            If ``smartnoise-synth`` is not installed.
        """
        # Every column is released, so every column is checked.
        labels = list(table.columns) if isinstance(table, pd.DataFrame) else None
        kinds = check_table(table, labels, parameter="table")
        n_input = len(table)
        if n_input < 2:
            raise ValueError(
                f"table has {n_input} row; DPSynthesizer needs at least 2 rows "
                "(a single row's categorical values would be published verbatim)"
            )
        epsilon = _check_positive(self.epsilon, "epsilon")
        delta = _check_delta(self.delta, n_input)
        synthesizer = self._check_synthesizer()
        n_bins = check_int(self.n_bins, "n_bins", min_value=2)
        max_categories = check_int(self.max_categories, "max_categories", min_value=2)
        n_out = n_input if self.n_rows is None else check_int(self.n_rows, "n_rows")
        random_state = _check_random_state(self.random_state)
        roles = self._column_roles(table, kinds)
        bounds = self._check_bounds(table, roles)

        columns = [
            _encode(table[label], label, role, bounds.get(label))
            for label, role in roles.items()
        ]
        for column in columns:
            column.check_domain(max_categories)
        needs_bounds = [c.label for c in columns if c.binned and c.public is None]
        preprocessor_eps = self._check_preprocessor_eps(epsilon, needs_bounds)

        snsynth = _import_snsynth()
        started = time.perf_counter()
        transformers = [c.transformer(n_bins) for c in columns]
        # Plain names and plain arrays (codes, floats): snsynth sees no dtype
        # or label it might mishandle.
        work = pd.DataFrame({f"c{i}": c.values for i, c in enumerate(columns)})
        messages = io.StringIO()
        with (
            _numpy_global_seed(random_state),
            warnings.catch_warnings(),
            # snsynth prints its budget split; a server's stdout is no place
            # for it, so it goes to the debug log instead.
            contextlib.redirect_stdout(messages),
        ):
            # mbi deprecates the DataFrames snsynth hands it; not ours to fix.
            warnings.filterwarnings(
                "ignore", message="Pandas dataframe inputs", category=UserWarning
            )
            model = snsynth.Synthesizer.create(
                synthesizer, epsilon=epsilon, delta=delta
            )
            try:
                model.fit(
                    work,
                    transformer=snsynth.TableTransformer(transformers),
                    preprocessor_eps=preprocessor_eps,
                )
            except ValueError as exc:
                raise _explain_fit_error(
                    exc, columns, transformers, preprocessor_eps
                ) from exc
            sample = model.sample(n_out)
        if messages.getvalue():
            _logger.debug("smartnoise-synth: %s", messages.getvalue().strip())
        fit_seconds = time.perf_counter() - started

        rng = np.random.default_rng(random_state)
        # mbi emits rows grouped by value; shuffle them (post-processing) so
        # that row order carries nothing and any slice is a fair sample.
        sample = sample.iloc[rng.permutation(len(sample))].reset_index(drop=True)
        for column, transformer in zip(columns, transformers, strict=True):
            column.set_fitted_bounds(transformer)
        anon_columns = []
        input_codes, output_codes = [], []
        for i, column in enumerate(columns):
            drawn = sample[f"c{i}"].to_numpy()
            anon_columns.append(column.decode(drawn, n_bins, rng))
            # Compare on categories, or on bins (the same for input and output).
            if column.binned:
                input_codes.append(column.bin_index(column.values, n_bins))
                output_codes.append(column.bin_index(anon_columns[-1], n_bins))
            else:
                input_codes.append(column.values)
                output_codes.append(np.asarray(drawn, dtype=np.intp))
        # From Series, not arrays: pandas 3 would infer str for object strings.
        anon = pd.concat(anon_columns, axis=1, ignore_index=True)
        anon.columns = table.columns

        # Each binned column that needed bounds got an equal share; the
        # transformers record what they actually spent.
        eps_pre = float(sum(sum(getattr(t, "budget_spent", [])) for t in transformers))
        eps_synth = float(model.epsilon)
        self._record = {
            "synthesizer": synthesizer,
            "epsilon": epsilon,
            "epsilon_spent": eps_pre + eps_synth,
            "epsilon_preprocessing": eps_pre,
            "epsilon_synthesizer": eps_synth,
            "delta": delta,
            "n_rows": n_out,
            "columns": {str(c.label): c.describe(n_bins) for c in columns},
            "dp_bounds_columns": [str(label) for label in needs_bounds],
        }
        self.report_: dict[str, Any] = {
            **{k: v for k, v in self._record.items() if k != "dp_bounds_columns"},
            "n_rows_input": n_input,
            "fit_seconds": fit_seconds,
            **_utility(columns, input_codes, output_codes, n_bins),
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
            ``"privacy_unit"``, ``"epsilon"`` (the total spent),
            ``"delta"``, ``"epsilon_requested"``, ``"steps"`` (each with
            ``"step"``, ``"epsilon"``, ``"delta"`` and, for the bounds step,
            ``"columns"``), ``"composition"``, ``"n_rows"``, ``"columns"``
            (per column ``{"kind": "categorical", "n_categories": k}`` or
            ``{"kind": "binned", "n_bins": b, "lower": lo, "upper": hi,
            "bounds": "public" | "dp"}``), ``"public_assumptions"`` and
            ``"created"`` (UTC, ISO 8601).

        Raises
        ------
        sklearn.exceptions.NotFittedError
            If :meth:`anonymize` has not run yet.
        """
        record = getattr(self, "_record", None)
        if record is None:
            raise NotFittedError(
                "DPSynthesizer has released nothing yet: call anonymize() first"
            )
        steps = []
        if record["epsilon_preprocessing"] > 0:
            steps.append(
                {
                    "step": "bounds",
                    "mechanism": "approx_bounds (Laplace histogram)",
                    "columns": record["dp_bounds_columns"],
                    "epsilon": record["epsilon_preprocessing"],
                    "delta": 0.0,
                }
            )
        steps.append(
            {
                "step": "synthesizer",
                "mechanism": record["synthesizer"],
                "epsilon": record["epsilon_synthesizer"],
                "delta": record["delta"],
            }
        )
        return {
            "mechanism": f"smartnoise-synth {record['synthesizer'].upper()}",
            "library": "smartnoise-synth",
            "library_version": _library_version(),
            "privacy_unit": "one row (add/remove)",
            "epsilon": record["epsilon_spent"],
            "delta": record["delta"],
            "epsilon_requested": record["epsilon"],
            "steps": steps,
            "composition": "sequential: the steps' epsilons and deltas add up",
            "n_rows": record["n_rows"],
            "columns": record["columns"],
            "public_assumptions": [
                "column names and dtypes",
                "the row count",
                "the set of values observed in each categorical column",
                "bounds given as public",
            ],
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }

    # -- parameter checks ---------------------------------------------------

    def _check_synthesizer(self) -> str:
        name = self.synthesizer
        if not isinstance(name, str) or name.lower() not in _SYNTHESIZERS:
            raise ValueError(
                f"synthesizer must be one of {', '.join(map(repr, _SYNTHESIZERS))}, "
                f"got {name!r}"
            )
        return name.lower()

    def _column_roles(
        self, table: pd.DataFrame, kinds: Mapping[Hashable, str]
    ) -> dict[Hashable, Literal["categorical", "binned"]]:
        categorical = _label_list(self.categorical_columns, "categorical_columns")
        continuous = _label_list(self.continuous_columns, "continuous_columns")
        for parameter, labels in (
            ("categorical_columns", categorical),
            ("continuous_columns", continuous),
        ):
            missing = [c for c in labels if c not in table.columns]
            if missing:
                raise ValueError(
                    f"{parameter} names columns the table lacks: {_shown(missing)}"
                )
        both = [c for c in categorical if c in continuous]
        if both:
            raise ValueError(
                "columns listed in both categorical_columns and continuous_columns: "
                f"{_shown(both)}"
            )
        not_numeric = [c for c in continuous if kinds[c] != "numeric"]
        if not_numeric:
            label = not_numeric[0]
            raise ValueError(
                f"continuous_columns names column {label!r} of dtype "
                f"{table[label].dtype}, which is not numeric"
            )
        return {
            label: "binned"
            if kinds[label] == "numeric" and label not in categorical
            else "categorical"
            for label in table.columns
        }

    def _check_bounds(
        self, table: pd.DataFrame, roles: Mapping[Hashable, str]
    ) -> dict[Hashable, tuple[float, float]]:
        if self.bounds is None:
            return {}
        if not isinstance(self.bounds, Mapping):
            raise ValueError(
                "bounds must map column names to (lower, upper), "
                f"got {type(self.bounds).__name__}"
            )
        checked = {}
        for label, pair in self.bounds.items():
            if label not in table.columns:
                raise ValueError(
                    f"bounds names column {label!r}, which the table lacks"
                )
            if roles[label] != "binned":
                raise ValueError(
                    f"bounds names column {label!r}, which is not a binned numeric "
                    "column"
                )
            try:
                lower, upper = (float(v) for v in pair)
            except (TypeError, ValueError):
                raise ValueError(
                    f"bounds[{label!r}] must be a pair of numbers (lower, upper), "
                    f"got {pair!r}"
                ) from None
            if not (math.isfinite(lower) and math.isfinite(upper) and lower < upper):
                raise ValueError(
                    f"bounds[{label!r}] must be finite with lower < upper, "
                    f"got ({lower}, {upper})"
                )
            checked[label] = (lower, upper)
        return checked

    def _check_preprocessor_eps(self, epsilon: float, needs_bounds: list) -> float:
        value = self.preprocessor_eps
        if value is not None:
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                raise ValueError(
                    f"preprocessor_eps must be a number, got {value!r} "
                    f"({type(value).__name__})"
                )
            value = float(value)
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"preprocessor_eps must be >= 0, got {value}")
        if not needs_bounds:
            return 0.0
        if value is None:
            value = 0.2 * epsilon
        if value == 0:
            raise ValueError(
                "preprocessor_eps=0, but the numeric columns "
                f"{_shown(needs_bounds)} have no public bounds: give them bounds "
                "or some preprocessor_eps"
            )
        if value > epsilon - _MIN_TRAINING_EPSILON:
            raise ValueError(
                f"preprocessor_eps={value} leaves less than {_MIN_TRAINING_EPSILON} "
                f"of epsilon={epsilon} for the synthesizer"
            )
        return value


class _Column:
    """One input column: its encoding for snsynth and how to decode it back."""

    def __init__(
        self,
        label: Hashable,
        series: pd.Series,
        binned: bool,
        values: np.ndarray,
        categories: pd.Index | None,
        public: tuple[float, float] | None,
    ) -> None:
        self.label = label
        self.dtype = series.dtype
        self.binned = binned
        # Binned: the float values. Categorical: integer codes into categories.
        self.values = values
        self.categories = categories
        self.public = public
        self.lower: float | None = None
        self.upper: float | None = None
        self._is_bool = pdt.is_bool_dtype(series.dtype)

    def check_domain(self, max_categories: int) -> None:
        if self.binned or self._is_bool:
            return
        n_rows = len(self.values)
        n_distinct = len(np.unique(self.values))
        if n_distinct > max_categories:
            raise ValueError(
                f"column {self.label!r} has {n_distinct} distinct values, more than "
                f"max_categories={max_categories}; its values would be published as "
                "the synthesizer's domain: drop or generalize it"
            )
        if 2 * n_distinct > n_rows:
            raise ValueError(
                f"column {self.label!r} has {n_distinct} distinct values in "
                f"{n_rows} rows, like an identifier; its values would be published "
                "as the synthesizer's domain: drop or generalize it"
            )

    def transformer(self, n_bins: int) -> Any:
        from snsynth.transform.bin import BinTransformer
        from snsynth.transform.label import LabelTransformer

        if not self.binned:
            return LabelTransformer(nullable=False)
        if self.public is None:
            return BinTransformer(bins=n_bins, nullable=False)
        lower, upper = self.public
        return BinTransformer(bins=n_bins, lower=lower, upper=upper, nullable=False)

    def set_fitted_bounds(self, transformer: Any) -> None:
        if self.binned:
            self.lower = float(transformer.fit_lower)
            self.upper = float(transformer.fit_upper)

    def bin_index(self, values: np.ndarray, n_bins: int) -> np.ndarray:
        # The transformer's own binning: clip to the bounds, equal widths,
        # the upper bound in the last bin.
        assert self.lower is not None and self.upper is not None
        clipped = np.clip(np.asarray(values, dtype=np.float64), self.lower, self.upper)
        scaled = np.floor(n_bins * (clipped - self.lower) / (self.upper - self.lower))
        return np.minimum(scaled, n_bins - 1).astype(np.intp)

    def decode(
        self, drawn: np.ndarray, n_bins: int, rng: np.random.Generator
    ) -> pd.Series:
        if not self.binned:
            codes = np.asarray(drawn, dtype=np.intp)
            assert self.categories is not None
            if isinstance(self.dtype, pd.CategoricalDtype):
                return pd.Series(pd.Categorical.from_codes(codes, dtype=self.dtype))
            return pd.Series(self.categories.take(codes)).astype(self.dtype)
        assert self.lower is not None and self.upper is not None
        # snsynth returns bin midpoints; spread them uniformly over their bin
        # (post-processing, free of budget) so the column does not collapse to
        # n_bins distinct values.
        width = (self.upper - self.lower) / n_bins
        index = np.clip(
            np.floor((np.asarray(drawn, dtype=np.float64) - self.lower) / width),
            0,
            n_bins - 1,
        )
        values = self.lower + (index + rng.random(len(index))) * width
        numpy_dtype = np.dtype(getattr(self.dtype, "numpy_dtype", self.dtype))
        if np.issubdtype(numpy_dtype, np.integer):
            info = np.iinfo(numpy_dtype)
            low = max(math.ceil(self.lower), info.min)
            high = min(math.floor(self.upper), info.max)
            values = np.rint(values)
            if low <= high:
                values = np.clip(values, low, high)
            values = np.clip(values, info.min, info.max)
        return pd.Series(values.astype(numpy_dtype)).astype(self.dtype)

    def n_codes(self, n_bins: int) -> int:
        return n_bins if self.binned else len(self.categories)

    def describe(self, n_bins: int) -> dict[str, Any]:
        if not self.binned:
            return {"kind": "categorical", "n_categories": len(np.unique(self.values))}
        return {
            "kind": "binned",
            "n_bins": n_bins,
            "lower": self.lower,
            "upper": self.upper,
            "bounds": "dp" if self.public is None else "public",
        }


def _encode(
    series: pd.Series,
    label: Hashable,
    role: str,
    public: tuple[float, float] | None,
) -> _Column:
    if role == "binned":
        values = numeric_values(series).astype(np.float64)
        return _Column(label, series, True, values, None, public)
    if pdt.is_numeric_dtype(series.dtype) and not pdt.is_bool_dtype(series.dtype):
        # A numeric column declared categorical: its values are the categories.
        codes, categories = pd.factorize(series, sort=True)
        return _Column(label, series, False, codes.astype(np.intp), categories, None)
    codes, categories = nominal_codes(series)
    return _Column(label, series, False, codes, categories, None)


def _utility(
    columns: list[_Column],
    input_codes: list[np.ndarray],
    output_codes: list[np.ndarray],
    n_bins: int,
) -> dict[str, Any]:
    sizes = [c.n_codes(n_bins) for c in columns]
    tvd = {
        str(c.label): _tvd(x, y, k)
        for c, x, y, k in zip(columns, input_codes, output_codes, sizes, strict=True)
    }
    # A pair's joint code is i * size_j + j: its two-way marginal as one column.
    pairwise = [
        _tvd(
            input_codes[i] * sizes[j] + input_codes[j],
            output_codes[i] * sizes[j] + output_codes[j],
            sizes[i] * sizes[j],
        )
        for i, j in itertools.combinations(range(len(columns)), 2)
    ]
    binned = [i for i, c in enumerate(columns) if c.binned]
    correlation = None
    if len(binned) >= 2:
        with np.errstate(invalid="ignore", divide="ignore"):
            # Bin codes rather than raw values: the same bins as the TVDs, and
            # clipped outliers do not dominate the input's correlations.
            before = np.corrcoef(np.stack([input_codes[i] for i in binned]))
            after = np.corrcoef(np.stack([output_codes[i] for i in binned]))
        upper = np.triu_indices(len(binned), k=1)
        diff = np.abs(before - after)[upper]
        # A constant column has no correlation; its pairs are left out.
        diff = diff[np.isfinite(diff)]
        if diff.size:
            correlation = (float(diff.max()), float(diff.mean()))
    max_corr, mean_corr = correlation or (None, None)
    return {
        "tvd": tvd,
        "mean_tvd": float(np.mean(list(tvd.values()))),
        "max_tvd": float(np.max(list(tvd.values()))),
        "mean_pairwise_tvd": float(np.mean(pairwise)) if pairwise else None,
        "max_abs_correlation_difference": max_corr,
        "mean_abs_correlation_difference": mean_corr,
    }


def _tvd(x: np.ndarray, y: np.ndarray, size: int) -> float:
    """Total variation distance between the distributions of codes x and y."""
    p = np.bincount(x, minlength=size) / len(x)
    q = np.bincount(y, minlength=size) / len(y)
    # Rounding can push the sum a hair past 1.
    return float(min(0.5 * np.abs(p - q).sum(), 1.0))


def _explain_fit_error(
    exc: ValueError,
    columns: list[_Column],
    transformers: list[Any],
    preprocessor_eps: float,
) -> ValueError:
    # The bounds estimate fails when no power-of-two bin holds clearly more
    # rows than the noise; the transformer that failed has no bounds yet.
    if "could not find bounds" in str(exc):
        estimated = [c for c in columns if c.binned and c.public is None]
        for column, transformer in zip(columns, transformers, strict=True):
            if column in estimated and getattr(transformer, "fit_lower", 0) is None:
                share = preprocessor_eps / len(estimated)
                return ValueError(
                    f"could not estimate the bounds of column {column.label!r} "
                    f"privately with epsilon {share:.3g} (preprocessor_eps="
                    f"{preprocessor_eps:.3g} split over {len(estimated)} columns): "
                    "too few rows for that budget; raise preprocessor_eps or give "
                    f"public bounds={{{column.label!r}: (lower, upper)}}"
                )
    return ValueError(f"smartnoise-synth could not fit the table: {exc}")


def _import_snsynth() -> Any:
    try:
        import snsynth
    except ImportError as exc:
        raise ImportError(_SYNTH_EXTRA_MESSAGE) from exc
    return snsynth


def _library_version() -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("smartnoise-synth")
    except PackageNotFoundError:
        return None


@contextlib.contextmanager
def _numpy_global_seed(seed: int | None) -> Iterator[None]:
    # snsynth and mbi draw from NumPy's global generator; seed it for the
    # call only, so that other users of np.random see no difference.
    if seed is None:
        yield
        return
    state = np.random.get_state()
    np.random.seed(seed)
    try:
        yield
    finally:
        np.random.set_state(state)


def _check_positive(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(
            f"{name} must be a positive number, got {value!r} ({type(value).__name__})"
        )
    value = float(value)
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a positive number, got {value}")
    return value


def _check_delta(value: object, n_rows: int) -> float:
    if value is None:
        return 1.0 / n_rows**1.5
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(
            f"delta must be a number in (0, 1) or None, got {value!r} "
            f"({type(value).__name__})"
        )
    value = float(value)
    if not 0 < value < 1:
        raise ValueError(f"delta must lie in (0, 1), got {value}")
    return value


def _check_random_state(value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(
            f"random_state must be an integer or None, got {value!r} "
            f"({type(value).__name__})"
        )
    if not 0 <= int(value) < 2**32:
        raise ValueError(f"random_state must lie in [0, 2**32), got {value}")
    return int(value)


def _label_list(columns: object, parameter: str) -> list[Hashable]:
    if columns is None:
        return []
    # A lone string is one column name, not a sequence of one-letter names.
    if isinstance(columns, str) or not isinstance(columns, Iterable):
        return [columns]
    labels = list(columns)
    if len(set(labels)) != len(labels):
        raise ValueError(f"{parameter} names a column twice: {labels!r}")
    return labels


def _shown(labels: Sequence[Hashable]) -> str:
    shown = ", ".join(repr(label) for label in labels[:10])
    if len(labels) > 10:
        shown += f", ... ({len(labels) - 10} more)"
    return f"[{shown}]"
