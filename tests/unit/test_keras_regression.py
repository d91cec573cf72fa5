"""TFKerasWrapper as a regressor (one output and several), saved, reloaded and
served against the emulator's regression challenge."""

from __future__ import annotations

import falcon.testing
import numpy as np
import pytest

import anomed_anonymizer as anon
from anomed_anonymizer.emulator import (
    MIAChallenge,
    load_dataset,
    supervised_challenge_app,
)
from anomed_anonymizer.wire import decode_named_arrays, encode_named_arrays

from .conftest import serve_in_thread

keras = pytest.importorskip("keras", reason="install the 'keras' extra")
datasets = pytest.importorskip("sklearn.datasets", reason="install scikit-learn")


def no_validation(feature_array: np.ndarray) -> None:
    if feature_array.ndim != 2:
        raise ValueError(f"expected a 2-d array, got shape {feature_array.shape}")


def standardised(loader) -> tuple[np.ndarray, np.ndarray]:
    X, y = loader(return_X_y=True)
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    y = np.asarray(y, dtype=np.float64)
    return X, (y - y.mean(axis=0)) / y.std(axis=0)


def mse_model(n_features: int, width: int, learning_rate: float = 0.01):
    model = keras.Sequential(
        [
            keras.Input((n_features,)),
            keras.layers.Dense(32, activation="relu"),
            keras.layers.Dense(width),
        ]
    )
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="mse")
    return model


@pytest.mark.slow
@pytest.mark.parametrize(
    ("loader", "epochs", "bound"),
    # in-sample MSE of standardised targets, where the mean scores 1.0
    # (measured: linnerud 0.04, diabetes 0.28)
    [(datasets.load_linnerud, 300, 0.3), (datasets.load_diabetes, 60, 0.6)],
    ids=["linnerud-3-outputs", "diabetes-1-output"],
)
def test_a_regressor_predicts_float64_targets_and_survives_a_reload(
    loader, epochs, bound, tmp_path
):
    X, y = standardised(loader)
    keras.utils.set_random_seed(0)
    width = 1 if y.ndim == 1 else y.shape[1]
    wrapper = anon.TFKerasWrapper(
        mse_model(X.shape[1], width), no_validation, epochs=epochs, verbose=0
    )
    wrapper.fit(X, y)
    assert wrapper.task_ == "regression" and wrapper.target_shape_ == y.shape[1:]
    prediction = wrapper.predict(X, batch_size=64)
    assert prediction.shape == y.shape and prediction.dtype == np.float64
    constant = np.mean((y - y.mean(axis=0)) ** 2)
    assert np.mean((prediction - y) ** 2) < bound * constant

    wrapper.save(tmp_path / "regressor.keras")
    reloaded = anon.TFKerasWrapper.load(tmp_path / "regressor.keras", no_validation)
    assert reloaded.task_ == "regression"
    np.testing.assert_array_equal(reloaded.predict(X, batch_size=64), prediction)
    # wrapped again by hand (as a loader written for earlier versions does):
    # task="regression" alone gives the same, float64 of the target's shape
    by_hand = anon.TFKerasWrapper(
        keras.models.load_model(tmp_path / "regressor.keras"),
        no_validation,
        task="regression",
    )
    np.testing.assert_array_equal(by_hand.predict(X, batch_size=64), prediction)


def test_a_model_of_the_wrong_output_width_is_refused_before_training():
    X, y = standardised(datasets.load_linnerud)
    model = mse_model(X.shape[1], 2)
    before = [weight.copy() for weight in model.get_weights()]
    wrapper = anon.TFKerasWrapper(model, no_validation, epochs=1, verbose=0)
    with pytest.raises(ValueError, match=r"width 2.*3 column.*Dense\(3\)"):
        wrapper.fit(X, y)
    for weight, old in zip(model.get_weights(), before, strict=True):
        np.testing.assert_array_equal(weight, old)
    with pytest.raises(ValueError, match=r"width 2.*1 column.*Dense\(1\)"):
        wrapper.fit(X, y[:, 0])
    # float labels meant as classes: the message names the way out
    with pytest.raises(ValueError, match="task='classification'"):
        wrapper.fit(X, np.zeros(len(X)))


def test_a_regressor_refuses_bad_targets_and_classifier_options():
    X, y = standardised(datasets.load_linnerud)
    wrapper = anon.TFKerasWrapper(mse_model(X.shape[1], 3), no_validation)
    with pytest.raises(ValueError, match=r"shape \(20,\) or \(20, k\)"):
        wrapper.fit(X, y[:, :, None])
    with pytest.raises(ValueError, match="NaN or infinite"):
        wrapper.fit(X, np.where(y > 1, np.nan, y))
    with pytest.raises(ValueError, match="predict_labels=True needs a classifier"):
        anon.TFKerasWrapper(
            mse_model(3, 3), no_validation, task="regression", predict_labels=True
        )
    with pytest.raises(ValueError, match="task must be one of"):
        anon.TFKerasWrapper(mse_model(3, 3), no_validation, task="regress")


