"""The regression metrics the emulator scores with and the audit reports."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as sk

from anomed_anonymizer.scoring import (
    REGRESSION_METRICS,
    check_regression_prediction,
    regression_evaluator,
)

SKLEARN = {
    "mae": sk.mean_absolute_error,
    "mse": sk.mean_squared_error,
    "rmse": sk.root_mean_squared_error,
    "r2": sk.r2_score,
}


@pytest.mark.parametrize("name", sorted(REGRESSION_METRICS))
@pytest.mark.parametrize("shape", [(40,), (40, 1), (40, 12)])
def test_each_metric_is_scikit_learns_uniform_average(name, shape):
    rng = np.random.default_rng(7)
    truth = rng.normal(100, 20, size=shape)
    prediction = truth + rng.normal(0, 5, size=shape)
    ours = REGRESSION_METRICS[name](prediction, truth)
    assert ours == pytest.approx(SKLEARN[name](truth, prediction), rel=1e-12)


def test_r2_of_a_constant_output_follows_scikit_learn():
    truth = np.column_stack([np.arange(10.0), np.ones(10)])
    exact = truth.copy()
    off = truth.copy()
    off[:, 1] = 2.0
    for prediction in (exact, off):
        assert REGRESSION_METRICS["r2"](prediction, truth) == pytest.approx(
            sk.r2_score(truth, prediction)
        )


def test_the_evaluator_names_its_metrics_in_order():
    truth = np.array([[1.0, 2.0], [3.0, 4.0]])
    result = regression_evaluator(["rmse", "mae"])(truth + 1.0, truth)
    assert list(result) == ["rmse", "mae"]
    assert result == {"rmse": 1.0, "mae": 1.0}
    assert list(regression_evaluator()(truth, truth)) == ["mse", "mae"]


@pytest.mark.parametrize(
    ("prediction", "message"),
    [
        (np.zeros(4), r"Shape mismatch of prediction \(4,\)"),
        (np.zeros((4, 3)), r"Shape mismatch"),
        (np.array([["a", "b"]] * 4), "must hold numbers"),
        (np.array([[np.nan, 0.0]] * 4), "1 NaN|4 NaN"),
        (np.zeros((0, 2)), "empty"),
    ],
)
def test_a_prediction_the_challenge_cannot_score_says_why(prediction, message):
    with pytest.raises(ValueError, match=message):
        check_regression_prediction(prediction, np.ones((4, 2)))


def test_unknown_or_no_metric_is_refused_with_the_choices():
    with pytest.raises(ValueError, match=r"Unknown regression metric\(s\) \['mape'\]"):
        regression_evaluator(["mae", "mape"])
    with pytest.raises(ValueError, match="at least one"):
        regression_evaluator([])
