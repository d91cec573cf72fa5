"""The classification audit reports the model's utility (strict accuracy on
the held-out rows and on the training rows) and the trade-off in one line."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.metrics import accuracy_score
from sklearn.naive_bayes import GaussianNB

import anomed_anonymizer as anon
from anomed_anonymizer.audit import MembershipAudit

from .conftest import dp_naive_bayes, noisy_digits


@pytest.fixture(scope="module")
def audited():
    X, y = load_breast_cancer(return_X_y=True)
    model = anon.WrappedAnonymizer(GaussianNB(), serializer=anon.pickle_anonymizer)
    audit = MembershipAudit(
        reference_models=0, one_run_canaries=0, seed=0, n_bootstrap=100
    )
    return audit, audit.run(model, X, y, name="app:nb"), X, y


def test_utility_is_sklearns_accuracy_on_the_same_split(audited):
    audit, report, X, y = audited
    m, n = audit.members_, audit.non_members_
    predict = audit.target_.predict
    held_out = accuracy_score(y[n], predict(X[n]))
    training = accuracy_score(y[m], predict(X[m]))
    assert report.utility == {
        "held_out": {"accuracy": pytest.approx(held_out)},
        "training": {"accuracy": pytest.approx(training)},
    }
    assert 0.8 < held_out < 1.0  # a real model, not a constant


def test_utility_is_in_the_json_and_printed_with_the_trade_off(audited, tmp_path):
    _, report, _, _ = audited
    report.to_json(tmp_path / "audit.json")
    assert json.loads((tmp_path / "audit.json").read_text())["utility"] == (
        report.utility
    )
    markdown = report.to_markdown()
    accuracy = report.utility["held_out"]["accuracy"]
    training = report.utility["training"]["accuracy"]
    assert (
        f"Utility: held-out accuracy {accuracy:.2f}, on the training rows "
        f"{training:.2f}" in markdown
    )
    strongest = report.strongest()
    low, high = strongest.metrics.auc_ci
    last = markdown.strip().splitlines()[-1]
    assert last == (
        f"Trade-off: held-out accuracy {accuracy:.2f} at no ε claimed; strongest "
        f"attack ({strongest.name}) AUC {strongest.metrics.auc:.2f} "
        f"[{low:.2f}, {high:.2f}] ({report.verdict})"
    )


@pytest.mark.slow
def test_the_trade_off_names_the_claimed_epsilon():
    X, y = noisy_digits(rate=0.0)
    audit = MembershipAudit(
        reference_models=0, one_run_canaries=0, seed=0, n_bootstrap=100
    )
    report = audit.run(dp_naive_bayes(1.0), X, y)
    n = audit.non_members_
    held_out = accuracy_score(y[n], audit.target_.predict(X[n]))
    assert report.utility["held_out"]["accuracy"] == pytest.approx(held_out)
    last = report.to_markdown().strip().splitlines()[-1]
    assert last.startswith(
        f"Trade-off: held-out accuracy {held_out:.2f} at ε = 1 (claimed); "
    )
    assert np.isfinite(report.strongest().metrics.auc)
