"""TFKerasWrapper with a real Keras model, served by the factory."""

from __future__ import annotations

import falcon.testing
import numpy as np
import pytest

import anomed_anonymizer as anon
from anomed_anonymizer.wire import decode_named_arrays, encode_named_arrays

keras = pytest.importorskip("keras", reason="install the 'keras' extra")

pytestmark = pytest.mark.slow


def validate(feature_array: np.ndarray) -> None:
    if feature_array.ndim != 2 or feature_array.shape[1] != 4:
        raise ValueError(f"expected shape (n, 4), got {feature_array.shape}")


def load_keras_anonymizer(filepath) -> anon.TFKerasWrapper:
    return anon.TFKerasWrapper(keras.models.load_model(filepath), validate)


def compiled_model():
    model = keras.Sequential(
        [
            keras.Input((4,)),
            keras.layers.Dense(8, activation="relu"),
            keras.layers.Dense(2, activation="softmax"),
        ]
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    return model


def test_keras_model_fits_saves_atomically_and_predicts(fake_challenge, tmp_path):
    wrapper = anon.TFKerasWrapper(compiled_model(), validate, epochs=2, verbose=0)
    app = anon.supervised_learning_anonymizer_server_factory(
        anonymizer_identifier="keras",
        anonymizer_obj=wrapper,
        model_filepath=tmp_path / "model.keras",  # Keras 3 insists on the suffix
        default_batch_size=8,
        training_data_url=f"{fake_challenge.url}/data/anonymizer/training",
        tuning_data_url=f"{fake_challenge.url}/data/anonymizer/tuning",
        validation_data_url=f"{fake_challenge.url}/data/anonymizer/validation",
        utility_evaluation_url=f"{fake_challenge.url}/utility/anonymizer",
        model_loader=load_keras_anonymizer,
    )
    client = falcon.testing.TestClient(app)
    assert client.simulate_post("/fit").status_code == 201
    assert (tmp_path / "model.keras").is_file()
    result = client.simulate_post(
        "/predict", body=encode_named_arrays({"X": fake_challenge.X_eval})
    )
    assert result.status_code == 201, result.text
    prediction = decode_named_arrays(result.content)["prediction"]
    assert prediction.shape == (len(fake_challenge.X_eval), 2)
    np.testing.assert_allclose(prediction.sum(axis=1), 1.0, rtol=1e-5)
    expected = wrapper.predict(fake_challenge.X_eval)
    np.testing.assert_allclose(prediction, expected, rtol=1e-5)
