"""Checks of DPSynthesizer's parameters beyond those of ``tabular._checks``.

Each raises a ``ValueError`` that names the parameter and says what to fix.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Hashable, Iterable, Mapping, Sequence

import pandas as pd

from .._checks import ColumnKind, check_int, check_table
from .domains import Role

__all__ = [
    "MIN_SYNTHESIZER_EPSILON",
    "SYNTHESIZERS",
    "check_budget_shares",
    "check_delta",
    "check_other_category",
    "check_positive",
    "check_random_state",
    "check_synthesizer",
    "column_roles",
]

# The marginal-based synthesizers of smartnoise-synth. Both take (epsilon,
# delta) and work on the same all-categorical ("cube") encoding. The GAN
# synthesizers are left out: they need a continuous encoding and opacus 0.14,
# which predates current torch.
SYNTHESIZERS = ("mst", "aim")

# snsynth refuses to train on less than this.
MIN_SYNTHESIZER_EPSILON = 0.01

# The shares of epsilon the private preprocessing steps take by default, when
# some column needs them. Dropped categories cost more utility than a noisier
# synthesizer: on the Adult-like table at epsilon 1, a selection share of 0.3
# instead of 0.1 kept 48 categories instead of 29 and halved the marginal TVD
# (0.029 against 0.067; benchmarks/bench_synthesis.py).
_DEFAULT_BOUNDS_SHARE = 0.2
_DEFAULT_SELECTION_SHARE = 0.3


def check_positive(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(
            f"{name} must be a positive number, got {value!r} ({type(value).__name__})"
        )
    value = float(value)
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a positive number, got {value}")
    return value


def check_delta(value: object, n_rows: int) -> float:
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


def check_random_state(value: object) -> int | None:
    if value is None:
        return None
    return check_int(
        value, "random_state", min_value=0, max_value=2**32 - 1, max_reason="2**32 - 1"
    )


def check_synthesizer(name: object) -> str:
    if not isinstance(name, str) or name.lower() not in SYNTHESIZERS:
        raise ValueError(
            f"synthesizer must be one of {', '.join(map(repr, SYNTHESIZERS))}, "
            f"got {name!r}"
        )
    return name.lower()


def check_other_category(value: object) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"other_category must be a non-empty string, got {value!r}")
    return value


def column_roles(
    table: pd.DataFrame,
    kinds: Mapping[Hashable, ColumnKind],
    categorical_columns: object,
    continuous_columns: object,
) -> dict[Hashable, Role]:
    """Decide, per column, whether it is binned or categorical.

    Numeric columns are binned unless listed in ``categorical_columns``; bool,
    string and categorical columns are categorical.
    """
    categorical = _listed(table, categorical_columns, "categorical_columns")
    continuous = _listed(table, continuous_columns, "continuous_columns")
    both = [c for c in categorical if c in continuous]
    if both:
        raise ValueError(
            "columns listed in both categorical_columns and continuous_columns: "
            f"[{', '.join(map(repr, both))}]"
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


def _listed(table: pd.DataFrame, columns: object, parameter: str) -> list[Hashable]:
    if columns is None:
        return []
    if not isinstance(columns, str) and isinstance(columns, Iterable):
        columns = list(columns)
        if not columns:
            return []
    # Names each column once and only columns the table has.
    return list(check_table(table, columns, parameter=parameter))


def check_budget_shares(
    epsilon: float,
    preprocessor_eps: object,
    selection_eps: object,
    needs_bounds: Sequence[Hashable],
    needs_selection: Sequence[Hashable],
) -> tuple[float, float]:
    """The epsilons of the bounds and the category selection.

    Each is 0 when no column needs the step, else the given value or its
    default share of ``epsilon``; together they must leave at least
    ``MIN_SYNTHESIZER_EPSILON`` for the synthesizer.
    """
    bounds = _share(
        preprocessor_eps,
        "preprocessor_eps",
        epsilon * _DEFAULT_BOUNDS_SHARE,
        needs_bounds,
        "the numeric columns {} have no declared range: declare (lower, upper) "
        "in domains or give some preprocessor_eps",
    )
    selection = _share(
        selection_eps,
        "selection_eps",
        epsilon * _DEFAULT_SELECTION_SHARE,
        needs_selection,
        "the categorical columns {} have no declared domain: declare their "
        "categories in domains or give some selection_eps",
    )
    if epsilon - bounds - selection < MIN_SYNTHESIZER_EPSILON:
        raise ValueError(
            f"preprocessor_eps={bounds} (bounds) and selection_eps={selection} "
            f"(categories) leave less than {MIN_SYNTHESIZER_EPSILON} of "
            f"epsilon={epsilon} for the synthesizer"
        )
    return bounds, selection


def _share(
    value: object,
    name: str,
    default: float,
    needed_by: Sequence[Hashable],
    missing: str,
) -> float:
    if value is not None:
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise ValueError(
                f"{name} must be a number, got {value!r} ({type(value).__name__})"
            )
        value = float(value)
        if not (math.isfinite(value) and value >= 0):
            raise ValueError(f"{name} must be >= 0, got {value}")
    if not needed_by:
        return 0.0
    if value is None:
        return default
    if value == 0:
        listed = ", ".join(map(repr, needed_by))
        raise ValueError(f"{name}=0, but " + missing.format(f"[{listed}]"))
    return value
