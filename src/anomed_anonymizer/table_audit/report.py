"""The audit's result: JSON, a terminal table, an HTML page."""

from __future__ import annotations

import json
import math
from collections.abc import Hashable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .attacks import TableAttackResult
from .guidance import RiskGuidance
from .risk import ReidentificationRisk
from .utility import Marginal

__all__ = ["ATTACK_TITLES", "TableAudit", "format_columns"]

ATTACK_TITLES = {
    "singling-out-univariate": "singling out (univariate)",
    "singling-out-multivariate": "singling out (multivariate)",
    "linkability": "linkability",
    "inference": "inference",
    "reconstruction": "reconstruction",
    "k-anonymity": "k-anonymity (prosecutor)",
    "journalist": "journalist risk",
    "marketer": "marketer risk",
}


@dataclass
class TableAudit:
    """Re-identification risk, attacks and utility of one release.

    Attributes
    ----------
    n_rows : int
        Records the anonymizer was given (and released, for row-aligned
        schemes).
    scheme : str
        The release's scheme.
    quasi_identifiers : list
        The columns the attacker links on.
    sensitive : Hashable
        The column the inference and reconstruction attacks recover.
    risk : ReidentificationRisk
        Prosecutor, journalist and marketer risk.
    attacks : list of TableAttackResult
        Anonymeter's attacks (when installed and a control set is given) and
        the reconstruction attack.
    utility : dict
        ``ncp``, ``sse_sst``, ``mean_tvd``, ``mean_pairwise_tvd`` and
        ``challenge_score``.
    marginals : list of Marginal
        Every column's distribution in the input and in the release.
    n_control : int
        Held-out records (the attacks' control set, part of the population).
    n_released : int
        Rows of the release.
    anonymizer : str
        What was audited.
    notes : list of str
        What the audit could not do, and why.
    threshold : float
        The highest acceptable risk: a record's, and an attack's.
    guidance : list of RiskGuidance
        Per risk: its verdict against ``threshold`` (an interval that
        straddles it is ``inconclusive``), the columns driving it, and what
        would bring it under (:mod:`.guidance`).
    k_search : dict or None
        The larger ``k`` tried with the anonymizer, where that ran.
    """

    n_rows: int
    scheme: str
    quasi_identifiers: list[Hashable]
    sensitive: Hashable
    risk: ReidentificationRisk
    attacks: list[TableAttackResult]
    utility: dict[str, Any]
    marginals: list[Marginal] = field(repr=False)
    n_control: int = 0
    n_released: int = 0
    anonymizer: str = ""
    notes: list[str] = field(default_factory=list)
    threshold: float = 0.1
    guidance: list[RiskGuidance] = field(default_factory=list)
    k_search: dict[str, Any] | None = None

    def attack(self, name: str) -> TableAttackResult | None:
        """The attack called ``name``, or ``None`` if it did not run."""
        return next((a for a in self.attacks if a.name == name), None)

    def to_dict(self) -> dict[str, Any]:
        """The JSON report (see docs/audit-table.md)."""
        return {
            "n_rows": self.n_rows,
            "risk": self.risk.to_dict(),
            "attacks": [attack.to_dict() for attack in self.attacks],
            "utility": self.utility,
            "scheme": self.scheme,
            "anonymizer": self.anonymizer,
            "quasi_identifiers": [str(q) for q in self.quasi_identifiers],
            "sensitive": str(self.sensitive),
            "n_control": self.n_control,
            "n_released": self.n_released,
            "notes": self.notes,
            "threshold": self.threshold,
            "guidance": [g.to_dict() for g in self.guidance],
            "k_search": self.k_search,
        }

    def write_json(self, path: str | Path) -> Path:
        """Write :meth:`to_dict` as JSON to ``path``; return the path."""
        path = Path(path)
        document = _finite(self.to_dict())
        path.write_text(json.dumps(document, indent=2, allow_nan=False) + "\n")
        return path

    def write_html(self, path: str | Path) -> Path:
        """Write the HTML page (see :func:`~.html.render_html`) to ``path``."""
        from .html import render_html

        path = Path(path)
        path.write_text(render_html(self), encoding="utf-8")
        return path

    def format_table(self) -> str:
        """The audit as one plain-text table for the terminal."""
        lines = [
            f"Audit of {self.anonymizer or 'a release'} (scheme {self.scheme})",
            f"{self.n_rows} records anonymized, {self.n_released} rows released, "
            f"{self.n_control} held out as control",
            f"quasi-identifiers: {', '.join(map(str, self.quasi_identifiers))}; "
            f"sensitive: {self.sensitive}",
            "",
            f"{'re-identification risk':<30}{'highest':>9}{'average':>9}{'at risk':>9}",
        ]
        for model in ("prosecutor", "journalist", "marketer"):
            summary = getattr(self.risk, model)
            lines.append(
                f"  {model:<28}{summary.highest:>9.3f}{summary.average:>9.3f}"
                f"{summary.records_at_risk:>9.1%}"
            )
        lines.append(
            f"  ({self.risk.method}; at risk: record risk > {self.risk.threshold:g})"
        )
        lines += ["", f"{'attack':<30}{'risk':>9}  95% interval"]
        for attack in self.attacks:
            title = ATTACK_TITLES.get(attack.name, attack.name)
            extra = ""
            if attack.name == "reconstruction":
                extra = (
                    f"  (accuracy {attack.details['accuracy']:.3f}, "
                    f"base rate {attack.details['base_rate']:.3f})"
                )
            lines.append(
                f"  {title:<28}{attack.risk:>9.3f}  "
                f"[{attack.ci[0]:.3f}, {attack.ci[1]:.3f}]{extra}"
            )
        score = self.utility["challenge_score"]
        lines += [
            "",
            f"{'utility':<30}{'value':>9}",
            f"  {'NCP':<28}{_cell(self.utility['ncp'])}",
            f"  {'SSE/SST':<28}{_cell(self.utility['sse_sst'])}",
            f"  {'mean marginal TVD':<28}{_cell(self.utility['mean_tvd'])}",
            f"  {'mean pairwise TVD':<28}{_cell(self.utility['mean_pairwise_tvd'])}",
            f"  {'challenge utility score':<28}{_cell(score['utility'])}",
        ]
        if self.guidance:
            lines += ["", f"verdicts (threshold {self.threshold:g})"]
            for g in self.guidance:
                title = ATTACK_TITLES.get(g.risk, g.risk)
                lines.append(f"  {title:<28}{g.verdict}: {g.reason}")
                if g.columns:
                    lines.append(f"  {'':<28}driven by: {format_columns(g)}")
                lines.append(f"  {'':<28}to fix: {g.remedy}")
        lines += [f"note: {note}" for note in self.notes]
        for attack in self.attacks:
            title = ATTACK_TITLES.get(attack.name, attack.name)
            lines += [
                f"note: {title}: {message}"
                for message in attack.details.get("warnings", [])
            ]
        return "\n".join(lines)


def format_columns(guidance: RiskGuidance, limit: int = 5) -> str:
    """The columns driving a risk, most first: ``age (12 queries), ...``
    for singling out (successful queries using the column), ``zip (+0.120
    risk), ...`` for inference (the risk lost without the column)."""
    shown = list(guidance.columns.items())[:limit]
    if guidance.risk.startswith("singling-out"):
        cells = [f"{c} ({v:.0f} queries)" for c, v in shown]
    else:
        cells = [f"{c} ({v:+.3f} risk)" for c, v in shown]
    more = len(guidance.columns) - len(shown)
    return ", ".join(cells) + (f", and {more} more" if more > 0 else "")


def _cell(value: float | None) -> str:
    return f"{'-':>9}" if value is None else f"{value:>9.3f}"


def _finite(value: Any) -> Any:
    """``value`` with NumPy scalars as Python ones and NaN/inf as ``None``
    (JSON has neither)."""
    if isinstance(value, dict):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
