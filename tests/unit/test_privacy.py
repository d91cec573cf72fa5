"""Every anonymizer's privacy budget: found, and served at GET /privacy."""

from __future__ import annotations

import falcon.testing
import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression as SklearnLogisticRegression
from sklearn.naive_bayes import GaussianNB as SklearnGaussianNB
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler as SklearnStandardScaler

import anomed_anonymizer as anon
from anomed_anonymizer.emulator import (
    ReconstructionChallenge,
    adult_like,
    tabular_challenge_app,
)
from anomed_anonymizer.models.privacy import budget_from_record, privacy_json
from anomed_anonymizer.tabular import MondrianKAnonymizer

from .conftest import serve_in_thread

dp_models = pytest.importorskip("diffprivlib.models")
diffprivlib = pytest.importorskip("diffprivlib")

NULL = dict.fromkeys(("mechanism", "epsilon", "delta", "accountant", "details"))
BOUNDS = ([0.0] * 4, [5.0] * 4)


def fitted(model, X=None, y=None):
    rng = np.random.default_rng(0)
    X = rng.uniform(0, 5, size=(60, 4)) if X is None else X
    y = (X[:, 0] > 2.5).astype(np.int64) if y is None else y
    model.fit(X, y)
    return model


def test_a_diffprivlib_model_reports_its_epsilon_and_its_accountants_total():
    accountant = diffprivlib.BudgetAccountant()
    model = fitted(
        dp_models.GaussianNB(epsilon=0.7, bounds=BOUNDS, accountant=accountant)
    )
    fitted(
        dp_models.GaussianNB(epsilon=0.5, bounds=BOUNDS, accountant=accountant)
    )  # a second model spends from the same accountant
    budget = anon.privacy_budget_of(anon.WrappedAnonymizer(model))
    assert budget.mechanism == "diffprivlib GaussianNB"
    assert budget.epsilon == 0.7
    assert budget.delta == 0.0
    assert budget.accountant == "diffprivlib BudgetAccountant"
    total = budget.details["accountant_total"]
    assert total["epsilon"] == pytest.approx(1.2)
    assert total["spends"] == 2


def test_a_diffprivlib_model_with_fresh_noise_and_given_bounds_holds():
    budget = anon.privacy_budget_of(
        anon.WrappedAnonymizer(fitted(dp_models.GaussianNB(epsilon=1.0, bounds=BOUNDS)))
    )
    assert budget.details["noise_seeded"] is False
    assert budget.details["privacy_leaks"] == []
    assert budget.void_reasons == []


def test_a_seeded_diffprivlib_model_says_its_epsilon_does_not_hold():
    model = dp_models.GaussianNB(epsilon=1.0, bounds=BOUNDS, random_state=0)
    budget = anon.privacy_budget_of(anon.WrappedAnonymizer(fitted(model)))
    assert budget.details["noise_seeded"] is True
    assert "does not hold" in budget.details["noise_source"]
    assert any("random_state" in reason for reason in budget.void_reasons)


def test_bounds_taken_from_the_data_void_the_served_epsilon(fake_challenge, tmp_path):
    # diffprivlib computes missing bounds from the data (PrivacyLeakWarning):
    # the budget does not pay for them, and /privacy must say so.
    estimator = dp_models.GaussianNB(epsilon=1.0)
    client = falcon.testing.TestClient(
        supervised_app(fake_challenge, tmp_path, estimator)
    )
    with pytest.warns(diffprivlib.utils.PrivacyLeakWarning):
        fit = client.simulate_post("/fit")
    assert fit.status_code == 201, fit.text
    served = client.simulate_get("/privacy").json
    assert served["epsilon"] == 1.0
    leaks = served["details"]["privacy_leaks"]
    assert leaks and "bounds" in leaks[0]
    assert served["details"]["void_reasons"]


def test_a_pipeline_of_diffprivlib_steps_adds_their_budgets():
    pipeline = Pipeline(
        [
            ("scale", dp_models.StandardScaler(epsilon=0.5, bounds=BOUNDS)),
            (
                "classify",
                dp_models.LogisticRegression(epsilon=1.0, data_norm=5.0),
            ),
        ]
    )
    budget = anon.privacy_budget_of(fitted(pipeline))
    assert budget.epsilon == pytest.approx(1.5)
    assert budget.mechanism == "diffprivlib StandardScaler + LogisticRegression"
    assert [step["epsilon"] for step in budget.details["steps"]] == [0.5, 1.0]


@pytest.mark.parametrize(
    "model",
    [
        SklearnGaussianNB(),
        anon.WrappedAnonymizer(SklearnGaussianNB()),
        # A non-private step voids the guarantee of the private one.
        Pipeline(
            [
                ("scale", SklearnStandardScaler()),
                ("classify", dp_models.LogisticRegression(epsilon=1.0, data_norm=5)),
            ]
        ),
        object(),
    ],
    ids=["sklearn", "wrapped-sklearn", "mixed-pipeline", "object"],
)
def test_models_without_a_guarantee_report_none(model):
    assert anon.privacy_budget_of(model) is None
    assert privacy_json(anon.privacy_budget_of(model)) == NULL


