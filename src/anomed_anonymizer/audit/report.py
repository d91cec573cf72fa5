"""The audit's findings: per attack, its metrics and a verdict the data supports."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .exposure import most_exposed, score_lists, scoring_at_least_last
from .metrics import FPR_LEVELS, AttackMetrics, holm

__all__ = ["FLIPPED", "VERDICTS", "AttackResult", "AuditReport", "Check"]

#: An AUC interval entirely below this, yet containing 0.5, shows no leak.
NO_LEAK_MARGIN = 0.05

#: The verdict of an attack whose members score *lower* than its non-members.
FLIPPED = "signal with flipped sign"

#: Every verdict, in the order in which an audit's verdict takes them from
#: its attacks: one leak makes the audit leak, one flipped signal rules out
#: "no leak found", and so does one attack that cannot tell.
VERDICTS = ("leaks", FLIPPED, "inconclusive", "no leak found")


@dataclass
class AttackResult:
    """One attack's scores and what they show.

    Attributes
    ----------
    name : str
        E.g. ``"LiRA (online)"``.
    threat_model : str
        ``"label-only"`` or ``"scores"``.
    metrics : AttackMetrics
        AUC, TPRs, advantage, epsilon bound and their intervals.
    member_scores, non_member_scores : numpy.ndarray
        The raw scores (higher: more likely a member).
    details : dict
        Attack settings worth reporting (e.g. RMIA's offline ``a``).
    adjusted_p_value : float or None
        ``metrics.p_value`` after Holm's correction for the other attacks of
        the same audit; set by :class:`AuditReport`.
    family_size : int
        How many attacks the audit compares (1 on its own).
    alpha : float
        ``1 - confidence`` of the audit's intervals.
    member_indices, non_member_indices : numpy.ndarray or None
        The audited row of each score (see :mod:`.exposure`); ``None``:
        the scores' positions.
    """

    name: str
    threat_model: str
    metrics: AttackMetrics
    member_scores: np.ndarray
    non_member_scores: np.ndarray
    details: dict[str, Any] = field(default_factory=dict)
    adjusted_p_value: float | None = None
    family_size: int = 1
    alpha: float = 0.05
    member_indices: np.ndarray | None = None
    non_member_indices: np.ndarray | None = None

    @property
    def verdict(self) -> str:
        """One of :data:`VERDICTS`, corrected for the number of attacks the
        audit tried; :attr:`verdict_reason` says why.

        ``leaks``: the Holm-adjusted one-sided p-value of "AUC > 0.5" is below
        ``alpha / 2`` (the level at which a two-sided interval would exclude
        0.5 from above), so the chance that *any* attack of a model without
        signal is called leaking stays below ``alpha / 2``.
        ``signal with flipped sign``: the AUC interval widened for the attacks
        compared (Bonferroni, level ``1 - alpha / family_size``) lies wholly
        below 0.5: members score *lower* than non-members. That is evidence
        of a difference between them (an attacker who knew the direction
        would use it; or the attack is miscalibrated), never of privacy.
        ``inconclusive`` where every score ties or the bootstrap interval has
        no width (the attack told no one apart: an attack model that could
        not learn says nothing about the target), or where the widened
        interval reaches ``0.5 + NO_LEAK_MARGIN``: too few samples to tell.
        ``no leak found``: the widened interval ends below that.
        """
        return self._judgement()[0]

    @property
    def degenerate(self) -> bool:
        """Whether every score ties or the AUC's bootstrap interval has no
        width: the attack told no one apart, and its AUC of 0.5 is no
        evidence of privacy."""
        scores = self._scores()
        low, high = self.metrics.auc_ci
        return bool(np.unique(scores).size < 2 or low == high)

    def _scores(self) -> np.ndarray:
        return np.concatenate(
            (np.ravel(self.member_scores), np.ravel(self.non_member_scores))
        )

    @property
    def verdict_reason(self) -> str:
        """Why :attr:`verdict` says what it says, in words."""
        return self._judgement()[1]

    def _judgement(self) -> tuple[str, str]:
        k = self.family_size
        attacks = f"{k} attacks" if k > 1 else "1 attack"
        p = self.metrics.p_value
        if self.adjusted_p_value is not None:
            p = self.adjusted_p_value
        if p < self.alpha / 2:
            return "leaks", (
                f"members score higher: one-sided Mann-Whitney p = {p:.2g} "
                f"(Holm-adjusted for {attacks}) < {self.alpha / 2:g}"
            )
        low, high = self.metrics.auc_interval(1 - self.alpha / k)
        widened = f"AUC interval widened for {attacks} [{low:.3f}, {high:.3f}]"
        if high < 0.5:
            return FLIPPED, (
                f"{widened} lies wholly below 0.5: members score lower than "
                "non-members, a difference between them, not privacy"
            )
        scores = self._scores()
        if scores.size and np.unique(scores).size < 2:
            return "inconclusive", (
                f"every score is {scores[0]:.3g}: the attack told no one apart, "
                "which says nothing about the model"
            )
        if self.degenerate:
            return "inconclusive", (
                "the AUC bootstrap interval has no width: the scores leave "
                "nothing to resample"
            )
        if high < 0.5 + NO_LEAK_MARGIN:
            return "no leak found", (
                f"no test rejects, and the {widened} ends below "
                f"{0.5 + NO_LEAK_MARGIN:g}"
            )
        return "inconclusive", (
            f"no test rejects, but the {widened} reaches past "
            f"{0.5 + NO_LEAK_MARGIN:g}: too few samples to rule out a leak"
        )

    def to_dict(self, include_scores: bool = False) -> dict[str, Any]:
        """The JSON form (the issue's layout plus intervals and details);
        with ``include_scores`` also every sample's score and row and the
        most exposed members (:func:`.exposure.score_lists`)."""
        m = self.metrics
        return {
            "name": self.name,
            "threat_model": self.threat_model,
            "auc": m.auc,
            "auc_ci": list(m.auc_ci),
            "auc_ci_method": "newcombe" if m.auc_counts is not None else "bootstrap",
            "tpr_at_fpr": {str(level): m.tpr_at_fpr[level] for level in FPR_LEVELS},
            "tpr_at_fpr_ci": {
                str(level): _list_or_none(m.tpr_at_fpr_ci[level])
                for level in FPR_LEVELS
            },
            "balanced_accuracy": m.balanced_accuracy,
            "advantage": m.advantage,
            "advantage_ci": list(m.advantage_ci),
            "epsilon_lower_bound": m.epsilon_lower_bound,
            "epsilon_fpr_ci": list(m.fpr_ci),
            "epsilon_fnr_ci": list(m.fnr_ci),
            "epsilon_quantile": m.epsilon_quantile,
            "p_value": m.p_value,
            "p_value_holm": self.adjusted_p_value,
            "verdict": self.verdict,
            "verdict_reason": self.verdict_reason,
            **({"details": self.details} if self.details else {}),
            **(score_lists(self) if include_scores else {}),
        }


@dataclass(frozen=True)
class Check:
    """A yes/no property of the audited model, beside the attacks.

    Attributes
    ----------
    name : str
        What is checked, e.g. ``"DP training is randomized"``.
    status : str
        ``passed``, ``failed``, ``inconclusive`` or ``skipped``.
    detail : str
        Why, in words (what was compared, on how many rows).
    """

    name: str
    status: str
    detail: str

    def to_dict(self) -> dict[str, str]:
        """The JSON form."""
        return {"name": self.name, "status": self.status, "detail": self.detail}


def _list_or_none(interval: tuple[float, float] | None) -> list[float] | None:
    return None if interval is None else list(interval)


@dataclass
class AuditReport:
    """Everything one audit found.

    Attributes
    ----------
    n_members, n_non_members : int
        Sizes of the balanced evaluation sets.
    attacks : list[AttackResult]
        Label-only attacks first, then score-based ones.
    target : str
        What was audited (an object's name or a URL).
    settings : dict
        Seed, confidence, reference models, dataset and other parameters.
    notes : list[str]
        What was skipped or should be kept in mind, in words.
    checks : list[Check]
        Properties checked beside the attacks (e.g. that a DP model's
        training is randomized).
    privacy : dict | None
        The budget the audited model claims (the ``/privacy`` JSON), ``None``
        without one or when unknown. A black-box audit asks the server's
        ``GET /privacy``; ``settings["privacy_url"]`` then says where, and
        ``settings["privacy_problem"]`` why nothing usable came (else ``None``).
    one_run : dict | None
        The one-run DP audit's result (``OneRunResult.to_dict()``): "audited
        ε ≥ x" beside the claim; ``None`` where it did not run.
    indices_into : str
        What the attacks' row indices index, in words (see :mod:`.exposure`).
    utility : dict | None
        The audited model's utility on the held-out rows (the non-members)
        and on its training rows: for a regressor
        ``{"held_out": {"mse": ..., "mae": ...}, "training": {...}}``
        (:func:`~.regression.regression_utility`), for a classifier audited
        in-process ``{"held_out": {"accuracy": ...}, "training": {...}}``
        (:func:`~.utility.classification_utility`, strict accuracy as the
        challenge scores it; a black-box audit: on the balanced members
        and non-members it attacked); ``None`` where not measured.
    """

    n_members: int
    n_non_members: int
    attacks: list[AttackResult]
    target: str
    settings: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    privacy: dict[str, Any] | None = None
    one_run: dict[str, Any] | None = None
    indices_into: str = "positions of the scores"
    utility: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        # One family: every attack of this audit, tested on the same samples.
        adjusted = holm([attack.metrics.p_value for attack in self.attacks])
        alpha = 1.0 - float(self.settings.get("confidence", 0.95))
        for attack, p in zip(self.attacks, adjusted, strict=True):
            attack.adjusted_p_value = float(p)
            attack.family_size = len(self.attacks)
            attack.alpha = alpha

    def attack(self, name: str) -> AttackResult:
        """The result of the attack called ``name``.

        Raises
        ------
        KeyError
            If no attack of that name ran.
        """
        for result in self.attacks:
            if result.name == name:
                return result
        raise KeyError(f"no attack {name!r}; ran: {[a.name for a in self.attacks]}")

    def strongest(self, threat_model: str | None = None) -> AttackResult:
        """The attack with the highest AUC (of one threat model, if given)."""
        candidates = [a for a in self.attacks if threat_model in (None, a.threat_model)]
        if not candidates:
            raise KeyError(f"no {threat_model} attack ran")
        return max(candidates, key=lambda a: a.metrics.auc)

    @property
    def verdict(self) -> str:
        """The first of :data:`VERDICTS` that an attack has: ``leaks`` if any
        attack leaks after Holm's correction, else ``signal with flipped
        sign`` if members score lower in one, else ``inconclusive`` if one
        cannot tell; ``no leak found`` only if every attack says so."""
        verdicts = {a.verdict for a in self.attacks}
        for verdict in VERDICTS:
            if verdict in verdicts:
                return verdict
        return "no leak found"

    def to_dict(self, include_scores: bool = False) -> dict[str, Any]:
        """The JSON report.

        ``most_exposed_members`` names the strongest attack (highest AUC)
        and its :data:`~.exposure.TOP_EXPOSED` members with the highest
        scores, as rows of the audited data (``indices_into``), and how many
        members score at least as high as the last of them (more than
        listed: ties, broken by the lower index). With
        ``include_scores`` every attack also lists each sample's score and
        row, and its own most exposed members.
        """
        report = {
            "target": self.target,
            "n_members": self.n_members,
            "n_non_members": self.n_non_members,
            "verdict": self.verdict,
            "settings": self.settings,
            "notes": self.notes,
            "privacy": self.privacy,
            "checks": [check.to_dict() for check in self.checks],
            "one_run": self.one_run,
            "attacks": [attack.to_dict(include_scores) for attack in self.attacks],
            "most_exposed_members": self._most_exposed(),
        }
        if self.attacks:
            from .summary import trade_off_line

            report["trade_off"] = trade_off_line(self)
        if self.utility is not None:  # accuracy, or a regressor's MSE and MAE
            report["utility"] = self.utility
        return report

    def _most_exposed(self) -> dict[str, Any] | None:
        if not self.attacks:
            return None
        strongest = self.strongest()
        return {
            "attack": strongest.name,
            "indices_into": self.indices_into,
            "rows": most_exposed(strongest),
            "members_scoring_at_least_the_last": scoring_at_least_last(strongest),
        }

    def to_json(
        self, path: str | Path | None = None, *, include_scores: bool = False
    ) -> str:
        """The JSON report as text (infinite values as ``null``); written to
        ``path`` if given. ``include_scores``: see :meth:`to_dict`."""
        text = json.dumps(_finite(self.to_dict(include_scores)), indent=2) + "\n"
        if path is not None:
            Path(path).write_text(text)
        return text

    def to_markdown(self) -> str:
        """A short Markdown summary: sizes, one table row per attack, notes."""
        from .summary import markdown_summary

        return markdown_summary(self)

    def plot_roc(self, path: str | Path, title: str | None = None) -> Path:
        """Draw all attacks' ROC curves on log-log axes into a PNG at ``path``."""
        from .plot import plot_roc

        return plot_roc({"": self}, path, title=title or f"Audit of {self.target}")


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    return value