def test_integer_targets_regress_only_when_asked():
    X = np.random.default_rng(0).normal(size=(16, 3))
    y = np.arange(16) % 4
    wrapper = anon.TFKerasWrapper(
        mse_model(3, 1), no_validation, task="regression", epochs=1, verbose=0
    )
    wrapper.fit(X, y)
    prediction = wrapper.predict(X)
    assert prediction.shape == (16,) and prediction.dtype == np.float64
    # "auto" keeps classifying integer labels: the raw outputs, as before
    classifier = anon.TFKerasWrapper(
        mse_model(3, 1), no_validation, epochs=1, verbose=0
    )
    classifier.fit(X, y)
    assert classifier.task_ == "classification"
    assert classifier.predict(X).shape == (16, 1)


def test_a_saved_classifier_loads_as_before(tmp_path):
    model = keras.Sequential(
        [keras.Input((3,)), keras.layers.Dense(2, activation="softmax")]
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    X = np.random.default_rng(2).normal(size=(10, 3))
    wrapper = anon.TFKerasWrapper(
        model, no_validation, predict_labels=True, epochs=1, verbose=0
    )
    wrapper.fit(X, np.arange(10) % 2)
    wrapper.save(tmp_path / "classifier.keras")
    reloaded = anon.TFKerasWrapper.load(
        tmp_path / "classifier.keras", no_validation, predict_labels=True
    )
    assert reloaded.task_ is None
    np.testing.assert_array_equal(reloaded.predict(X), wrapper.predict(X))
    regressor = anon.TFKerasWrapper(mse_model(3, 1), no_validation, epochs=1, verbose=0)
    regressor.fit(X, X[:, 0])
    regressor.save(tmp_path / "regressor.keras")
    with pytest.raises(ValueError, match="holds a regressor"):
        anon.TFKerasWrapper.load(
            tmp_path / "regressor.keras", no_validation, predict_labels=True
        )


@pytest.mark.slow
def test_a_keras_regressor_serves_the_linnerud_challenge(tmp_path):
    # 20 rows: room for one membership-inference pair only
    challenge = MIAChallenge(load_dataset("linnerud"), mia_evaluation_length=1)
    X_train, y_train = challenge.training
    centre, scale = X_train.mean(axis=0), X_train.std(axis=0)
    y_centre, y_scale = y_train.mean(axis=0), y_train.std(axis=0)

    def build_model():
        model = keras.Sequential(
            [
                keras.Input((3,)),
                keras.layers.Normalization(mean=centre, variance=scale**2),
                keras.layers.Dense(16, activation="relu"),
                keras.layers.Dense(3),
                # the public target scale, back to the challenge's units
                keras.layers.Rescaling(y_scale, offset=y_centre),
            ]
        )
        model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
        return model

    def load(filepath):
        return anon.TFKerasWrapper.load(filepath, no_validation)

    keras.utils.set_random_seed(0)
    with serve_in_thread(supervised_challenge_app(challenge, anomed_host="")) as url:
        app = anon.supervised_learning_anonymizer_server_factory(
            anonymizer_identifier="keras-regressor",
            anonymizer_obj=anon.TFKerasWrapper(
                build_model(), no_validation, epochs=50, verbose=0
            ),
            model_filepath=tmp_path / "model.keras",
            default_batch_size=8,
            training_data_url=f"{url}/data/anonymizer/training",
            tuning_data_url=f"{url}/data/anonymizer/tuning",
            validation_data_url=f"{url}/data/anonymizer/validation",
            utility_evaluation_url=f"{url}/utility/anonymizer",
            model_loader=load,
        )
        client = falcon.testing.TestClient(app)
        fit = client.simulate_post("/fit")
        assert fit.status_code == 201, fit.text
        evaluation = client.simulate_post("/evaluate", params={"data_split": "tuning"})
        assert evaluation.status_code == 201, evaluation.text
        assert np.isfinite(evaluation.json["evaluation"]["mse"])
    X = challenge.tuning[0]
    answer = client.simulate_post("/predict", body=encode_named_arrays({"X": X}))
    assert answer.status_code == 201, answer.text
    prediction = decode_named_arrays(answer.content)["prediction"]
    assert prediction.shape == (len(X), 3) and prediction.dtype == np.float64
    np.testing.assert_array_equal(prediction, load(tmp_path / "model.keras").predict(X))
