"""The decision-boundary attack (HopSkipJump distance) and the exposure
export: real models, counted queries, rows traced back to the data."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import stats
from sklearn.datasets import load_breast_cancer, make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier

import anomed_anonymizer as anon
from anomed_anonymizer.audit import BoundaryDistanceAttack, MembershipAudit
from anomed_anonymizer.audit.boundary import min_boundary_queries

BOUNDARY = "decision boundary (HopSkipJump)"


class Counting:
    """A predictor that counts the rows and calls it answers."""

    def __init__(self, predict) -> None:
        self.predict = predict
        self.rows = 0
        self.calls = 0

    def __call__(self, X: np.ndarray) -> np.ndarray:
        self.rows += len(X)
        self.calls += 1
        return self.predict(X)


def wrapped(estimator) -> anon.WrappedAnonymizer:
    return anon.WrappedAnonymizer(estimator, serializer=anon.pickle_anonymizer)


@pytest.fixture(scope="module")
def noisy():
    """240 samples, 8 features, a fifth of the labels flipped: a 1-NN
    memorizes its 120 members."""
    return make_classification(
        n_samples=240, n_features=8, n_informative=4, flip_y=0.2, random_state=0
    )


@pytest.fixture(scope="module")
def overfit(noisy):
    audit = MembershipAudit(reference_models=0, seed=0, n_bootstrap=200)
    report = audit.run(wrapped(KNeighborsClassifier(n_neighbors=1)), *noisy)
    return audit, report


@pytest.fixture(scope="module")
def cancer_linear():
    """Breast cancer, standardized, and a logistic regression fitted on half:
    its boundary is a hyperplane, so every distance is known exactly."""
    X, y = load_breast_cancer(return_X_y=True)
    Z = (X - X.mean(axis=0)) / X.std(axis=0)
    model = LogisticRegression(max_iter=5000).fit(Z[::2], y[::2])
    exact = np.abs(model.decision_function(Z)) / np.linalg.norm(model.coef_)
    return Z, y, model, exact


# -- the attack ------------------------------------------------------------------


def test_the_memorizing_model_leaks_to_the_boundary_attack(overfit):
    _, report = overfit
    attack = report.attack(BOUNDARY)
    assert attack.threat_model == "label-only"
    assert attack.metrics.auc_ci[0] > 0.6, attack.metrics.auc_ci
    assert attack.verdict == "leaks"
    # The distance says more than right or wrong (the gap attack): among the
    # samples labelled correctly, members lie farther from the boundary.
    assert attack.metrics.auc > report.attack("gap").metrics.auc + 0.1
    members = attack.member_scores[attack.member_scores > 0]
    others = attack.non_member_scores[attack.non_member_scores > 0]
    u = stats.mannwhitneyu(members, others, alternative="greater")
    assert u.statistic / (len(members) * len(others)) > 0.65
    assert u.pvalue < 1e-6


def test_a_regularised_model_does_not_leak_to_it(noisy):
    audit = MembershipAudit(reference_models=0, seed=0, n_bootstrap=200)
    report = audit.run(wrapped(LogisticRegression(C=0.01)), *noisy)
    attack = report.attack(BOUNDARY)
    assert attack.verdict != "leaks"
    assert attack.metrics.auc_ci[0] < 0.5 < attack.metrics.auc_ci[1]


def test_distances_are_realised_and_close_to_the_exact_ones(cancer_linear):
    Z, y, model, exact = cancer_linear
    correct = model.predict(Z) == y
    ratios = {}
    for budget in (100, 400):
        attack = BoundaryDistanceAttack(model.predict, budget)
        distances = attack.distances(Z, y)
        assert np.all(distances[~correct] == 0)  # misclassified: on the boundary
        # Each distance is that of a point found across the boundary.
        points = attack.points_
        assert np.all(model.predict(points) != y)
        np.testing.assert_allclose(np.linalg.norm(points - Z, axis=1), distances)
        # So it can only overestimate the distance to the hyperplane.
        assert np.all(distances[correct] >= exact[correct] * (1 - 1e-9))
        ratios[budget] = np.median(distances[correct] / exact[correct])
        rho = stats.spearmanr(distances[correct], exact[correct]).statistic
        assert rho > 0.98, (budget, rho)
    assert ratios[100] < 1.4, ratios
    assert ratios[400] < 1.15, ratios  # more queries, closer to the boundary


def test_queries_never_exceed_the_budget_and_are_counted_exactly(cancer_linear):
    Z, y, model, _ = cancer_linear
    for budget in (min_boundary_queries(), 64, 100, 250):
        predict = Counting(model.predict)
        attack = BoundaryDistanceAttack(predict, budget)
        attack.distances(Z, y)
        details = attack.details()
        assert details["queries"] == predict.rows <= budget * len(Z)
        assert details["requests"] == predict.calls
        assert details["most_queries_of_a_sample"] <= budget
        assert details["max_queries_per_sample"] == budget
        assert details["iterations"] >= 1
        # The budget is spent, not left idle: the next iteration did not fit.
        assert details["most_queries_of_a_sample"] > budget - 40, (budget, details)


def test_one_samples_queries_stay_within_the_budget(cancer_linear):
    """Only sample 0 is labelled as the model labels it, so every query
    after the first batch (one row per sample) is spent on it."""
    Z, _, model, _ = cancer_linear
    labels = model.predict(Z)
    wrong = 1 - labels
    wrong[0] = labels[0]
    for budget in (min_boundary_queries(), 77, 200):
        predict = Counting(model.predict)
        distances = BoundaryDistanceAttack(predict, budget).distances(Z, wrong)
        assert np.count_nonzero(distances) == 1
        assert predict.rows - (len(Z) - 1) <= budget


def test_the_attack_is_seeded(cancer_linear):
    Z, y, model, _ = cancer_linear
    first, again, other = (
        BoundaryDistanceAttack(model.predict, 100, seed=seed).distances(Z, y)
        for seed in (0, 0, 1)
    )
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


def test_a_model_with_one_answer_has_no_boundary_in_range():
    X = np.random.default_rng(0).normal(size=(30, 3))
    y = np.r_[np.zeros(20, int), np.ones(10, int)]
    attack = BoundaryDistanceAttack(lambda X: np.zeros(len(X), int))
    distances = attack.distances(X, y)
    assert np.all(distances[y == 1] == 0)
    diameter = np.linalg.norm((X.max(0) - X.min(0)) / X.std(0))
    np.testing.assert_allclose(distances[y == 0], diameter)
    assert attack.details()["no_other_label"] == 30
    assert attack.details()["queries"] == 30  # only the labels


def test_bad_parameters_are_refused_with_a_reason(noisy):
    X, y = noisy
    model = wrapped(KNeighborsClassifier(n_neighbors=1))
    for bad in (40, -1, 2.5, True, "100"):
        with pytest.raises(ValueError, match="boundary_queries must be"):
            MembershipAudit(reference_models=0, boundary_queries=bad).run(model, X, y)
    with pytest.raises(ValueError, match="boundary_queries must be 0"):
        MembershipAudit(boundary_queries=12).run_black_box(
            lambda X: np.zeros(len(X)), X, y, X, y
        )
    with pytest.raises(ValueError, match="at least 41"):
        BoundaryDistanceAttack(lambda X: X[:, 0] > 0, max_queries=40)
    with pytest.raises(ValueError, match="must not exceed max_eval"):
        BoundaryDistanceAttack(lambda X: X[:, 0] > 0, 500, init_eval=20, max_eval=10)
    with pytest.raises(ValueError, match="init_eval must be a positive integer"):
        BoundaryDistanceAttack(lambda X: X[:, 0] > 0, 500, init_eval=0)
    with pytest.raises(ValueError, match="one label per row"):
        BoundaryDistanceAttack(lambda X: np.zeros((len(X), 2))).distances(X, y)


def test_zero_turns_the_attack_off(noisy):
    X, y = noisy
    report = MembershipAudit(
        reference_models=0, boundary_queries=0, n_bootstrap=50
    ).run(wrapped(KNeighborsClassifier(n_neighbors=1)), X, y)
    assert BOUNDARY not in [a.name for a in report.attacks]
    assert report.settings["boundary_queries"] == 0


# -- the JSON: scores and the most exposed rows ---------------------------------


def test_json_names_the_most_exposed_members_of_the_strongest_attack(overfit):
    audit, report = overfit
    data = json.loads(report.to_json())
    strongest = report.strongest()
    exposed = data["most_exposed_members"]
    assert exposed["attack"] == strongest.name
    assert "rows of the audited data X" in exposed["indices_into"]
    rows = exposed["rows"]
    assert len(rows) == 10
    by_row = dict(zip(audit.members_.tolist(), strongest.member_scores, strict=True))
    assert {row["index"] for row in rows} <= set(by_row)  # members, not others
    for row in rows:
        assert row["score"] == pytest.approx(by_row[row["index"]], rel=1e-5)
    scores = [row["score"] for row in rows]
    assert scores == sorted(scores, reverse=True)
    rest = [s for i, s in by_row.items() if i not in {r["index"] for r in rows}]
    assert max(rest) <= min(scores) * (1 + 1e-5)  # no other member scores higher
    last = sorted(strongest.member_scores, reverse=True)[9]
    at_least = exposed["members_scoring_at_least_the_last"]
    assert at_least == np.sum(strongest.member_scores >= last) >= 10
    # Without the option, no per-sample lists: the file stays short.
    assert all("member_scores" not in attack for attack in data["attacks"])


def test_json_with_scores_traces_every_score_to_its_row(overfit, noisy):
    audit, report = overfit
    X, y = noisy
    data = json.loads(report.to_json(include_scores=True))
    target = audit.target_
    for attack in data["attacks"]:
        assert attack["member_indices"] == audit.members_.tolist()
        assert attack["non_member_indices"] == audit.non_members_.tolist()
        assert len(attack["member_scores"]) == len(audit.members_)
        assert len(attack["non_member_scores"]) == len(audit.non_members_)
        assert len(attack["most_exposed_members"]) == 10
    boundary = next(a for a in data["attacks"] if a["name"] == BOUNDARY)
    for key, rows in (("member", audit.members_), ("non_member", audit.non_members_)):
        wrong = target.predict(X[rows]) != y[rows]
        scores = np.array(boundary[f"{key}_scores"])
        assert np.all((scores == 0) == wrong), key  # 0 exactly where misclassified
    assert boundary["details"]["queries"] <= 100 * 2 * len(audit.members_)


def test_black_box_indices_point_into_the_given_sets(noisy):
    """Balancing drops rows of both sets; the indices still name rows of
    X_members and X_non_members: a boundary score is 0 exactly where the
    model mislabels the row it names."""
    X, y = noisy
    # Members: more of class 0 than the non-members hold, fewer of class 1.
    rows = np.r_[np.flatnonzero(y[:140] == 0), np.flatnonzero(y[:140] == 1)[:20]]
    X_m, y_m, X_n, y_n = X[rows], y[rows], X[140:], y[140:]
    model = KNeighborsClassifier(n_neighbors=15).fit(X_m, y_m)
    predict = Counting(model.predict)
    report = MembershipAudit(seed=1, n_bootstrap=50).run_black_box(
        predict, X_m, y_m, X_n, y_n
    )
    data = json.loads(report.to_json(include_scores=True))
    boundary = next(a for a in data["attacks"] if a["name"] == BOUNDARY)
    for key, X_s, y_s in (("member", X_m, y_m), ("non_member", X_n, y_n)):
        rows = np.array(boundary[f"{key}_indices"])
        assert len(set(rows.tolist())) == len(rows) == report.n_members
        assert not np.array_equal(rows, np.arange(len(rows))), key  # rows dropped
        wrong = model.predict(X_s[rows]) != y_s[rows]
        assert 0 < wrong.sum() < len(rows), key
        scores = np.array(boundary[f"{key}_scores"])
        np.testing.assert_array_equal(scores == 0, wrong, err_msg=key)
    assert "X_members" in data["most_exposed_members"]["indices_into"]
    details = report.attack(BOUNDARY).details
    assert details["queries"] <= 100 * 2 * report.n_members
    assert details["queries"] < predict.rows  # the other attacks queried too


def test_ties_take_the_lower_index_and_are_counted():
    from anomed_anonymizer.audit import AttackResult, evaluate_scores
    from anomed_anonymizer.audit.exposure import most_exposed, scoring_at_least_last

    members = np.array([1.0, np.nan, 3.0, 3.0, 3.0, 2.0])
    others = np.zeros(6)
    metrics = evaluate_scores(np.nan_to_num(members), others, n_bootstrap=20)
    attack = AttackResult("t", "label-only", metrics, members, others)
    attack.member_indices = np.array([50, 40, 30, 20, 10, 0])
    assert most_exposed(attack, top=2) == [
        {"index": 10, "score": 3.0},
        {"index": 20, "score": 3.0},
    ]
    assert scoring_at_least_last(attack, top=2) == 3
    assert [row["index"] for row in most_exposed(attack)] == [10, 20, 30, 0, 50, 40]
    assert scoring_at_least_last(attack) == 5  # the NaN score is not counted


def test_large_audits_are_cut_into_blocks_with_the_same_result(
    cancer_linear, monkeypatch
):
    from anomed_anonymizer.audit import boundary

    Z, y, model, _ = cancer_linear
    whole = BoundaryDistanceAttack(model.predict, 100)
    expected = whole.distances(Z, y)
    monkeypatch.setattr(boundary, "_BLOCK", 5000)  # ~16 samples' probes a call
    blocked = BoundaryDistanceAttack(model.predict, 100)
    np.testing.assert_array_equal(blocked.distances(Z, y), expected)
    assert blocked.requests_ > whole.requests_
    np.testing.assert_array_equal(blocked.queries_, whole.queries_)
