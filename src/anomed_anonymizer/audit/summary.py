"""The audit's Markdown summary: one row per attack, every number with its
interval, and "n/a" where the data cannot resolve a figure."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .metrics import EPSILON_QUANTILES, FPR_LEVELS

if TYPE_CHECKING:
    from .report import AttackResult, AuditReport
    from .served import ServedPrivacy

__all__ = ["format_interval", "markdown_summary", "tpr_cell"]

_HEADER = (
    "| attack | threat model | AUC [95% CI] | TPR@0.1%FPR | TPR@1%FPR | TPR@10%FPR "
    "| bal. acc. | advantage [95% CI] | ε ≥ | verdict |"
)


def format_interval(
    value: float, interval: tuple[float, float], digits: int = 3
) -> str:
    """``0.653 [0.62, 0.69]``.

    Examples
    --------
    >>> format_interval(0.6534, (0.6213, 0.6871))
    '0.653 [0.62, 0.69]'
    """
    low, high = interval
    return f"{value:.{digits}f} [{low:.2f}, {high:.2f}]"


def tpr_cell(attack: AttackResult, level: float) -> str:
    """TPR at an FPR level with its interval, or ``n/a`` if unresolvable."""
    value = attack.metrics.tpr_at_fpr[level]
    interval = attack.metrics.tpr_at_fpr_ci[level]
    if value is None or interval is None:
        return "n/a"
    return format_interval(value, interval)


def _row(attack: AttackResult) -> str:
    m = attack.metrics
    cells = [
        attack.name,
        attack.threat_model,
        format_interval(m.auc, m.auc_ci),
        *(tpr_cell(attack, level) for level in FPR_LEVELS),
        f"{m.balanced_accuracy:.3f}",
        format_interval(m.advantage, m.advantage_ci),
        f"{m.epsilon_lower_bound:.2f}",
        attack.verdict,
    ]
    return "| " + " | ".join(cells) + " |"


def markdown_summary(report: AuditReport) -> str:
    """The summary the CLI prints and ``--markdown`` writes."""
    settings = report.settings
    lines = [
        f"## Membership-inference audit of {report.target}",
        "",
        f"{report.n_members} members vs {report.n_non_members} non-members "
        f"(balanced), {settings.get('confidence', 0.95):.0%} intervals"
        + _reference_clause(settings)
        + ".",
        "",
        _HEADER,
        "|" + "---|" * 10,
        *(_row(attack) for attack in report.attacks),
        "",
        f"**Verdict: {report.verdict}.** " + _verdict_sentence(report),
    ]
    unresolved = [level for level in FPR_LEVELS if report.n_non_members * level < 1]
    if unresolved:
        needs = ", ".join(
            f"{level:.1%} at least {round(1 / level)}" for level in unresolved
        )
        lines.append(
            f"- TPR at FPR {', '.join(f'{level:.1%}' for level in unresolved)}: n/a, "
            f"since {report.n_non_members} non-members cannot resolve it (FPR "
            f"{needs} non-members)."
        )
    lines.extend(_utility_lines(report))
    lines.extend(_lira_lines(report))
    lines.extend(_privacy_lines(report))
    lines.extend(f"- {note}" for note in report.notes)
    lines.append(
        "- Advantage is TPR - FPR at a threshold chosen on other samples than "
        "those counted; ε ≥ is an empirical lower bound, the largest over "
        f"{len(EPSILON_QUANTILES)} thresholds at quantiles of the other samples' "
        "scores, its Clopper-Pearson limits corrected for them (Bonferroni); "
        "AUC and TPR intervals are stratified bootstraps. Each "
        "row's intervals hold for that attack alone; the verdicts account for "
        f"all {len(report.attacks)} (Holm-adjusted p-values in the JSON report), "
        "so the largest ε bound of several attacks is not itself a bound at "
        f"{settings.get('confidence', 0.95):.0%}."
    )
    lines.extend(["", trade_off_line(report)])
    return "\n".join(lines) + "\n"


def trade_off_line(report: AuditReport) -> str:
    """Utility, the claimed ε and the strongest attack in one line, e.g.
    ``Trade-off: held-out accuracy 0.93 at ε = 1 (claimed); strongest attack
    AUC 0.61 [0.55, 0.67] (leaks)``."""
    held_out = (report.utility or {}).get("held_out") or {}
    if held_out:
        name, value = next(iter(held_out.items()))
        label, spec = (
            ("accuracy", ".2f") if name == "accuracy" else (name.upper(), ".4g")
        )
        utility = f"held-out {label} {value:{spec}}"
    else:
        utility = "utility not measured"
    served = _served(report)
    if served is not None:  # a black-box audit: what GET /privacy says
        budget = served.summary
    else:
        epsilon = (report.privacy or {}).get("epsilon")
        budget = "no ε claimed" if epsilon is None else f"ε = {epsilon:.3g} (claimed)"
    strongest = report.strongest()
    low, high = strongest.metrics.auc_ci
    return (
        f"Trade-off: {utility} at {budget}; strongest attack "
        f"({strongest.name}) AUC {strongest.metrics.auc:.2f} "
        f"[{low:.2f}, {high:.2f}] ({report.verdict})"
    )


def _lira_lines(report: AuditReport) -> list[str]:
    """How LiRA's Gaussians were fitted (from its online run: both sides)."""
    runs = [a for a in report.attacks if "lira_variance" in a.details]
    if not runs:
        return []
    details = max(runs, key=lambda a: len(a.details["variance_prior_weight"])).details
    weights = ", ".join(
        f"{side.upper()} {weight:.2f}"
        for side, weight in details["variance_prior_weight"].items()
    )
    if details["lira_variance"] == "pooled":
        how = "one variance pooled over all samples (too few models for their own)"
    else:
        how = (
            "each sample's variance moderated towards a prior fitted to all "
            f"samples (the prior's weight: {weights}; 1 would be pooling)"
        )
    if "logit_clip" not in details:  # a regressor's LiRA: no probabilities
        return [f"- LiRA on the loss: {how}."]
    return [
        f"- LiRA: {how}; probabilities of exactly 0 or 1, if any, clipped at "
        f"{details['logit_clip']:.3g} (half the smallest step of the others)."
    ]


