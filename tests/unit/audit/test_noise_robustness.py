"""The noise-robustness attack on small sets: an attack model that can split
a fold of a few rows."""

from __future__ import annotations

import numpy as np
import pytest

from anomed_anonymizer.audit import MembershipAudit, NoiseRobustnessAttack

from .conftest import noisy_digits, one_nearest_neighbour


def test_noise_robustness_learns_from_folds_of_a_few_rows():
    """Nine members and nine non-members per fold: with scikit-learn's
    default leaves of 20 rows the attack model could not split, and scored
    every sample alike."""
    X, y = noisy_digits()
    model = one_nearest_neighbour()
    model.fit(X[:100], y[:100])
    attack = NoiseRobustnessAttack(model.predict, X.std(axis=0), np.arange(10))
    features = attack.features(X[:118], y[:118])
    attack.fit_features(features[:9], features[100:109])
    scores = attack.score_features(np.r_[features[9:18], features[109:118]])
    assert np.unique(scores).size > 2


def test_a_small_audit_gets_a_noise_robustness_attack_that_can_tell():
    """40 rows, 18 members: the gap attack finds the 1-NN's leak, and the
    noise-robustness attack, whose folds were too small to learn from, now
    finds it too instead of reporting AUC 0.500 [0.50, 0.50] as "no leak
    found"."""
    X, y = noisy_digits()
    audit = MembershipAudit(reference_models=0, seed=0, n_bootstrap=200)
    report = audit.run(one_nearest_neighbour(), X[:40], y[:40])
    assert report.n_members == 18
    noise = report.attack("noise robustness")
    scores = np.concatenate((noise.member_scores, noise.non_member_scores))
    assert np.unique(scores).size > 2
    assert noise.metrics.auc > 0.6, noise.metrics.auc
    assert noise.verdict != "no leak found"
    assert report.verdict == "leaks"


@pytest.mark.parametrize("rows", [20, 60, 400])
def test_the_attack_models_leaves_scale_with_the_fold(rows):
    X, y = noisy_digits()
    model = one_nearest_neighbour()
    model.fit(X[:100], y[:100])
    attack = NoiseRobustnessAttack(model.predict, X.std(axis=0), np.arange(10))
    features = attack.features(X[: 2 * rows], y[: 2 * rows])
    attack.fit_features(features[:rows], features[rows:])
    leaf = attack.model_.get_params()["min_samples_leaf"]
    assert leaf == min(20, max(2, (2 * rows) // 10))
