"""TorchWrapper as a regressor: one and several outputs, DP-SGD, weights."""

from __future__ import annotations

import re

import numpy as np
import pytest
from sklearn import datasets, model_selection, preprocessing

import anomed_anonymizer as anon

torch = pytest.importorskip("torch", reason="install the 'torch' extra")
pytest.importorskip("opacus", reason="install the 'torch' extra")
nn = torch.nn


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    # Tiny networks train fastest on one thread, and CI's two cores are shared.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def split(X, y):
    X_train, X_test, y_train, y_test = model_selection.train_test_split(
        X, y, test_size=0.3, random_state=0
    )
    scaler = preprocessing.StandardScaler().fit(X_train)
    return scaler.transform(X_train), scaler.transform(X_test), y_train, y_test


@pytest.fixture(scope="module")
def diabetes():
    X, y = datasets.load_diabetes(return_X_y=True)  # y: (442,) float64
    return split(X, y)


@pytest.fixture(scope="module")
def linnerud():
    X, y = datasets.load_linnerud(return_X_y=True)  # y: (20, 3) float64
    return split(X, y)


def mlp(n_features: int, n_outputs: int) -> nn.Module:
    return nn.Sequential(nn.Linear(n_features, 16), nn.ReLU(), nn.Linear(16, n_outputs))


def adam(parameters):
    return torch.optim.Adam(parameters, lr=1e-2)


def mse(prediction, y):
    return float(np.mean((prediction - y) ** 2))


def mean_baseline(y_train, y_test):
    """The MSE of predicting the training mean everywhere."""
    return mse(np.broadcast_to(y_train.mean(axis=0), y_test.shape), y_test)


def public_scale(y):
    # What a user could know of the target's range; fixed per test, not
    # fitted to the private training rows.
    return (np.round(y.mean(axis=0)), np.ceil(y.std(axis=0)))


@pytest.fixture(scope="module")
def diabetes_model(diabetes):
    X_train, _, y_train, _ = diabetes
    model = anon.TorchWrapper(
        mlp, optimizer=adam, epochs=30, batch_size=32, target_scale="standardize"
    )
    model.fit(X_train, y_train)
    return model


# -- settings ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"task": "ordinal"}, "task must be one of auto, classification, regression"),
        ({"task": "regression", "output": "probabilities"}, "needs a classifier"),
        ({"task": "classification", "target_scale": (0, 1)}, "is for regression"),
        ({"target_scale": "minmax"}, "target_scale must be (centre, scale)"),
        ({"target_scale": (0, -1)}, "scale must be positive"),
        ({"target_scale": (0, [[1]])}, "numbers or 1-d"),
        (
            {"target_scale": "standardize", "dp": anon.DPSGD(epsilon=1.0)},
            "budget does not pay for",
        ),
    ],
)
def test_regression_settings_are_checked_naming_them(kwargs, fragment):
    with pytest.raises(ValueError, match=re.escape(fragment)):
        anon.TorchWrapper(mlp, **kwargs)


# -- one output ------------------------------------------------------------------


def test_float_y_is_regressed_in_its_shape_and_beats_the_mean(diabetes_model, diabetes):
    _, X_test, y_train, y_test = diabetes
    prediction = diabetes_model.predict(X_test)
    assert diabetes_model.task_ == "regression"
    assert diabetes_model.n_outputs_ == 1
    assert diabetes_model.target_shape_ == ()
    assert prediction.shape == y_test.shape == (len(X_test),)
    assert prediction.dtype == np.float64
    assert diabetes_model.privacy_budget() is None
    # Linear models reach about half the mean predictor's MSE here.
    assert mse(prediction, y_test) < 0.8 * mean_baseline(y_train, y_test)


def test_standardize_takes_the_training_mean_and_deviation(diabetes_model, diabetes):
    _, _, y_train, _ = diabetes
    centre, scale = diabetes_model.target_scale_
    np.testing.assert_allclose(centre, [y_train.mean()])
    np.testing.assert_allclose(scale, [y_train.std()])


def test_batched_regression_equals_whole_and_an_empty_x_gives_no_rows(
    diabetes_model, diabetes
):
    _, X_test, _, _ = diabetes
    np.testing.assert_allclose(
        diabetes_model.predict(X_test, batch_size=7),
        diabetes_model.predict(X_test),
        rtol=1e-6,
    )
    assert diabetes_model.predict(X_test[:0]).shape == (0,)


