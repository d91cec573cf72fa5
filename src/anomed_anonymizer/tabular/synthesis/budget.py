"""The privacy budget of a release: its steps, their sum and what stays public.

A release spends its budget in up to three steps that compose sequentially
(their epsilons and deltas add up): the bounds of numeric columns without a
declared range, the categories of categorical columns without a declared
domain, and the synthesizer, which gets whatever the first two leave. So the
steps always add up to the requested (epsilon, delta).
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any

from .selection import Selection

__all__ = [
    "BudgetRecord",
    "Step",
    "bounds_step",
    "public_assumptions",
    "row_count_uses",
    "selection_step",
]


@dataclass(frozen=True)
class Step:
    """One differentially private step and its (epsilon, delta)."""

    step: str
    mechanism: str
    epsilon: float
    delta: float
    columns: list[str] | dict[str, dict[str, Any]] | None = None

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}


def bounds_step(labels: list[Hashable], epsilon: float) -> Step:
    """The bounds estimate: ``epsilon`` split evenly over ``labels``."""
    return Step(
        step="bounds",
        mechanism="smartnoise approx_bounds (Laplace histogram over powers of two)",
        epsilon=epsilon,
        delta=0.0,
        columns=[str(label) for label in labels],
    )


def selection_step(selections: Mapping[Hashable, Selection]) -> Step:
    """The category selection: one thresholded count per column."""
    return Step(
        step="categories",
        mechanism="thresholded discrete Laplace counts (OpenDP "
        "make_laplace_threshold; delta derived in synthesis.selection)",
        epsilon=sum(s.epsilon for s in selections.values()),
        delta=sum(s.delta for s in selections.values()),
        columns={
            str(label): {
                "epsilon": s.epsilon,
                "delta": s.delta,
                "noise_scale": s.scale,
                "threshold": s.threshold,
                "n_kept": len(s.kept),
            }
            for label, s in selections.items()
        },
    )


@dataclass
class BudgetRecord:
    """What a release spent and assumed; only public or DP facts."""

    synthesizer: str
    epsilon_requested: float
    delta_requested: float
    steps: list[Step]
    n_rows: int
    columns: dict[str, dict[str, Any]]
    public_assumptions: list[str]
    created: str = field(
        default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds")
    )

    @property
    def epsilon(self) -> float:
        return float(sum(step.epsilon for step in self.steps))

    @property
    def delta(self) -> float:
        return float(sum(step.delta for step in self.steps))

    def spent(self, step: str) -> tuple[float, float]:
        """The (epsilon, delta) of one step, (0, 0) if it did not run."""
        for s in self.steps:
            if s.step == step:
                return s.epsilon, s.delta
        return 0.0, 0.0

    def as_dict(self, library_version: str | None) -> dict[str, Any]:
        return {
            "mechanism": f"smartnoise-synth {self.synthesizer.upper()}",
            "library": "smartnoise-synth",
            "library_version": library_version,
            "privacy_unit": "one row (add/remove)",
            "epsilon": self.epsilon,
            "delta": self.delta,
            "epsilon_requested": self.epsilon_requested,
            "delta_requested": self.delta_requested,
            "steps": [step.as_dict() for step in self.steps],
            "composition": "sequential: the steps' epsilons and deltas add up",
            "n_rows": self.n_rows,
            "columns": self.columns,
            "public_assumptions": self.public_assumptions,
            "created": self.created,
        }


def row_count_uses(
    synthesizer: str, default_n_rows: bool, default_delta: bool
) -> list[str]:
    """Why a release publishes the input's row count (empty: it does not).

    Examples
    --------
    >>> row_count_uses("aim", default_n_rows=False, default_delta=False)
    []
    >>> row_count_uses("mst", default_n_rows=True, default_delta=False)
    ['MST uses it as its known total', 'the output has as many rows']
    """
    uses = {
        "MST uses it as its known total": synthesizer == "mst",
        "the output has as many rows": default_n_rows,
        "the default delta derives from it": default_delta,
    }
    return [use for use, applies in uses.items() if applies]


def public_assumptions(
    row_count_uses: list[str],
    declared: list[Hashable],
    dtype_domains: list[Hashable],
    other: str | None,
    private_categoricals: list[Hashable] | None = None,
) -> list[str]:
    """What the release takes as public, beyond what its budget paid for.

    ``row_count_uses`` says why the row count is public (empty: it is not);
    ``private_categoricals`` names the pandas categoricals whose categories
    were not declared, so that the dtypes' assumption leaves them out.

    Examples
    --------
    >>> first = public_assumptions([], [], [], None, private_categoricals=["plan"])[0]
    >>> first.endswith("categoricals 'plan', private (the category selection's)")
    True
    """
    assumptions = ["the column names and dtypes"]
    if private_categoricals:
        assumptions[0] += (
            ", except the categories of the pandas categoricals "
            + ", ".join(repr(str(label)) for label in private_categoricals)
            + ", private (the category selection's)"
        )
    if row_count_uses:
        assumptions.append(f"the row count ({'; '.join(row_count_uses)})")
    if declared:
        assumptions.append(
            "the declared domains (categories and ranges) of "
            + ", ".join(repr(str(label)) for label in declared)
        )
    if dtype_domains:
        assumptions.append(
            "the categories the dtypes fix (bool, or a pandas categorical "
            f"declared {'dtype'!r}) of "
            + ", ".join(repr(str(label)) for label in dtype_domains)
        )
    if other is not None:
        assumptions.append(f"the label {other!r} for values outside a domain")
    return assumptions
