"""What the audit hands back: the JSON layout, the summary, the plot, and
clear refusals."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.svm import LinearSVC
from sklearn.tree import DecisionTreeClassifier

import anomed_anonymizer as anon
from anomed_anonymizer.audit import MembershipAudit
from anomed_anonymizer.audit.metrics import EPSILON_QUANTILES


class LabelsOnly(anon.SupervisedLearningAnonymizer):
    """An anonymizer that exposes nothing but labels."""

    def __init__(self) -> None:
        self._tree = DecisionTreeClassifier(random_state=0)

    def fit(self, X, y):
        self._tree.fit(X, y)

    def predict(self, X, batch_size=None):
        return self._tree.predict(X)

    def save(self, filepath):
        anon.pickle_anonymizer(self, filepath)

    def validate_input(self, feature_array):
        if feature_array.shape[1] != 30:
            raise ValueError("Feature array needs 30 columns.")


@pytest.fixture(scope="module")
def cancer():
    X, y = load_breast_cancer(return_X_y=True)
    return X, y


@pytest.fixture(scope="module")
def report(cancer):
    model = anon.WrappedAnonymizer(
        DecisionTreeClassifier(random_state=0), serializer=anon.pickle_anonymizer
    )
    audit = MembershipAudit(reference_models=2, seed=0, n_bootstrap=100)
    return audit.run(model, *cancer, name="app:tree")


def test_json_has_the_issues_layout(report, tmp_path):
    path = tmp_path / "report.json"
    report.to_json(path)
    data = json.loads(path.read_text())
    assert data["n_members"] == data["n_non_members"] == 284
    assert data["target"] == "app:tree"
    for attack in data["attacks"]:
        assert attack["threat_model"] in ("label-only", "scores")
        assert isinstance(attack["name"], str)
        assert 0.0 <= attack["auc_ci"][0] <= attack["auc"] <= attack["auc_ci"][1] <= 1
        assert set(attack["tpr_at_fpr"]) == {"0.001", "0.01", "0.1"}
        assert attack["tpr_at_fpr"]["0.001"] is None  # 284 non-members: n/a
        assert isinstance(attack["tpr_at_fpr"]["0.01"], float)
        assert isinstance(attack["advantage"], float)
        assert attack["epsilon_lower_bound"] >= 0.0
        assert attack["epsilon_quantile"] in EPSILON_QUANTILES
    names = [attack["name"] for attack in data["attacks"]]
    assert "LiRA (online)" in names
    assert "RMIA (offline)" in names
    for attack in data["attacks"]:
        if attack["name"].startswith("LiRA"):
            # Two reference models: one per side, no per-sample variance.
            assert attack["details"]["lira_variance"] == "pooled"
            assert attack["details"]["logit_clip"] == 1e-12  # a tree: 0 or 1


def test_markdown_states_sizes_marks_what_the_data_cannot_resolve(report):
    markdown = report.to_markdown()
    assert "284 members vs 284 non-members (balanced)" in markdown
    assert "| gap | label-only |" in markdown
    assert "n/a" in markdown
    assert "FPR 0.1% at least 1000 non-members" in markdown
    assert f"**Verdict: {report.verdict}.**" in markdown


def test_plot_is_a_png(report, tmp_path):
    path = report.plot_roc(tmp_path / "plots" / "roc.png")
    data = path.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    assert len(data) > 10_000


def test_a_model_with_only_labels_gets_the_label_only_attacks(cancer):
    report = MembershipAudit(reference_models=2, n_bootstrap=100).run(
        LabelsOnly(), *cancer
    )
    assert {a.threat_model for a in report.attacks} == {"label-only"}
    assert any("neither predict_proba nor decision_function" in n for n in report.notes)


def test_decision_function_is_turned_into_probabilities(cancer):
    X, y = cancer
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    model = anon.WrappedAnonymizer(
        LinearSVC(random_state=0), serializer=anon.pickle_anonymizer
    )
    report = MembershipAudit(reference_models=2, n_bootstrap=100).run(model, X, y)
    assert report.attack("LiRA (offline)").threat_model == "scores"


def test_bad_input_is_refused_with_a_reason(cancer):
    X, y = cancer
    audit = MembershipAudit(reference_models=2)
    with pytest.raises(
        ValueError, match="rejects the audit data: Feature array needs 30"
    ):
        audit.run(LabelsOnly(), X[:, :5], y)
    with pytest.raises(ValueError, match="too few"):
        audit.run(LabelsOnly(), X[:12], y[:12])
    with pytest.raises(ValueError, match="even number"):
        MembershipAudit(reference_models=3).run(LabelsOnly(), X, y)
    with pytest.raises(ValueError, match="shape"):
        audit.run(LabelsOnly(), X, y[:-1])
    with pytest.raises(ValueError, match="features"):
        audit.run_black_box(lambda X: np.zeros(len(X)), X, y, X[:, :3], y)


def test_an_anonymizer_that_cannot_be_copied_is_named(cancer):
    import threading

    model = LabelsOnly()
    model.lock = threading.Lock()  # deep copy fails on locks
    with pytest.raises(TypeError, match="LabelsOnly cannot be deep-copied"):
        MembershipAudit(reference_models=0).run(model, *cancer)


def test_same_seed_same_audit_even_for_a_dp_model():
    """diffprivlib draws from the OS's secure source unless given a
    random_state: the audit seeds each copy, never the user's object."""
    from .conftest import dp_naive_bayes, noisy_digits

    X, y = noisy_digits()
    model = dp_naive_bayes(1.0)
    audits = [
        MembershipAudit(reference_models=2, n_bootstrap=100, seed=5).run(
            model, X[:400], y[:400]
        )
        for _ in range(2)
    ]
    first, second = (json.loads(audit.to_json()) for audit in audits)
    assert first["attacks"] == second["attacks"]
    assert model.wrapped.random_state is None