def test_a_regressor_has_no_predict_proba(diabetes_model, diabetes):
    _, X_test, _, _ = diabetes
    assert not hasattr(diabetes_model, "predict_proba")
    with pytest.raises(AttributeError, match="is a regressor"):
        diabetes_model.predict_proba(X_test)
    # Declared a regressor, it has none even before fitting.
    assert not hasattr(anon.TorchWrapper(mlp, task="regression"), "predict_proba")


def test_integer_targets_are_numbers_when_asked_for_regression(diabetes):
    X_train, X_test, y_train, _ = diabetes
    model = anon.TorchWrapper(mlp, epochs=1, task="regression")
    model.fit(X_train, y_train.astype(np.int64))
    assert model.task_ == "regression"
    prediction = model.predict(X_test)
    assert prediction.shape == (len(X_test),)
    assert prediction.dtype == np.float64


def test_the_users_loss_wins_over_mse(diabetes):
    X_train, _, y_train, _ = diabetes

    class CountingL1(nn.L1Loss):
        calls = 0

        def forward(self, output, target):
            CountingL1.calls += 1
            assert output.shape == target.shape
            return super().forward(output, target)

    model = anon.TorchWrapper(mlp, loss=CountingL1(), epochs=1, batch_size=64)
    model.fit(X_train, y_train)
    assert CountingL1.calls == int(np.ceil(len(X_train) / 64))


# -- several outputs -------------------------------------------------------------


def test_several_outputs_keep_their_shape_and_beat_the_mean(linnerud):
    X_train, X_test, y_train, y_test = linnerud
    model = anon.TorchWrapper(
        mlp,
        optimizer=adam,
        epochs=100,
        batch_size=8,
        target_scale=public_scale(y_train),
    )
    model.fit(X_train, y_train)
    assert model.n_outputs_ == 3
    assert model.target_shape_ == (3,)
    training = model.predict(X_train)
    assert training.shape == y_train.shape
    assert training.dtype == np.float64
    assert model.predict(X_test).shape == y_test.shape == (len(X_test), 3)
    # 14 training rows: the test split is too small to judge, the fit is not.
    assert mse(training, y_train) < 0.8 * mean_baseline(y_train, y_train)


def test_a_column_vector_target_stays_a_column(diabetes):
    X_train, X_test, y_train, _ = diabetes
    model = anon.TorchWrapper(mlp, epochs=1)
    model.fit(X_train, y_train[:, None])
    assert model.target_shape_ == (1,)
    assert model.predict(X_test).shape == (len(X_test), 1)


def test_a_network_of_the_wrong_width_is_a_clear_error(linnerud):
    X_train, _, y_train, _ = linnerud
    model = anon.TorchWrapper(mlp(3, 2), epochs=1)
    with pytest.raises(ValueError, match="returns 2 outputs per row") as error:
        model.fit(X_train, y_train)
    assert "have 3 per row" in str(error.value)


@pytest.mark.parametrize(
    ("y", "kwargs", "fragment"),
    [
        (np.zeros((20, 3, 1)), {}, r"shape \(20,\) or \(20, k\)"),
        (np.zeros((20, 0)), {}, "k >= 1"),
        (np.zeros(19), {}, "one row per row of X"),
        (np.full(20, np.nan), {}, "NaN or infinite"),
        (np.array(["a"] * 20), {"task": "regression"}, "must be real numbers"),
        (np.zeros((20, 3)), {"target_scale": ([0, 0], 1)}, "centre has 2 values"),
        (np.zeros(20, dtype=int), {"target_scale": (0, 1)}, "is for regression"),
        (np.zeros(20), {"output": "probabilities"}, "has no output='probabilities'"),
    ],
)
def test_unusable_regression_targets_are_a_clear_error(y, kwargs, fragment):
    X = np.zeros((20, 3))
    with pytest.raises(ValueError, match=fragment):
        anon.TorchWrapper(mlp, epochs=1, **kwargs).fit(X, y)


# -- DP-SGD ----------------------------------------------------------------------


