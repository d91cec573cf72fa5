"""The audit's determinism check: a model that claims a DP budget but trains
deterministically given its data cannot hold that budget."""

from __future__ import annotations

import json
from contextlib import nullcontext

import numpy as np
import pytest

import anomed_anonymizer as anon
from anomed_anonymizer.audit import MembershipAudit
from anomed_anonymizer.audit.auditor import determinism_check

from .conftest import dp_naive_bayes, one_nearest_neighbour


def small_digits(digits, rows: int = 300):
    X, y = digits
    return X[:rows], y[:rows]


def test_a_seeded_dp_model_fails_the_check(digits):
    X, y = small_digits(digits)
    check, claimed = determinism_check(dp_naive_bayes(1.0, random_state=3), X, y, X)
    assert check.status == "failed"
    assert "cannot hold" in check.detail and "deterministic" in check.detail
    assert claimed["epsilon"] == 1.0
    assert claimed["details"]["noise_seeded"] is True


def test_a_dp_model_with_fresh_noise_passes(digits):
    X, y = small_digits(digits)
    check, claimed = determinism_check(dp_naive_bayes(1.0), X, y, X)
    assert check.status == "passed", check.detail
    assert "different probabilities" in check.detail
    assert claimed["details"]["noise_seeded"] is False


def test_a_model_without_a_claim_is_not_checked(digits):
    X, y = small_digits(digits)
    check, claimed = determinism_check(one_nearest_neighbour(), X, y, X)
    assert check.status == "skipped"
    assert claimed is None


class LabelsOnly(anon.SupervisedLearningAnonymizer):
    """A DP claim with labels only: a constant model, deterministic."""

    def fit(self, X, y):
        self.label_ = np.bincount(y).argmax()

    def predict(self, X, batch_size=None):
        return np.full(len(X), self.label_)

    def save(self, filepath):
        with open(filepath, "w") as file:
            file.write(str(self.label_))

    def validate_input(self, feature_array):
        pass

    def privacy_budget(self):
        return anon.PrivacyBudget("constant", 1.0, 0.0, "none")


def test_labels_alone_are_decided_by_the_saved_files(digits):
    X, y = small_digits(digits)
    check, _ = determinism_check(LabelsOnly(), X, y, X)
    assert check.status == "failed"
    assert "saved model files" in check.detail


def test_the_audit_reports_the_check_and_the_claim(digits, tmp_path):
    X, y = small_digits(digits)
    audit = MembershipAudit(reference_models=0, n_bootstrap=100)
    report = audit.run(dp_naive_bayes(2.0, random_state=3), X, y)
    (check,) = report.checks
    assert check.status == "failed"
    saved = json.loads(report.to_json(tmp_path / "audit.json"))
    assert saved["checks"][0]["status"] == "failed"
    assert saved["privacy"]["epsilon"] == 2.0
    markdown = report.to_markdown()
    assert "**Check DP training is randomized: failed" in markdown
    assert "Claimed: ε = 2" in markdown
    assert "The claimed ε does not hold: the noise was seeded" in markdown


def test_a_seeded_dp_sgd_run_is_flagged():
    torch = pytest.importorskip("torch")
    pytest.importorskip("opacus")
    from sklearn.datasets import load_breast_cancer
    from sklearn.preprocessing import StandardScaler

    data = load_breast_cancer()
    X = StandardScaler().fit_transform(data.data)[:200]
    y = data.target[:200]

    def mlp(n_features, n_classes):
        return torch.nn.Sequential(
            torch.nn.Linear(n_features, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2)
        )

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        results = {}
        for noise_seed in (11, None):
            model = anon.TorchWrapper(
                mlp,
                epochs=2,
                dp=anon.DPSGD(noise_multiplier=1.0, noise_seed=noise_seed),
                seed=0,
            )
            with pytest.warns(UserWarning) if noise_seed else nullcontext():
                results[noise_seed] = determinism_check(model, X, y, X)[0]
    finally:
        torch.set_num_threads(threads)
    assert results[11].status == "failed"
    assert results[None].status == "passed"
