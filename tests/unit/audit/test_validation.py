"""The audit tells a model that memorizes from a differentially private one.

These are the issue's acceptance checks, on seeded data and seeded attacks:
they either hold for this seed or the audit is broken.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

pytestmark = pytest.mark.slow

LABEL_ONLY = (
    "gap",
    "ART black-box (baseline)",
    "noise robustness",
    "decision boundary (HopSkipJump)",
)
SCORE_BASED = ("LiRA (offline)", "LiRA (online)", "RMIA (offline)", "RMIA (online)")


def dp_auc_ceiling(epsilon: float) -> float:
    """The largest ROC AUC any attack can reach on an epsilon-DP model.

    Every test satisfies TPR <= min(e^eps * FPR, 1 - e^-eps * (1 - FPR)); the
    two lines cross at FPR = 1 / (1 + e^eps), and the area under their
    minimum is e^eps / (1 + e^eps).
    """
    return 1.0 / (1.0 + math.exp(-epsilon))


def test_sets_are_balanced_and_as_large_as_the_data_allows(overfit_audit, digits):
    audit, report = overfit_audit
    _, y = digits
    assert report.n_members == report.n_non_members
    assert report.n_members == sum(np.sum(y == c) // 2 for c in np.unique(y))
    assert not set(audit.members_) & set(audit.non_members_)
    for c in np.unique(y):  # every class as often among members as non-members
        assert np.sum(y[audit.members_] == c) == np.sum(y[audit.non_members_] == c)
    assert [a.name for a in report.attacks] == [*LABEL_ONLY, *SCORE_BASED]


def test_label_only_attacks_find_the_memorizing_model(overfit_audit):
    _, report = overfit_audit
    for name in LABEL_ONLY:
        attack = report.attack(name)
        assert attack.metrics.auc_ci[0] > 0.5, (name, attack.metrics.auc_ci)
        assert attack.verdict == "leaks"
        assert attack.metrics.advantage_ci[0] > 0, name


def test_score_attacks_reach_ten_percent_tpr_at_one_percent_fpr(overfit_audit):
    _, report = overfit_audit
    for name in SCORE_BASED:
        assert report.attack(name).metrics.tpr_at_fpr[0.01] >= 0.10, name


def test_our_strongest_label_only_attack_beats_the_art_baseline(overfit_audit):
    _, report = overfit_audit
    ours = max(report.attack(n).metrics.auc for n in LABEL_ONLY if "ART" not in n)
    assert ours >= report.attack("ART black-box (baseline)").metrics.auc
    markdown = report.to_markdown()
    assert "| ART black-box (baseline) |" in markdown
    assert "| noise robustness |" in markdown


def test_memorizing_model_has_a_positive_epsilon_lower_bound(overfit_audit):
    _, report = overfit_audit
    assert report.strongest().metrics.epsilon_lower_bound > 1.0


def test_dp_model_shows_no_more_than_its_epsilon_allows(dp_report):
    epsilon = 0.1
    ceiling = dp_auc_ceiling(epsilon)
    assert 0.52 < ceiling < 0.53
    for attack in dp_report.attacks:
        low, _ = attack.metrics.auc_ci
        assert low <= ceiling, (attack.name, attack.metrics.auc_ci)
        assert attack.verdict != "leaks", attack.name
        tpr_low, _ = attack.metrics.tpr_at_fpr_ci[0.01]
        assert tpr_low <= math.exp(epsilon) * 0.01, (attack.name, tpr_low)
        assert attack.metrics.epsilon_lower_bound <= epsilon, attack.name


def test_intervals_contain_their_estimates(overfit_audit, dp_report):
    for report in (overfit_audit[1], dp_report):
        for attack in report.attacks:
            m = attack.metrics
            assert m.auc_ci[0] <= m.auc <= m.auc_ci[1]
            assert m.advantage_ci[0] <= m.advantage <= m.advantage_ci[1]
            for level, value in m.tpr_at_fpr.items():
                if value is not None:
                    low, high = m.tpr_at_fpr_ci[level]
                    assert low <= value <= high, (attack.name, level)
