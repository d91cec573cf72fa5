"""Verdicts that say what the scores show: an attack that told no one apart
is no evidence of privacy, and members scoring lower is a signal too."""

from __future__ import annotations

import dataclasses
import json

import numpy as np

from anomed_anonymizer.audit.metrics import evaluate_scores
from anomed_anonymizer.audit.report import (
    FLIPPED,
    VERDICTS,
    AttackResult,
    AuditReport,
)


def result(
    name: str, members: np.ndarray, non_members: np.ndarray, n_bootstrap: int = 400
) -> AttackResult:
    metrics = evaluate_scores(members, non_members, n_bootstrap=n_bootstrap)
    return AttackResult(name, "label-only", metrics, members, non_members)


def null_attacks(count: int, n: int, seed: int = 0) -> list[AttackResult]:
    rng = np.random.default_rng(seed)
    return [
        result(f"null {i}", rng.normal(size=n), rng.normal(size=n), n_bootstrap=200)
        for i in range(count)
    ]


def test_an_attack_whose_scores_all_tie_is_inconclusive():
    """An attack model that cannot split its fold scores everyone alike:
    AUC 0.5 with an interval of no width, which the old rule read as "no leak
    found" (the interval ends below 0.55)."""
    tied = result("tied", np.zeros(20), np.zeros(20))
    assert tied.metrics.auc_ci == (0.5, 0.5)
    report = AuditReport(20, 20, [tied], "x", {"confidence": 0.95})
    assert tied.degenerate
    assert tied.verdict == "inconclusive"
    assert "every score is 0" in tied.verdict_reason
    assert "told no one apart" in tied.verdict_reason
    assert report.verdict == "inconclusive"
    markdown = report.to_markdown()
    assert "gave every sample the same score" in markdown
    assert "past 0.55" not in markdown  # not for want of samples
    data = json.loads(report.to_json())["attacks"][0]
    assert data["verdict"] == "inconclusive"
    assert data["verdict_reason"] == tied.verdict_reason


def test_an_interval_of_no_width_is_inconclusive():
    members, non_members = np.r_[np.zeros(19), 1.0], np.r_[np.zeros(19), 1.0]
    attack = result("flat", members, non_members)
    flat = dataclasses.replace(
        attack.metrics,
        auc_ci=(0.5, 0.5),
        auc_bootstrap=np.full(400, 0.5),
        auc_counts=None,  # the bootstrap's interval, not Newcombe's
    )
    attack = AttackResult("flat", "scores", flat, members, non_members)
    assert attack.verdict == "inconclusive"
    assert "no width" in attack.verdict_reason


def test_members_scoring_lower_is_a_signal_with_flipped_sign():
    """AUC 0.28 on 150 a side, among six attacks without signal: the old rule
    said "no leak found" (the interval ends far below 0.55)."""
    rng = np.random.default_rng(5)
    flipped = result("flipped", rng.normal(-0.8, 1, 150), rng.normal(0, 1, 150))
    report = AuditReport(
        150, 150, [*null_attacks(6, 150), flipped], "x", {"confidence": 0.95}
    )
    _, high = flipped.metrics.auc_interval(1 - 0.05 / 7)
    assert high < 0.5
    assert flipped.verdict == FLIPPED == "signal with flipped sign"
    assert "members score lower than non-members" in flipped.verdict_reason
    assert "widened for 7 attacks" in flipped.verdict_reason
    assert report.verdict == FLIPPED
    markdown = report.to_markdown()
    assert f"**Verdict: {FLIPPED}.**" in markdown
    assert "members score *lower* than non-members" in markdown
    assert "not evidence of privacy" in markdown
    assert "No attack beats chance after" not in markdown


def test_a_leak_outranks_a_flipped_signal_and_a_flipped_signal_outranks_the_rest():
    rng = np.random.default_rng(6)
    leak = result("leak", rng.normal(0.8, 1, 150), rng.normal(0, 1, 150))
    flipped = result("flipped", rng.normal(-0.8, 1, 150), rng.normal(0, 1, 150))
    tied = result("tied", np.zeros(150), np.zeros(150))
    settings = {"confidence": 0.95}
    assert AuditReport(150, 150, [tied, flipped, leak], "x", settings).verdict == (
        "leaks"
    )
    assert AuditReport(150, 150, [tied, flipped], "x", settings).verdict == FLIPPED
    assert VERDICTS[:2] == ("leaks", FLIPPED)


def test_a_weakly_negative_auc_whose_interval_reaches_half_is_not_flipped():
    rng = np.random.default_rng(8)
    weak = result("weak", rng.normal(-0.1, 1, 150), rng.normal(0, 1, 150))
    assert weak.metrics.auc < 0.5
    assert weak.metrics.auc_upper(0.95) > 0.5
    assert weak.verdict in ("no leak found", "inconclusive")
