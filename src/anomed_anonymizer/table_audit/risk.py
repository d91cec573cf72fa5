"""Re-identification risk under the prosecutor, journalist and marketer models.

The models and summaries are ARX's (after El Emam, *Guide to the
De-Identification of Personal Health Information*): a record in a class of
``f`` released records that the attacker cannot tell apart is re-identified
with probability ``1 / f``.

- **Prosecutor**: the attacker knows the target is in the release. Record
  risk ``1 / f`` with ``f`` the record's class size in the release; highest
  risk ``1 / min f``; average (ARX's success rate) the number of classes over
  the number of records.
- **Journalist**: the attacker does not know whether the target is in the
  release and links against a *population* table. Record risk ``1 / F`` with
  ``F`` the size of the record's class in the population; highest ``1 / min
  F``; average ``max(classes / sum F, mean(f / F))``, as in ARX.
- **Marketer**: the attacker re-identifies as many records as possible;
  ARX reports only its success rate ``mean(1 / F)`` over records, which is
  ``average`` here. Per record the marketer's chance is the journalist's
  (``1 / F``), so ``highest`` and ``records_at_risk`` equal the journalist's.

``records_at_risk`` is the share of released records whose risk exceeds the
threshold.

**The population.** The release is the sample; the population is the sample
together with the held-out control records (ARX's "research subset" setting:
the audit's leaky table is the population, the anonymizer's input a subset).
A population record belongs to a released class when its quasi-identifiers are
consistent with the class: inside its ranges and sets (``generalization``),
or equal on the nominal and nearest on the numeric quasi-identifiers
(``microaggregation``).

**Synthetic releases** (scheme ``same``) have no classes; risk is measured on
the nearest match instead. For each original record ``r`` let ``s`` be the
released row nearest to it on the quasi-identifiers and ``d`` their distance;
the records ``r`` hides among are those at most ``d`` from ``s``: ``f``
counts them in the original table, ``F`` in the population. A release that
copies its input gets exactly the class-based figures (``d = 0``, the crowd is
the class of identical records); a synthetic row that lies as close to many
records as to ``r`` says little about ``r``.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ._release import TOLERANCE, ReleasedCells

__all__ = ["ReidentificationRisk", "RiskSummary", "reidentification_risk"]


@dataclass(frozen=True)
class RiskSummary:
    """ARX's summary of one attacker model.

    Attributes
    ----------
    highest : float
        The largest record risk.
    average : float
        The share of records re-identified on average (ARX's success rate).
    records_at_risk : float
        The share of records whose risk exceeds the threshold.
    """

    highest: float
    average: float
    records_at_risk: float

    def to_dict(self) -> dict[str, float]:
        """``{"highest", "average", "records_at_risk"}``."""
        return {
            "highest": self.highest,
            "average": self.average,
            "records_at_risk": self.records_at_risk,
        }


@dataclass(frozen=True)
class ReidentificationRisk:
    """Re-identification risk of a release under the three attacker models.

    Attributes
    ----------
    prosecutor, journalist, marketer : RiskSummary
        See the module's documentation.
    method : {"equivalence classes", "nearest match"}
        How records were grouped.
    threshold : float
        The record risk above which a record counts as at risk.
    prosecutor_record_risk, journalist_record_risk : numpy.ndarray
        The risk of each original record (``1 / f`` and ``1 / F``).
    details : dict
        ``n_classes``, ``min_class_size`` (classes only), ``population_rows``.
    """

    prosecutor: RiskSummary
    journalist: RiskSummary
    marketer: RiskSummary
    method: str
    threshold: float
    prosecutor_record_risk: np.ndarray = field(repr=False)
    journalist_record_risk: np.ndarray = field(repr=False)
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The JSON layout: one summary per model, plus method and threshold."""
        return {
            "prosecutor": self.prosecutor.to_dict(),
            "journalist": self.journalist.to_dict(),
            "marketer": self.marketer.to_dict(),
            "method": self.method,
            "threshold": self.threshold,
            **self.details,
        }


def reidentification_risk(
    cells: ReleasedCells,
    original: pd.DataFrame,
    control: pd.DataFrame | None,
    quasi_identifiers: Sequence[Hashable],
    threshold: float = 0.1,
) -> ReidentificationRisk:
    """Prosecutor, journalist and marketer risk of a release.

    Parameters
    ----------
    cells : ReleasedCells
        The release, read by its scheme.
    original : pandas.DataFrame
        The table the anonymizer released (the sample).
    control : pandas.DataFrame or None
        Records of the same population the anonymizer never saw; with
        ``None`` the population is the sample itself (journalist risk then
        equals prosecutor risk).
    quasi_identifiers : sequence of Hashable
        The columns an attacker links on.
    threshold : float, default 0.1
        A record whose risk exceeds it is at risk (``0.1`` flags every record
        in a class of fewer than 10).

    Returns
    -------
    ReidentificationRisk

    Raises
    ------
    ValueError
        If ``threshold`` is not in ``(0, 1]``, or a ``generalization`` or
        ``microaggregation`` release is not row-aligned with ``original``.
    """
    if not 0 < threshold <= 1:
        raise ValueError(f"threshold must be in (0, 1], got {threshold}")
    columns = list(quasi_identifiers)
    population = [original] if control is None else [original, control]
    n_population = sum(len(t) for t in population)
    if cells.scheme == "same":
        f, big_f = _nearest_match_crowds(cells, original, control, columns)
        n_classes, rc1 = None, None
        method = "nearest match"
    else:
        if cells.n_rows != len(original):
            raise ValueError(
                f"a {cells.scheme!r} release must be row-aligned with its input: "
                f"it has {cells.n_rows} rows, the input {len(original)}"
            )
        f, big_f, n_classes, rc1 = _class_sizes(cells, control, columns)
        method = "equivalence classes"
    prosecutor = 1.0 / f
    journalist = 1.0 / big_f
    marketer_rate = float(np.mean(journalist))
    journalist_average = marketer_rate if rc1 is None else max(rc1, marketer_rate)
    details: dict[str, Any] = {"population_rows": n_population}
    if n_classes is not None:
        details |= {"n_classes": n_classes, "min_class_size": int(f.min())}
    at_risk = float(np.mean(journalist > threshold))
    return ReidentificationRisk(
        prosecutor=RiskSummary(
            highest=float(prosecutor.max()),
            average=float(np.mean(prosecutor)),
            records_at_risk=float(np.mean(prosecutor > threshold)),
        ),
        journalist=RiskSummary(
            highest=float(journalist.max()),
            average=journalist_average,
            records_at_risk=at_risk,
        ),
        marketer=RiskSummary(
            highest=float(journalist.max()),
            average=marketer_rate,
            records_at_risk=at_risk,
        ),
        method=method,
        threshold=threshold,
        prosecutor_record_risk=prosecutor,
        journalist_record_risk=journalist,
        details=details,
    )


def _class_sizes(
    cells: ReleasedCells,
    control: pd.DataFrame | None,
    columns: list[Hashable],
) -> tuple[np.ndarray, np.ndarray, int, float]:
    """Per record: class size in the sample and in the population.

    Also the number of classes and ARX's ``classes / sum F``.
    """
    classes = cells.classes(columns)
    sample_sizes = np.bincount(classes)
    population_sizes = sample_sizes.copy()
    if control is not None and len(control):
        first_rows = np.unique(classes, return_index=True)[1]
        population_sizes += _assign_to_classes(cells.take(first_rows), control, columns)
    n_classes = int(sample_sizes.size)
    rc1 = n_classes / float(population_sizes.sum())
    return (
        sample_sizes[classes].astype(np.float64),
        population_sizes[classes].astype(np.float64),
        n_classes,
        rc1,
    )


def _assign_to_classes(
    representatives: ReleasedCells, records: pd.DataFrame, columns: list[Hashable]
) -> np.ndarray:
    """How many of ``records`` each class (one released row each) takes in."""
    encoded = representatives.encode(records, columns)
    counts = np.zeros(representatives.n_rows, dtype=np.int64)
    if representatives.scheme == "generalization":
        # Inside the class's ranges and sets; the first such class if several.
        weight, limit = 1.0, TOLERANCE
    else:
        # microaggregation: equal nominal values, nearest numeric ones. A
        # nominal mismatch outweighs any numeric distance (each is <= 1).
        weight = float(len(columns) + 1)
        limit = weight - 0.5
    for rows in representatives.chunks(len(records)):
        distances = representatives.distances(encoded, columns, rows, weight)
        nearest = np.argmin(distances, axis=1)
        inside = distances[np.arange(len(nearest)), nearest] <= limit
        counts += np.bincount(nearest[inside], minlength=representatives.n_rows)
    return counts


def _nearest_match_crowds(
    cells: ReleasedCells,
    original: pd.DataFrame,
    control: pd.DataFrame | None,
    columns: list[Hashable],
) -> tuple[np.ndarray, np.ndarray]:
    """Per original record: how many original (population) records lie at
    most as far from its nearest released row as it does."""
    encoded = cells.encode(original, columns)
    nearest = np.empty(len(original), dtype=np.intp)
    distance = np.empty(len(original))
    for rows in cells.chunks(len(original)):
        d = cells.distances(encoded, columns, rows)
        nearest[rows] = np.argmin(d, axis=1)
        distance[rows] = d[np.arange(d.shape[0]), nearest[rows]]
    matched = cells.take(nearest)
    crowds = []
    for table in [original] if control is None else [original, control]:
        crowd = np.zeros(len(original), dtype=np.int64)
        points = matched.encode(table, columns)
        for rows in matched.chunks(len(table)):
            # distances[p, i]: record p of `table` to record i's nearest match.
            d = matched.distances(points, columns, rows)
            crowd += np.count_nonzero(d <= distance[None, :] + TOLERANCE, axis=0)
        crowds.append(crowd)
    f = np.maximum(crowds[0], 1).astype(np.float64)
    big_f = f + (crowds[1] if len(crowds) > 1 else 0)
    return f, big_f
