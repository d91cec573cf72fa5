"""The diffprivlib linear-regression example: a served DP guarantee and the
target's shape, for one output or twelve."""

from __future__ import annotations

import importlib

import numpy as np
import pytest

from anomed_anonymizer.emulator import glucose_curves
from anomed_anonymizer.models.privacy import privacy_budget_of

pytest.importorskip("diffprivlib")


@pytest.fixture
def example(monkeypatch):
    for variable in ("CHALLENGE_HOST", "ANOMED_EPSILON", "ANOMED_FEATURE_BOUNDS"):
        monkeypatch.delenv(variable, raising=False)
    module = importlib.import_module("anomed_anonymizer.examples.dp_linear_regression")
    return importlib.reload(module)


def test_it_fits_glucose_curves_with_the_budget_it_serves(example):
    X, y, _ = glucose_curves(n_people=40, meals_per_person=5)
    model = example.PublicBoundsLinearRegression(
        2.0, example.GLUCOSE_FEATURE_BOUNDS, example.GLUCOSE_TARGET_BOUNDS
    )
    assert model.privacy_budget() is None  # nothing spent yet
    model.fit(X, y)
    prediction = model.predict(X[:7])
    assert prediction.shape == (7, 12) and prediction.dtype == np.float64
    budget = privacy_budget_of(example.anon.WrappedAnonymizer(model))
    assert (budget.epsilon, budget.delta) == (2.0, 0.0)
    assert budget.details["noise_seeded"] is False
    assert budget.details["privacy_leaks"] == []  # bounds are public, not the data's


def test_one_output_stays_one_dimensional(example):
    X, y, _ = glucose_curves(n_people=20, meals_per_person=5)
    model = example.anonymizer.fit(X, y[:, 5])
    assert model.predict(X).shape == (len(X),)
    assert model.privacy_budget().epsilon == 3.0  # the example's default


def test_bad_input_says_what_to_fix(example):
    with pytest.raises(ValueError, match="one per public bound"):
        example.anonymizer.validate_input(np.zeros((3, 4)))
    with pytest.raises(ValueError, match="must be float64"):
        example.anonymizer.validate_input(np.zeros((3, 10), dtype=np.float32))
    with pytest.raises(ValueError, match="upper bound above its lower"):
        example.PublicBoundsLinearRegression(1.0, ([0, 1], [1, 0]), (0, 1))
    with pytest.raises(RuntimeError, match="fit the model"):
        example.PublicBoundsLinearRegression(
            1.0, example.GLUCOSE_FEATURE_BOUNDS, example.GLUCOSE_TARGET_BOUNDS
        ).predict(np.zeros((1, 10)))