@pytest.mark.slow
def test_dp_sgd_regression_spends_at_most_the_target_and_is_not_absurd(diabetes):
    X_train, X_test, y_train, y_test = diabetes
    model = anon.TorchWrapper(
        mlp,
        optimizer=lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9),
        epochs=15,
        batch_size=32,
        dp=anon.DPSGD(epsilon=3.0),
        target_scale=public_scale(y_train),
    )
    model.fit(X_train, y_train)
    budget = model.privacy_budget()
    assert budget is not None
    assert 0 < budget.epsilon <= 3.0 + 1e-6
    assert budget.details["steps"] > 0
    prediction = model.predict(X_test)
    assert prediction.shape == y_test.shape
    assert prediction.dtype == np.float64
    assert np.isfinite(prediction).all()
    # The noise is secret (unseeded), so no tight bound: over twelve fits this
    # model's MSE was 0.7-1.4x the mean predictor's. Predicting 0 is 5.5x it,
    # so half of that separates "learned the target's scale" from "absurd".
    assert mse(prediction, y_test) < 0.5 * mse(np.zeros_like(y_test), y_test)
    assert mse(prediction, y_test) < 3 * mean_baseline(y_train, y_test)


# -- weights files -----------------------------------------------------------------


def test_save_and_load_keep_task_shape_and_scale(linnerud, tmp_path):
    X_train, X_test, y_train, _ = linnerud
    model = anon.TorchWrapper(
        mlp, epochs=2, batch_size=8, target_scale=public_scale(y_train)
    )
    model.fit(X_train, y_train)
    path = tmp_path / "regressor.pt"
    model.save(path)
    assert torch.load(path, weights_only=True)["version"] == 2
    loaded = anon.TorchWrapper(mlp).load(path)  # the settings' task is "auto"
    assert loaded.task_ == "regression"
    assert loaded.target_shape_ == (3,)
    assert not hasattr(loaded, "predict_proba")
    np.testing.assert_array_equal(loaded.predict(X_test), model.predict(X_test))
    for saved, restored in zip(model.target_scale_, loaded.target_scale_, strict=True):
        np.testing.assert_array_equal(saved, restored)


def test_save_and_load_keep_a_one_output_regressor_one_dimensional(
    diabetes_model, diabetes, tmp_path
):
    _, X_test, _, _ = diabetes
    path = tmp_path / "regressor.pt"
    diabetes_model.save(path)
    loaded = diabetes_model.load(path)
    prediction = loaded.predict(X_test)
    assert prediction.shape == (len(X_test),)
    np.testing.assert_array_equal(prediction, diabetes_model.predict(X_test))


def test_a_classifier_is_unchanged_and_still_writes_format_version_1(tmp_path):
    X, y = datasets.load_iris(return_X_y=True)
    X = preprocessing.StandardScaler().fit_transform(X)
    model = anon.TorchWrapper(mlp, optimizer=adam, epochs=5)
    model.fit(X, y)
    assert model.task_ == "classification"
    assert model.classes_.tolist() == [0, 1, 2]
    assert model.predict(X).dtype == y.dtype
    assert model.predict_proba(X).shape == (len(X), 3)
    path = tmp_path / "classifier.pt"
    model.save(path)
    state = torch.load(path, weights_only=True)
    assert state["version"] == 1
    assert "task" not in state
    loaded = model.load(path)
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    # A regressor's settings load a classifier's file as a classifier.
    assert anon.TorchWrapper(mlp, task="regression").load(path).task_ == (
        "classification"
    )


def test_refitting_switches_between_classifier_and_regressor(diabetes):
    X_train, X_test, y_train, _ = diabetes
    model = anon.TorchWrapper(mlp, epochs=1)
    model.fit(X_train, (y_train > 150).astype(int))
    assert hasattr(model, "predict_proba")
    model.fit(X_train, y_train)
    assert not hasattr(model, "classes_")
    assert not hasattr(model, "predict_proba")
    assert model.predict(X_test).dtype == np.float64


# -- the glucose emulator's data (where this tree has it) ----------------------------


@pytest.mark.slow
def test_glucose_curves_are_regressed_in_their_shape():
    glucose = pytest.importorskip("anomed_anonymizer.emulator.glucose")
    X, y, _ = glucose.glucose_curves(n_people=40, meals_per_person=5)
    X_train, X_test, y_train, y_test = split(X, y)
    model = anon.TorchWrapper(
        mlp, optimizer=adam, epochs=40, batch_size=32, target_scale="standardize"
    )
    model.fit(X_train, y_train)
    prediction = model.predict(X_test)
    assert prediction.shape == y_test.shape == (len(X_test), y.shape[1])
    assert prediction.dtype == np.float64
    assert mse(prediction, y_test) < mean_baseline(y_train, y_test)
