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


def test_predict_labels_gives_int64_class_labels_that_survive_a_reload(tmp_path):
    wrapper = anon.TFKerasWrapper(
        compiled_model(), validate, predict_labels=True, epochs=1, verbose=0
    )
    X = np.random.default_rng(0).normal(size=(12, 4))
    wrapper.fit(X, np.arange(12) % 2)
    labels = wrapper.predict(X, batch_size=5)
    assert labels.dtype == np.int64 and labels.shape == (12,)
    assert set(labels.tolist()) <= {0, 1}
    probabilities = anon.TFKerasWrapper(wrapper.model, validate).predict(X)
    np.testing.assert_array_equal(labels, probabilities.argmax(axis=1))
    wrapper.save(tmp_path / "m.keras")
    reloaded = anon.TFKerasWrapper(
        keras.models.load_model(tmp_path / "m.keras"), validate, predict_labels=True
    )
    np.testing.assert_array_equal(reloaded.predict(X), labels)


def test_predict_labels_thresholds_a_single_sigmoid_output():
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, "sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy")
    wrapper = anon.TFKerasWrapper(model, validate, predict_labels=True)
    X = np.random.default_rng(1).normal(size=(9, 4))
    labels = wrapper.predict(X)
    expected = (np.asarray(model.predict(X, verbose=0))[:, 0] >= 0.5).astype(np.int64)
    np.testing.assert_array_equal(labels, expected)


def test_predict_labels_refuses_labels_of_another_dtype_naming_label_dtype():
    wrapper = anon.TFKerasWrapper(compiled_model(), validate, predict_labels=True)
    with pytest.raises(ValueError, match=r"label_dtype=numpy\.int32"):
        wrapper.fit(np.zeros((4, 4)), np.zeros(4, dtype=np.int32))
    matching = anon.TFKerasWrapper(
        compiled_model(),
        validate,
        predict_labels=True,
        label_dtype=np.int32,
        epochs=1,
        verbose=0,
    )
    matching.fit(np.zeros((4, 4)), np.zeros(4, dtype=np.int32))
    assert matching.predict(np.zeros((3, 4))).dtype == np.int32
