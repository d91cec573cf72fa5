"""The emulator as a regression challenge: embedded data, scoring, the CLI."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from falcon import testing
from sklearn.ensemble import RandomForestRegressor
from sklearn.linear_model import Ridge
from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score
from sklearn.model_selection import GroupKFold, cross_val_predict

from anomed_anonymizer.emulator import (
    GLUCOSE_FEATURES,
    GLUCOSE_MINUTES,
    REGRESSION_DATASETS,
    MIAChallenge,
    glucose_curves,
    load_dataset,
    supervised_challenge_app,
)
from anomed_anonymizer.scoring import regression_evaluator
from anomed_anonymizer.wire import decode_named_arrays, encode_named_arrays


@pytest.mark.parametrize(
    ("name", "features", "outputs"),
    [("diabetes", 10, None), ("linnerud", 3, 3), ("glucose", 10, 12)],
)
def test_embedded_regression_datasets(name, features, outputs):
    data = load_dataset(name)
    assert name in REGRESSION_DATASETS
    assert data.task == "regression"
    assert data.X.shape[1] == features
    assert data.y.dtype == np.float64
    assert data.y.shape == (
        (len(data.X),) if outputs is None else (len(data.X), outputs)
    )
    assert np.isfinite(data.y).all() and np.isfinite(data.X).all()


def test_classification_datasets_stay_classification():
    iris = load_dataset("iris")
    assert iris.task == "classification" and iris.n_classes == 3
    as_numbers = iris.as_task("regression")
    assert as_numbers.task == "regression" and as_numbers.y.dtype == np.float64
    np.testing.assert_array_equal(as_numbers.y, iris.y)


def test_glucose_curves_look_like_glucose_curves():
    X, y, people = glucose_curves()
    assert X.shape == (1200, len(GLUCOSE_FEATURES)) and y.shape == (1200, 12)
    assert len(GLUCOSE_MINUTES) == 12 and np.bincount(people).tolist() == [8] * 150
    assert y.min() >= 40 and y.max() <= 400
    peak_minutes = np.asarray(GLUCOSE_MINUTES)[y.argmax(axis=1)]
    assert 30 <= np.median(peak_minutes) <= 75
    # A large meal raises glucose more than a small one.
    carbohydrates = X[:, GLUCOSE_FEATURES.index("carbohydrates_g")]
    rise = y.max(axis=1) - y[:, -1]
    assert np.corrcoef(carbohydrates, rise)[0, 1] > 0.4
    # Seeded: the same data everywhere, other data for another seed.
    np.testing.assert_array_equal(glucose_curves()[1], y)
    assert not np.array_equal(glucose_curves(seed=1)[1], y)


def test_glucose_people_recur_so_a_model_can_memorise_them():
    # What the features do not explain is the person's: the error a model
    # makes on one meal of someone it never saw predicts its error on that
    # person's other meals. A model that trains on a person's meals can absorb
    # that (memorise them); membership inference has something to find.
    X, y, people = glucose_curves(n_people=120, meals_per_person=8)
    model = RandomForestRegressor(n_estimators=50, min_samples_leaf=5, random_state=0)
    prediction = cross_val_predict(model, X, y, groups=people, cv=GroupKFold(5))
    residual = (y - prediction).mean(axis=1)
    total, meals = np.bincount(people, residual), np.bincount(people)
    others = (total[people] - residual) / (meals[people] - 1)
    assert np.corrcoef(residual, others)[0, 1] > 0.5  # 0.72 measured


def test_glucose_rejects_nonsense_sizes():
    with pytest.raises(ValueError, match="n_people must be a positive integer"):
        glucose_curves(n_people=0)


def test_a_table_target_of_several_columns_is_multi_output(tmp_path):
    rng = np.random.default_rng(0)
    table = pd.DataFrame(rng.normal(size=(50, 4)), columns=["a", "b", "t1", "t2"])
    table.to_csv(tmp_path / "t.csv", index=False)
    data = load_dataset(str(tmp_path / "t.csv"), target="t1, t2")
    assert data.X.shape == (50, 2) and data.y.shape == (50, 2)
    assert data.task == "regression" and data.n_outputs == 2
    with pytest.raises(ValueError, match="no column 't3'"):
        load_dataset(str(tmp_path / "t.csv"), target="t1,t3")


def test_string_targets_are_no_regression():
    data = load_dataset("iris")
    labelled = type(data)("labels", data.X, np.array(["a", "b", "c"] * 50))
    with pytest.raises(ValueError, match="numeric targets"):
        labelled.as_task("regression")


def _fetch(client, route):
    response = client.simulate_get(route)
    assert response.status_code == 200
    return decode_named_arrays(response.content)


def _score(client, prediction, data_split="tuning"):
    return client.simulate_post(
        "/utility/anonymizer",
        params={"data_split": data_split},
        body=encode_named_arrays({"prediction": prediction}),
    )


@pytest.mark.parametrize("name", ["diabetes", "glucose"])
def test_the_challenge_scores_mse_and_mae_as_sklearn(name):
    challenge = MIAChallenge(load_dataset(name))
    client = testing.TestClient(supervised_challenge_app(challenge, anomed_host=""))
    training = _fetch(client, "/data/anonymizer/training")
    model = Ridge().fit(training["X"], training["y"])
    for split in ("tuning", "validation"):
        X = _fetch(client, f"/data/anonymizer/{split}")["X"]
        prediction = model.predict(X)
        response = _score(client, prediction, split)
        assert response.status_code == 201, response.text
        truth = challenge.targets(split)
        assert response.json == pytest.approx(
            {
                "mse": mean_squared_error(truth, prediction),
                "mae": mean_absolute_error(truth, prediction),
            },
            rel=1e-12,
        )


def test_the_challenge_scores_the_metrics_its_author_chose():
    challenge = MIAChallenge(
        load_dataset("linnerud"),
        mia_evaluation_length=1,
        evaluator=regression_evaluator(["rmse", "r2"]),
    )
    client = testing.TestClient(supervised_challenge_app(challenge, anomed_host=""))
    truth = challenge.targets("tuning")
    prediction = truth + 1.0
    response = _score(client, prediction)
    assert response.status_code == 201
    assert list(response.json) == ["rmse", "r2"]
    assert response.json["rmse"] == pytest.approx(1.0)
    assert response.json["r2"] == pytest.approx(r2_score(truth, prediction))


def test_a_prediction_of_the_wrong_shape_fails_as_the_real_challenge_fails():
    challenge = MIAChallenge(load_dataset("glucose"))
    client = testing.TestClient(supervised_challenge_app(challenge, anomed_host=""))
    truth = challenge.targets("tuning")
    response = _score(client, truth[:, 0])  # one output of twelve
    assert response.status_code == 500  # as anomed-challenge answers
    assert "Shape mismatch" in response.json["description"]
    assert str(truth.shape) in response.json["description"]
    response = _score(client, np.full(truth.shape, np.nan))
    assert response.status_code == 500
    assert "NaN" in response.json["description"]
