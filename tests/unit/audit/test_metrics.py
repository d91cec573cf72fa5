"""The audit's statistics: intervals that mean what they say."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import binomtest, mannwhitneyu, norm

from anomed_anonymizer.audit.metrics import (
    EPSILON_QUANTILES,
    binary_auc_interval,
    clopper_pearson,
    evaluate_scores,
    holm,
    tpr_at_fpr,
)
from anomed_anonymizer.audit.report import FLIPPED, AttackResult, AuditReport


@pytest.mark.parametrize(("k", "n"), [(0, 10), (3, 10), (10, 10), (7, 250), (1, 999)])
def test_clopper_pearson_is_scipys_exact_interval(k, n):
    expected = binomtest(k, n).proportion_ci(confidence_level=0.95, method="exact")
    low, high = clopper_pearson(k, n)
    assert float(low) == pytest.approx(expected.low, abs=1e-12)
    assert float(high) == pytest.approx(expected.high, abs=1e-12)


def test_tpr_at_fpr_walks_the_roc_curve():
    members = np.array([0.9, 0.8, 0.7, 0.1])
    non_members = np.array([0.85, 0.2, 0.15, 0.05])
    assert tpr_at_fpr(members, non_members, 0.0) == 0.25  # only 0.9 beats 0.85
    assert tpr_at_fpr(members, non_members, 0.25) == 0.75
    assert tpr_at_fpr(members, non_members, 0.125) == 0.25  # steps up after 0.85
    # A tie of one non-member and two members at the threshold: flagging half
    # of it at random spends half a false positive for one true positive.
    assert tpr_at_fpr(np.array([0.5, 0.5]), np.array([0.5, 0.1]), 0.25) == 0.5


def test_tied_scores_sit_on_the_diagonal():
    assert float(tpr_at_fpr(np.ones(50), np.ones(50), 0.1)) == pytest.approx(0.1)
    metrics = evaluate_scores(np.ones(50), np.ones(50), n_bootstrap=200)
    assert metrics.auc == 0.5
    assert metrics.advantage == 0.0
    assert metrics.epsilon_lower_bound == 0.0


def test_scores_without_signal_get_intervals_around_chance():
    rng = np.random.default_rng(1)
    for seed in range(5):
        metrics = evaluate_scores(rng.normal(size=300), rng.normal(size=300), seed=seed)
        assert metrics.auc_ci[0] < 0.5 < metrics.auc_ci[1]
        assert metrics.advantage_ci[0] < 0 < metrics.advantage_ci[1]
        assert metrics.epsilon_lower_bound == 0.0


def test_separated_scores_are_found_with_a_bounded_epsilon():
    metrics = evaluate_scores(np.full(200, 2.0), np.full(200, 1.0), n_bootstrap=200)
    assert metrics.auc == metrics.auc_ci[1] == 1.0
    # 200 of 200 on each side does not make the AUC exactly 1 (two values:
    # Newcombe's interval, whose lower end the Wilson limits set).
    assert 0.97 < metrics.auc_ci[0] < 1.0
    assert metrics.advantage == 1.0
    # No error among 200: the rates' upper limits keep epsilon finite, at the
    # level that holds for every threshold of the grid at once.
    _, high = clopper_pearson(0, 200, 1 - 0.05 / len(EPSILON_QUANTILES))
    assert metrics.epsilon_lower_bound == pytest.approx(np.log((1 - high) / high))
    assert metrics.fpr_ci[1] == metrics.fnr_ci[1] == pytest.approx(high)


def test_epsilon_bound_is_stable_across_scores_of_one_auc():
    """Ten draws of Gaussian scores with AUC 0.8 (900 a side): picking the
    threshold of largest bound on one half gave bounds from 0.01 to 2.33 (the
    other half's count at a threshold with no false negatives decides); a
    fixed grid of quantiles, Bonferroni-corrected, keeps them within a factor
    of 2 of each other."""
    shift = np.sqrt(2) * norm.ppf(0.8)
    bounds = []
    for seed in range(10):
        rng = np.random.default_rng(seed)
        members, non_members = rng.normal(shift, 1, 900), rng.normal(0, 1, 900)
        metrics = evaluate_scores(members, non_members, n_bootstrap=20, seed=seed)
        assert metrics.auc == pytest.approx(0.8, abs=0.03)
        assert metrics.epsilon_quantile in EPSILON_QUANTILES
        bounds.append(metrics.epsilon_lower_bound)
    assert min(bounds) > 1.0, bounds
    assert max(bounds) < 2 * min(bounds), bounds


def test_epsilon_bound_holds_for_a_mechanism_of_known_epsilon():
    """Randomized response at epsilon = 1 (a member answers 1 with
    probability e / (1 + e), a non-member with 1 / (1 + e)): no bound may
    exceed 1 (at 95 %: about one in twenty could), and the grid still comes
    close to it."""
    p = np.e / (1 + np.e)
    bounds = []
    for seed in range(20):
        rng = np.random.default_rng(100 + seed)
        members = (rng.random(2000) < p).astype(float)
        non_members = (rng.random(2000) < 1 - p).astype(float)
        metrics = evaluate_scores(members, non_members, n_bootstrap=20, seed=seed)
        bounds.append(metrics.epsilon_lower_bound)
    assert sum(bound > 1.0 for bound in bounds) <= 2, bounds
    assert np.median(bounds) > 0.75, bounds


def test_fpr_levels_the_non_members_cannot_resolve_are_none():
    rng = np.random.default_rng(0)
    metrics = evaluate_scores(rng.normal(size=150), rng.normal(size=150))
    assert metrics.tpr_at_fpr[0.001] is None
    assert metrics.tpr_at_fpr_ci[0.001] is None
    assert metrics.tpr_at_fpr[0.01] is not None  # 150 non-members resolve 1 %
    assert metrics.tpr_at_fpr[0.1] is not None


def test_advantage_is_measured_where_the_threshold_was_not_chosen():
    """Picking the best threshold on the same samples would report an
    advantage near 0.1 for pure noise at n = 200; cross-fitting does not."""
    rng = np.random.default_rng(7)
    advantages = [
        evaluate_scores(rng.normal(size=200), rng.normal(size=200), seed=s).advantage
        for s in range(20)
    ]
    assert abs(np.mean(advantages)) < 0.03


def test_same_seed_same_figures_and_bad_input_is_refused():
    rng = np.random.default_rng(3)
    m, n = rng.normal(0.5, size=100), rng.normal(size=100)
    assert evaluate_scores(m, n, seed=4) == evaluate_scores(m, n, seed=4)
    with pytest.raises(ValueError, match="at least 4 members"):
        evaluate_scores(m[:3], n)
    with pytest.raises(ValueError, match="NaN"):
        evaluate_scores(np.r_[m, np.nan], n)


def test_holm_matches_its_definition():
    p = np.array([0.01, 0.04, 0.03, 0.5])
    # Sorted 0.01, 0.03, 0.04, 0.5 times 4, 3, 2, 1, then running maxima.
    assert holm(p).tolist() == pytest.approx([0.04, 0.09, 0.09, 0.5])
    assert holm([0.9, 0.8]).tolist() == [1.0, 1.0]


def test_p_value_is_the_one_sided_mann_whitney_test():
    rng = np.random.default_rng(4)
    members, non_members = rng.normal(0.3, 1, 80), rng.normal(0, 1, 90)
    metrics = evaluate_scores(members, non_members, n_bootstrap=50)
    expected = mannwhitneyu(members, non_members, alternative="greater").pvalue
    assert metrics.p_value == pytest.approx(expected, rel=1e-6)
    # Members scoring *lower* is not a leak in the direction an attack claims.
    assert evaluate_scores(-members, non_members, n_bootstrap=50).p_value > 0.9
    assert evaluate_scores(np.ones(9), np.ones(9), n_bootstrap=50).p_value == 1.0


def _null_report(seed: int, attacks: int = 7, n: int = 150) -> AuditReport:
    rng = np.random.default_rng(seed)
    results = []
    for index in range(attacks):
        members, non_members = rng.normal(size=n), rng.normal(size=n)
        metrics = evaluate_scores(members, non_members, n_bootstrap=200, seed=index)
        results.append(
            AttackResult(f"a{index}", "scores", metrics, members, non_members)
        )
    return AuditReport(n, n, results, "null", {"confidence": 0.95})


def test_many_attacks_on_a_model_without_signal_rarely_say_it_leaks():
    """Seven attacks without any signal, 200 audits: judged one by one at
    97.5 % each, about 1 - 0.975**7 = 16 % of the audits would show a leak;
    Holm's correction keeps that below 2.5 % (binomial 99.9 % upper limit
    for 200 audits at 2.5 %: 13). A flipped sign (the AUC interval, widened
    for the seven, wholly below 0.5) is as rare."""
    reports = [_null_report(seed) for seed in range(200)]
    uncorrected = sum(
        any(a.metrics.p_value < 0.025 for a in report.attacks) for report in reports
    )
    leaks = sum(report.verdict == "leaks" for report in reports)
    flipped = sum(report.verdict == FLIPPED for report in reports)
    assert uncorrected >= 20, uncorrected  # the problem is real at this size
    assert leaks <= 13, leaks
    assert flipped <= 13, flipped
    assert all(a.family_size == 7 for a in reports[0].attacks)


def test_a_real_leak_survives_the_correction():
    rng = np.random.default_rng(9)
    report = _null_report(1)
    members, non_members = rng.normal(0.5, 1, 150), rng.normal(0, 1, 150)
    leak = AttackResult(
        "leak", "scores", evaluate_scores(members, non_members), members, non_members
    )
    report = AuditReport(150, 150, [*report.attacks, leak], "x", {"confidence": 0.95})
    assert leak.verdict == "leaks" and report.verdict == "leaks"
    assert leak.adjusted_p_value == pytest.approx(min(1.0, 8 * leak.metrics.p_value))
    data = report.to_dict()["attacks"][-1]
    assert data["p_value_holm"] == leak.adjusted_p_value


@pytest.mark.parametrize(
    ("counts", "expected"),
    [
        # Newcombe (1998), Table II, method 10: the interval of p1 - p2.
        ((56, 70, 48, 80), (0.0524, 0.3339)),
        ((9, 10, 3, 10), (0.1705, 0.8090)),
        ((6, 7, 2, 7), (0.0582, 0.8062)),
        ((5, 56, 0, 29), (-0.0381, 0.1926)),
    ],
)
def test_binary_auc_interval_is_newcombes_of_tpr_minus_fpr(counts, expected):
    low, high = binary_auc_interval(*counts)
    assert 2 * low - 1 == pytest.approx(expected[0], abs=1e-4)
    assert 2 * high - 1 == pytest.approx(expected[1], abs=1e-4)


def test_two_valued_scores_get_an_interval_that_keeps_its_level():
    """A memorising model: its members are (nearly) all correctly classified,
    so a label-only attack's member scores all tie. The bootstrap cannot vary
    that group; its 95 % interval covered the true AUC about 89 % of the time
    here. Newcombe's keeps 95 %."""
    rng = np.random.default_rng(7)
    n, p_members, p_non_members = 171, 0.995, 0.97
    truth = 0.5 + (p_members - p_non_members) / 2
    covered, runs = 0, 300
    for seed in range(runs):
        members = (rng.random(n) < p_members).astype(float)
        non_members = (rng.random(n) < p_non_members).astype(float)
        if np.unique(np.r_[members, non_members]).size < 2:
            continue  # every score ties (p = 0.002): [0.5, 0.5], not covered
        metrics = evaluate_scores(members, non_members, n_bootstrap=50, seed=seed)
        assert metrics.auc_counts == (
            int(members.sum()),
            n,
            int(non_members.sum()),
            n,
        )
        low, high = metrics.auc_ci
        covered += low <= truth <= high
        # The widened interval of a report is Newcombe's too.
        wide = metrics.auc_interval(0.99)
        assert wide[0] <= low and high <= wide[1]
    assert covered / runs >= 0.93


def test_the_json_says_which_interval_an_attack_got():
    rng = np.random.default_rng(3)
    correct = np.ones(40), (rng.random(40) < 0.9).astype(float)
    continuous = rng.normal(size=40), rng.normal(size=40)
    for (members, non_members), method in (
        (correct, "newcombe"),
        (continuous, "bootstrap"),
    ):
        metrics = evaluate_scores(members, non_members, n_bootstrap=100)
        attack = AttackResult("a", "label-only", metrics, members, non_members)
        assert attack.to_dict()["auc_ci_method"] == method