def test_the_protocol_wins_over_introspection():
    class Reports:
        def privacy_budget(self):
            return anon.PrivacyBudget("Laplace", 0.25, 0.0, "sequential")

    budget = anon.privacy_budget_of(anon.WrappedAnonymizer(_Fittable(Reports())))
    assert budget.epsilon == 0.25
    assert privacy_json(budget) == {
        "mechanism": "Laplace",
        "epsilon": 0.25,
        "delta": 0.0,
        "accountant": "sequential",
        "details": {},
    }


class _Fittable:
    def __init__(self, inner):
        self._inner = inner

    def fit(self, X, y):
        pass

    def predict(self, X):
        return np.zeros(len(X))

    def privacy_budget(self):
        return self._inner.privacy_budget()


def test_a_budget_record_becomes_a_budget():
    record = {
        "mechanism": "smartnoise-synth MST",
        "epsilon": 0.9,
        "delta": 1e-6,
        "composition": "sequential: the steps' epsilons and deltas add up",
        "n_rows": 100,
    }
    budget = budget_from_record(record)
    assert (budget.epsilon, budget.delta) == (0.9, 1e-6)
    assert budget.accountant.startswith("sequential")
    assert budget.details == {"composition": record["composition"], "n_rows": 100}
    assert budget_from_record(None) is None


# -- served --------------------------------------------------------------------


def accept_any(feature_array: np.ndarray) -> None:
    pass


def supervised_app(fake_challenge, tmp_path, estimator):
    return anon.supervised_learning_anonymizer_server_factory(
        anonymizer_identifier="privacy",
        anonymizer_obj=anon.WrappedAnonymizer(
            estimator,
            serializer=anon.pickle_anonymizer,
            feature_array_validator=accept_any,
        ),
        model_filepath=tmp_path / "anonymizer.pkl",
        default_batch_size=16,
        training_data_url=f"{fake_challenge.url}/data/anonymizer/training",
        tuning_data_url=f"{fake_challenge.url}/data/anonymizer/tuning",
        validation_data_url=f"{fake_challenge.url}/data/anonymizer/validation",
        utility_evaluation_url=f"{fake_challenge.url}/utility/anonymizer",
        model_loader=anon.unpickle_anonymizer,
    )


def test_supervised_server_serves_a_diffprivlib_models_budget(fake_challenge, tmp_path):
    estimator = dp_models.GaussianNB(epsilon=1.5, bounds=BOUNDS)
    client = falcon.testing.TestClient(
        supervised_app(fake_challenge, tmp_path, estimator)
    )
    before = client.simulate_get("/privacy")
    assert before.status_code == 503
    assert before.json["title"] == "Not fitted"
    fit = client.simulate_post("/fit")
    assert fit.status_code == 201, fit.text
    assert fit.json["privacy"]["epsilon"] == 1.5
    served = client.simulate_get("/privacy")
    assert served.status_code == 200
    assert served.json["epsilon"] == 1.5
    assert served.json["accountant"] == "diffprivlib BudgetAccountant"
    assert served.json["mechanism"] == "diffprivlib GaussianNB"


def test_supervised_server_serves_null_for_a_non_private_model(
    fake_challenge, tmp_path
):
    client = falcon.testing.TestClient(
        supervised_app(fake_challenge, tmp_path, SklearnLogisticRegression())
    )
    assert client.simulate_post("/fit").json["privacy"] == NULL
    assert client.simulate_get("/privacy").json == NULL


class _LaplaceCounts(anon.TabularDataAnonymizer):
    """A toy DP release whose budget record is stored with the table."""

    def anonymize(self, table: pd.DataFrame):
        noisy = table.copy()
        return noisy, "same"

    def budget_record(self):
        return {
            "mechanism": "Laplace",
            "epsilon": 0.5,
            "delta": 0.0,
            "composition": "single release",
        }


@pytest.mark.parametrize(
    ("anonymizer", "expected_epsilon"),
    [
        (_LaplaceCounts(), 0.5),
        (MondrianKAnonymizer(["age", "sex"], k=5), None),
    ],
    ids=["dp-record", "k-anonymity"],
)
def test_tabular_server_serves_the_releases_budget_also_after_a_restart(
    tmp_path, anonymizer, expected_epsilon
):
    challenge = ReconstructionChallenge(adult_like(200, seed=3))
    with serve_in_thread(tabular_challenge_app(challenge, anomed_host="")) as url:

        def app():
            return anon.tabular_data_anonymizer_server_factory(
                anonymizer_identifier="tabular",
                anonymizer_obj=anonymizer,
                output_dir=tmp_path / "release",
                leaky_data_url=f"{url}/data/anonymizer/leaky",
                utility_evaluation_url=f"{url}/utility/anonymizer",
            )

        client = falcon.testing.TestClient(app())
        assert client.simulate_get("/privacy").status_code == 503
        fit = client.simulate_post("/fit")
        assert fit.status_code == 201, fit.text
    assert fit.json["privacy"]["epsilon"] == expected_epsilon
    served = client.simulate_get("/privacy").json
    assert served == fit.json["privacy"]
    if expected_epsilon is None:
        assert served == NULL
    else:
        assert served["mechanism"] == "Laplace"
        assert served["accountant"] == "single release"
    restarted = falcon.testing.TestClient(app())
    assert restarted.simulate_get("/privacy").json == served
