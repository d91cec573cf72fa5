"""What the table audit's numbers mean for a release: a verdict per risk,
the columns that drive it, and what would bring it under the threshold.

A verdict is only as strong as the data: an attack's risk is an estimate
with a confidence interval, and the verdict is ``above threshold`` only when
the whole interval lies above it, ``below threshold`` only when the whole
interval lies at or below it, and ``inconclusive`` when the interval
straddles it (more attacks, ``n_attacks``, narrow it). The
re-identification risks are computed exactly on the release (no sampling),
so theirs are decided by the figure itself.

The remedy names the anonymizer's ``k`` where it has one: the smallest
``k`` with which the k-anonymity of the release brings every record's
prosecutor risk (``1 / class size``) to at most the threshold, and, where
:func:`~.core.audit_table` searched, the smallest ``k`` it tried with which
the anonymizer's own release passed every risk (see :func:`search_k`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from .report import TableAudit

__all__ = [
    "ABOVE",
    "BELOW",
    "INCONCLUSIVE",
    "RiskGuidance",
    "interval_verdict",
    "k_needed",
    "risk_guidance",
    "search_k",
]

ABOVE, BELOW, INCONCLUSIVE = "above threshold", "below threshold", "inconclusive"

#: Schemes whose release is made of classes of at least k records.
_CLASS_SCHEMES = ("generalization", "microaggregation")


def interval_verdict(ci: tuple[float, float], threshold: float) -> str:
    """``above threshold`` if the whole interval is above ``threshold``,
    ``below threshold`` if it is wholly at or below it, else
    ``inconclusive``.

    Examples
    --------
    >>> interval_verdict((0.12, 0.30), 0.1)
    'above threshold'
    >>> interval_verdict((0.0, 0.08), 0.1)
    'below threshold'
    >>> interval_verdict((0.05, 0.15), 0.1)
    'inconclusive'
    """
    low, high = ci
    if low > threshold:
        return ABOVE
    if high <= threshold:
        return BELOW
    return INCONCLUSIVE


def k_needed(threshold: float) -> int:
    """The smallest class size whose prosecutor risk ``1 / k`` is at most
    ``threshold`` (a record is at risk above it).

    Examples
    --------
    >>> k_needed(0.1), k_needed(0.3), k_needed(1.0)
    (10, 4, 1)
    """
    return max(1, math.ceil(1.0 / threshold - 1e-9))


@dataclass
class RiskGuidance:
    """One risk of the release, judged.

    Attributes
    ----------
    risk : str
        ``k-anonymity`` (prosecutor), ``journalist``, ``marketer``, or an
        attack's name (``singling-out-univariate``, ``linkability``, ...).
    value : float
        The figure judged (the highest record risk, or the attack's risk).
    ci : tuple of float or None
        The attack's interval; ``None`` for an exact figure.
    threshold : float
        What it is judged against.
    verdict : str
        :data:`ABOVE`, :data:`BELOW` or :data:`INCONCLUSIVE`.
    reason : str
        Why, in words.
    columns : dict
        The columns that drive the risk, with their contribution (singling
        out: successful queries that use the column; inference: the risk
        lost without the column); empty where not measured.
    remedy : str
        What would bring the risk under the threshold, or why that cannot be
        determined.
    """

    risk: str
    value: float
    ci: tuple[float, float] | None
    threshold: float
    verdict: str
    reason: str
    columns: dict[str, float] = field(default_factory=dict)
    remedy: str = ""

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (``ci`` a list or ``None``)."""
        return {
            "risk": self.risk,
            "value": self.value,
            "ci": None if self.ci is None else [self.ci[0], self.ci[1]],
            "threshold": self.threshold,
            "verdict": self.verdict,
            "reason": self.reason,
            "columns": self.columns,
            "remedy": self.remedy,
        }


def risk_guidance(
    audit: TableAudit,
    threshold: float,
    *,
    anonymizer_k: int | None = None,
    k_search: dict[str, Any] | None = None,
) -> list[RiskGuidance]:
    """Judge every risk of ``audit`` against ``threshold``.

    Parameters
    ----------
    audit : TableAudit
        The audit (its risks and attacks).
    threshold : float
        The highest acceptable risk (the audit's record-risk threshold).
    anonymizer_k : int or None
        The ``k`` the audited anonymizer was configured with, if any.
    k_search : dict or None
        What :func:`search_k` found, if it ran.

    Returns
    -------
    list of RiskGuidance
        k-anonymity, journalist, marketer, then one per attack.
    """
    guidance = _reidentification(audit, threshold, anonymizer_k, k_search)
    for attack in audit.attacks:
        verdict = interval_verdict(attack.ci, threshold)
        low, high = attack.ci
        where = {
            ABOVE: f"the whole interval [{low:.3f}, {high:.3f}] lies above "
            f"{threshold:g}",
            BELOW: f"the whole interval [{low:.3f}, {high:.3f}] lies at or below "
            f"{threshold:g}",
            INCONCLUSIVE: f"the interval [{low:.3f}, {high:.3f}] straddles "
            f"{threshold:g}: more attacks or records would narrow it",
        }[verdict]
        columns = _drivers(attack)
        guidance.append(
            RiskGuidance(
                attack.name,
                attack.risk,
                attack.ci,
                threshold,
                verdict,
                f"risk {attack.risk:.3f}; {where}",
                columns,
                _attack_remedy(
                    attack.name,
                    verdict,
                    anonymizer_k,
                    k_search,
                    {c: v for c, v in columns.items() if v > 0},
                    # Only a class scheme releases the other columns as is.
                    [str(q) for q in audit.quasi_identifiers]
                    if audit.scheme in _CLASS_SCHEMES
                    else list(columns),
                ),
            )
        )
    return guidance


def _drivers(attack: Any) -> dict[str, float]:
    if attack.name.startswith("singling-out"):
        return {k: float(v) for k, v in attack.details.get("columns", {}).items()}
    if attack.name == "inference":
        return dict(attack.details.get("column_contributions", {}))
    return {}


def _reidentification(
    audit: TableAudit,
    threshold: float,
    anonymizer_k: int | None,
    k_search: dict[str, Any] | None,
) -> list[RiskGuidance]:
    risk = audit.risk
    need = k_needed(threshold)
    classes = audit.scheme in _CLASS_SCHEMES
    out = []
    for name, summary in (
        ("k-anonymity", risk.prosecutor),
        ("journalist", risk.journalist),
        ("marketer", risk.marketer),
    ):
        verdict = ABOVE if summary.highest > threshold else BELOW
        if name == "k-anonymity":
            value = summary.highest
            if classes and summary.highest > 0:
                k_release = round(1.0 / summary.highest)
                reason = (
                    f"the smallest class has {k_release} record(s) "
                    f"(k = {k_release}): highest prosecutor risk "
                    f"{summary.highest:.3f} against {threshold:g}; "
                    f"{summary.records_at_risk:.1%} of the records at risk"
                )
            else:
                reason = (
                    f"highest prosecutor risk {summary.highest:.3f} ({risk.method}) "
                    f"against {threshold:g}; {summary.records_at_risk:.1%} of the "
                    "records at risk"
                )
        else:
            value = summary.highest if name == "journalist" else summary.average
            figure = "highest" if name == "journalist" else "average"
            reason = (
                f"{figure} {name} risk {value:.3f} against {threshold:g} (exact "
                "on this release and population)"
            )
            verdict = ABOVE if value > threshold else BELOW
        out.append(
            RiskGuidance(
                name,
                value,
                None,
                threshold,
                verdict,
                reason,
                remedy=_k_remedy(name, verdict, classes, need, anonymizer_k, k_search),
            )
        )
    return out


def _k_remedy(
    name: str,
    verdict: str,
    classes: bool,
    need: int,
    anonymizer_k: int | None,
    k_search: dict[str, Any] | None,
) -> str:
    if verdict == BELOW:
        return "none needed"
    if not classes:
        return (
            "cannot be determined: this release is not made of classes of "
            "records (synthetic rows; the risk is of the nearest match), so no "
            "k applies; a smaller release or more noise lowers it"
        )
    text = (
        f"k ≥ {need}: classes of at least {need} records give every record a "
        "prosecutor risk of at most 1/k"
        + (
            " (and journalist and marketer risk no more)"
            if name == "k-anonymity"
            else ""
        )
    )
    if anonymizer_k is not None:
        text += f"; the anonymizer has k = {anonymizer_k}"
    verified = (k_search or {}).get("remedies", {}).get(name)
    if verified:
        text += f"; {verified}"
    return text


def _attack_remedy(
    name: str,
    verdict: str,
    anonymizer_k: int | None,
    k_search: dict[str, Any] | None,
    columns: dict[str, float],
    quasi_identifiers: list[str],
) -> str:
    if verdict == BELOW:
        return "none needed"
    released = [c for c in columns if c not in quasi_identifiers][:3]
    hint = (
        f"the columns driving it ({', '.join(released)}) are released as they "
        "are (not quasi-identifiers), which no k changes: generalize them too "
        "(make them quasi-identifiers) or leave them out; "
        if released
        else ""
    )
    if k_search and name in k_search.get("remedies", {}):
        return hint + k_search["remedies"][name]
    if anonymizer_k is None:
        return hint + (
            "cannot be determined: the anonymizer has no k to raise; coarser "
            "generalization or fewer released columns lower this risk"
        )
    return hint + (
        "not determined: the k search did not run (audit_table(search_k=N) "
        "tries N larger values of k)"
    )


def search_k(
    anonymizer: Any,
    original: pd.DataFrame,
    audit_release: Callable[..., TableAudit],
    threshold: float,
    risks: Sequence[str],
    tries: int,
    options: Mapping[str, Any],
) -> dict[str, Any]:
    """Try larger ``k`` with copies of ``anonymizer`` on the same records.

    ``tries`` values of ``k`` above the anonymizer's: the ``k`` that
    k-anonymity asks for (:func:`k_needed`) and doublings (never past half
    the records), in increasing order, and audits each release with ``audit_release``
    (called with ``options``, the first audit's: the same control
    records, attacks, threshold and seed), stopping at the first
    ``k`` with which every risk in ``risks`` is :data:`BELOW` the threshold
    (its interval wholly under it).

    Returns
    -------
    dict
        ``{"tried": [{"k", "verdicts"}...], "remedies": {risk: text}}``:
        the remedy in words per risk, naming the ``k`` that passed, or that
        none of those tried did.
    """
    from sklearn.base import clone

    k0 = int(anonymizer.get_params()["k"])
    tried: list[dict[str, Any]] = []
    candidates = [k0 * 2**i for i in range(1, tries + 1)]
    if k_needed(threshold) > k0:  # the k that k-anonymity itself asks for
        candidates = sorted({*candidates[: tries - 1], k_needed(threshold)})
    candidates = [k for k in candidates if k <= len(original) // 2]
    found: dict[str, int] = {}
    for k in candidates:
        copy = clone(anonymizer).set_params(k=k)
        release, scheme = copy.anonymize(original.copy())
        audit = audit_release(original, release, scheme, **options)
        verdicts = {
            g.risk: g.verdict
            for g in risk_guidance(audit, threshold)
            if g.risk in risks
        }
        tried.append({"k": k, "verdicts": verdicts})
        for risk, verdict in verdicts.items():
            if verdict == BELOW:
                found.setdefault(risk, k)
        if all(r in found for r in risks):
            break
    ks = ", ".join(str(t["k"]) for t in tried) or "none (k cannot grow further)"

    def said(risk: str) -> str:
        if risk in found:
            return (
                f"k = {found[risk]} brings it below {threshold:g} (tried "
                f"k = {ks} with this anonymizer on these records)"
            )
        return (
            f"none of k = {ks} brought it below {threshold:g} with its "
            "interval: a larger k, coarser columns or more attacks may"
        )

    return {"tried": tried, "remedies": {risk: said(risk) for risk in risks}}