def _utility_lines(report: AuditReport) -> list[str]:
    """A classifier's accuracy or a regressor's MSE and MAE, held out and on
    its training rows."""
    utility = report.utility
    if not utility:
        return []
    if "accuracy" in utility["held_out"]:
        return [
            f"- Utility: held-out accuracy {utility['held_out']['accuracy']:.2f}, "
            f"on the training rows {utility['training']['accuracy']:.2f}."
        ]

    def figures(split: str) -> str:
        return ", ".join(
            f"{name.upper()} {value:.4g}" for name, value in utility[split].items()
        )

    return [
        f"- Utility (regression): held out {figures('held_out')}; on the "
        f"training rows {figures('training')}."
    ]


def _privacy_lines(report: AuditReport) -> list[str]:
    """The claimed budget and the checks, a failed check first and in bold."""
    lines = []
    privacy = report.privacy
    served = _served(report)
    if served is not None:
        lines.append(f"- {served.line()}")
    elif privacy and privacy.get("epsilon") is not None:
        lines.append(
            f"- Claimed: ε = {privacy['epsilon']:.3g}, δ = {privacy['delta']:.3g} "
            f"({privacy['mechanism']}, {privacy['accountant']})."
        )
        for reason in (privacy.get("details") or {}).get("void_reasons", []):
            lines.append(f"- **The claimed ε does not hold: {reason}.**")
    if report.one_run is not None:
        one_run = report.one_run
        text = f"One-run DP audit: {one_run['summary']}."
        lines.append(f"- **{text}**" if one_run.get("contradicted") else f"- {text}")
    order = {"failed": 0, "inconclusive": 1, "passed": 2, "skipped": 3}
    for check in sorted(report.checks, key=lambda c: order.get(c.status, 4)):
        text = f"Check {check.name}: {check.status} ({check.detail})."
        lines.append(f"- **{text}**" if check.status == "failed" else f"- {text}")
    return lines


def _served(report: AuditReport) -> ServedPrivacy | None:
    """What the served model's ``GET /privacy`` said, in a black-box audit."""
    url = report.settings.get("privacy_url")
    if url is None:
        return None
    from .served import ServedPrivacy

    return ServedPrivacy(url, report.privacy, report.settings.get("privacy_problem"))


def _reference_clause(settings: dict) -> str:
    models = settings.get("reference_models")
    return f", {models} reference models" if models else ""


def _verdict_sentence(report: AuditReport) -> str:
    from .report import FLIPPED, NO_LEAK_MARGIN

    strongest = report.strongest()
    low, high = strongest.metrics.auc_ci
    k = len(report.attacks)
    margin = 0.5 + NO_LEAK_MARGIN
    if report.verdict == "leaks":
        leaking = [a.name for a in report.attacks if a.verdict == "leaks"]
        return (
            f"{', '.join(leaking)} tell members from non-members better than "
            f"chance (AUC > 0.5, one-sided Mann-Whitney test, Holm-corrected for "
            f"{k} attacks); strongest: {strongest.name}, "
            f"AUC {strongest.metrics.auc:.3f} [{low:.2f}, {high:.2f}]."
        )
    if report.verdict == FLIPPED:
        flipped = [a.name for a in report.attacks if a.verdict == FLIPPED]
        return (
            f"No attack beats chance in the direction it claims, but in "
            f"{', '.join(flipped)}, members score *lower* than non-members (AUC "
            f"interval, widened for {k} attacks, wholly below 0.5). That is a "
            "difference between members and non-members with its sign flipped "
            "(an attacker who knew the direction would use it, or the attack is "
            "miscalibrated), not evidence of privacy: find out why before "
            "trusting the other attacks."
        )
    if report.verdict == "no leak found":
        return (
            f"No attack beats chance after the correction for trying {k}, and "
            f"every AUC interval (widened for them) stays below {margin:g}. "
            "Stronger attacks than these may still exist."
        )
    degenerate = [
        a.name for a in report.attacks if a.verdict == "inconclusive" and a.degenerate
    ]
    wide = [
        a.name
        for a in report.attacks
        if a.verdict == "inconclusive" and a.name not in degenerate
    ]
    parts = [f"No attack beats chance after the correction for trying {k} (Holm)."]
    if wide:
        parts.append(
            f"The AUC {_of(wide, 'interval')} past {margin:g}: too few samples "
            "to rule out a leak; audit with more data."
        )
    if degenerate:
        parts.append(
            f"{', '.join(degenerate)} gave every sample the same score, which "
            "says nothing about the model (an attack that could not learn is "
            "no evidence of privacy)."
        )
    return " ".join(parts)


def _of(names: list[str], noun: str) -> str:
    """``interval of gap reaches`` or ``intervals of gap, RMIA reach``."""
    if len(names) == 1:
        return f"{noun} of {names[0]} reaches"
    return f"{noun}s of {', '.join(names)} reach"
