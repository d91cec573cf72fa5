"""``audit --url`` reports what the in-process audit does: the model's utility
on held-out rows (strict accuracy, as the challenge scores it), the budget its
server serves at ``GET /privacy`` (or that none is served), and the trade-off
line, in the text and in the JSON."""

from __future__ import annotations

import json

import pytest
from sklearn.metrics import accuracy_score

from anomed_anonymizer.audit import MembershipAudit
from anomed_anonymizer.audit.served import served_privacy

from .conftest import dp_naive_bayes, noisy_digits, one_nearest_neighbour
from .test_black_box import served

pytestmark = pytest.mark.slow


def _audit_over_http(model, tmp_path, n=400):
    X, y = noisy_digits(rate=0.0)
    X, y = X[:n], y[:n]
    members, non_members = slice(0, n // 2), slice(n // 2, n)
    model.fit(X[members], y[members])
    audit = MembershipAudit(
        reference_models=0, one_run_canaries=0, boundary_queries=0, seed=0
    )
    with served(model, tmp_path) as url:
        report = audit.run_black_box(
            f"{url}/predict", X[members], y[members], X[non_members], y[non_members]
        )
    attack = report.attacks[0]
    held_out = (
        X[non_members][attack.non_member_indices],
        y[non_members][attack.non_member_indices],
    )
    training = (
        X[members][attack.member_indices],
        y[members][attack.member_indices],
    )
    return report, model, held_out, training, url


def test_a_served_model_without_dp_reports_its_accuracy_and_no_budget(tmp_path):
    report, model, held_out, training, url = _audit_over_http(
        one_nearest_neighbour(), tmp_path
    )
    accuracy = accuracy_score(held_out[1], model.predict(held_out[0]))
    assert report.utility == {
        "held_out": {"accuracy": pytest.approx(accuracy)},
        "training": {
            "accuracy": pytest.approx(
                accuracy_score(training[1], model.predict(training[0]))
            )
        },
    }
    assert report.utility["training"]["accuracy"] == 1.0  # 1-NN remembers
    assert 0.8 < accuracy < 1.0
    assert report.privacy == dict.fromkeys(
        ("mechanism", "epsilon", "delta", "accountant", "details")
    )
    assert report.settings["privacy_url"] == f"{url}/privacy"
    assert report.settings["privacy_problem"] is None

    markdown = report.to_markdown()
    assert f"Utility: held-out accuracy {accuracy:.2f}, on the training rows 1.00" in (
        markdown
    )
    assert f"Privacy budget: none served (GET {url}/privacy answers" in markdown
    last = markdown.strip().splitlines()[-1]
    assert last.startswith(
        f"Trade-off: held-out accuracy {accuracy:.2f} at no ε served;"
    )
    assert last.endswith(f"({report.verdict})")

    report.to_json(tmp_path / "audit.json")
    saved = json.loads((tmp_path / "audit.json").read_text())
    assert saved["utility"]["held_out"]["accuracy"] == pytest.approx(accuracy)
    assert saved["privacy"]["epsilon"] is None
    assert saved["settings"]["privacy_url"] == f"{url}/privacy"
    assert saved["trade_off"] == last


def test_a_served_dp_model_reports_the_budget_it_serves(tmp_path):
    report, model, held_out, _, url = _audit_over_http(
        dp_naive_bayes(2.0, random_state=0), tmp_path
    )
    assert report.privacy["epsilon"] == pytest.approx(2.0)
    delta = report.privacy["delta"]
    accuracy = accuracy_score(held_out[1], model.predict(held_out[0]))
    markdown = report.to_markdown()
    assert f"Privacy budget served (GET {url}/privacy): ε = 2, δ = {delta:.3g}" in (
        markdown
    )
    last = markdown.strip().splitlines()[-1]
    assert last.startswith(
        f"Trade-off: held-out accuracy {accuracy:.2f} at ε = 2, δ = {delta:.3g} "
        "(served);"
    )
    assert report.to_dict()["trade_off"] == last


def test_a_server_without_the_privacy_route_is_reported_not_fatal(tmp_path):
    model = one_nearest_neighbour()
    X, y = noisy_digits(rate=0.0)
    model.fit(X[:50], y[:50])
    with served(model, tmp_path) as url:
        answer = served_privacy(f"{url}/elsewhere/predict")
    assert answer.url == f"{url}/elsewhere/privacy"
    assert answer.budget is None
    assert answer.problem.startswith("404")
    assert answer.summary == "no /privacy served"
    assert "none served" in answer.line() and "404" in answer.line()


def test_an_unreachable_privacy_route_is_reported_not_fatal():
    answer = served_privacy("http://127.0.0.1:9/predict", timeout=10)
    assert answer.budget is None
    assert answer.problem.startswith("no answer (")
