"""The app factories refuse, at construction, what would only fail after a
fit: no way to save, no way to validate, a Keras path Keras will refuse."""

from __future__ import annotations

import numpy as np
import pytest

import anomed_anonymizer as anon
from anomed_anonymizer.tabular import MondrianKAnonymizer


class FitPredictOnly:
    def fit(self, X, y):
        pass

    def predict(self, X):
        return np.zeros(len(X))


def validate(feature_array):
    pass


def supervised(anonymizer_obj, model_filepath="model.pkl", **overrides):
    arguments = {
        "anonymizer_identifier": "a",
        "anonymizer_obj": anonymizer_obj,
        "model_filepath": model_filepath,
        "default_batch_size": 8,
        "training_data_url": "http://challenge/data/anonymizer/training",
        "tuning_data_url": "http://challenge/data/anonymizer/tuning",
        "validation_data_url": "http://challenge/data/anonymizer/validation",
        "utility_evaluation_url": "http://challenge/utility/anonymizer",
        "model_loader": anon.unpickle_anonymizer,
    }
    return anon.supervised_learning_anonymizer_server_factory(
        **{**arguments, **overrides}
    )


def test_a_wrapper_without_serializer_is_refused_naming_the_serializer():
    wrapper = anon.WrappedAnonymizer(FitPredictOnly(), feature_array_validator=validate)
    with pytest.raises(ValueError, match=r"serializer=anomed_anonymizer\.pickle"):
        supervised(wrapper)


def test_a_wrapper_without_validator_is_refused_naming_the_validator():
    wrapper = anon.WrappedAnonymizer(
        FitPredictOnly(), serializer=anon.pickle_anonymizer
    )
    with pytest.raises(ValueError, match="feature_array_validator="):
        supervised(wrapper)


def test_a_complete_wrapper_is_accepted():
    wrapper = anon.WrappedAnonymizer(
        FitPredictOnly(),
        serializer=anon.pickle_anonymizer,
        feature_array_validator=validate,
    )
    assert supervised(wrapper) is not None


def test_a_bare_model_is_a_type_error_that_suggests_the_wrapper():
    with pytest.raises(TypeError, match=r"save\(\), validate_input\(\).*Wrapped"):
        supervised(FitPredictOnly())


@pytest.mark.parametrize("argument", ["serializer", "feature_array_validator"])
def test_a_non_callable_replacement_is_a_type_error(argument):
    with pytest.raises(TypeError, match=argument):
        anon.WrappedAnonymizer(FitPredictOnly(), **{argument: "pickle"})


def test_a_non_callable_model_loader_is_a_type_error():
    wrapper = anon.WrappedAnonymizer(
        FitPredictOnly(),
        serializer=anon.pickle_anonymizer,
        feature_array_validator=validate,
    )
    with pytest.raises(TypeError, match="model_loader"):
        supervised(wrapper, model_loader="anonymizer.pkl")


def test_keras_wrapper_needs_a_callable_validator():
    with pytest.raises(TypeError, match="feature_array_validator"):
        anon.TFKerasWrapper(object(), None)


def test_a_keras_3_model_with_a_pkl_path_is_refused_before_training():
    keras = pytest.importorskip("keras", reason="install the 'keras' extra")
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    model.compile(optimizer="adam", loss="mse")
    wrapper = anon.TFKerasWrapper(model, validate)
    with pytest.raises(ValueError, match=r"\.keras.*'model\.keras'"):
        supervised(wrapper, model_filepath="model.pkl")
    assert supervised(wrapper, model_filepath="model.keras") is not None


def test_tabular_factory_refuses_an_object_without_anonymize(tmp_path):
    with pytest.raises(TypeError, match=r"anonymize\(table\).*Mondrian"):
        anon.tabular_data_anonymizer_server_factory(
            "a", FitPredictOnly(), tmp_path, "http://c/leaky", "http://c/utility"
        )
    assert anon.tabular_data_anonymizer_server_factory(
        "a", MondrianKAnonymizer(["age"], k=2), tmp_path, "http://c/l", "http://c/u"
    )


def _accept_any(feature_array) -> None:
    """A validator that lets every array through (module level: it pickles)."""


def test_settings_reach_the_routes_without_the_environment(
    fake_challenge, tmp_path, monkeypatch
):
    import falcon.testing
    from sklearn.naive_bayes import GaussianNB

    from anomed_anonymizer.web import ServerSettings, use_settings
    from anomed_anonymizer.wire import encode_named_arrays

    monkeypatch.delenv("ANOMED_CONTROL_TOKEN", raising=False)
    monkeypatch.delenv("ANOMED_REFIT", raising=False)

    def app(settings=None):
        return anon.supervised_learning_anonymizer_server_factory(
            anonymizer_identifier="settings",
            anonymizer_obj=anon.WrappedAnonymizer(
                GaussianNB(),
                serializer=anon.pickle_anonymizer,
                feature_array_validator=_accept_any,
            ),
            model_filepath=tmp_path / "model.pkl",
            default_batch_size=8,
            training_data_url=f"{fake_challenge.url}/data/anonymizer/training",
            tuning_data_url=f"{fake_challenge.url}/data/anonymizer/tuning",
            validation_data_url=f"{fake_challenge.url}/data/anonymizer/validation",
            utility_evaluation_url=f"{fake_challenge.url}/utility/anonymizer",
            model_loader=anon.unpickle_anonymizer,
            settings=settings,
        )

    settings = ServerSettings(
        control_token="s3cret", refuse_refits=True, max_request_bytes=1000
    )
    assert "s3cret" not in repr(settings)  # kept out of logs
    client = falcon.testing.TestClient(app(settings))
    assert client.simulate_post("/fit").status_code == 401
    auth = {"Authorization": "Bearer s3cret"}
    assert client.simulate_post("/fit", headers=auth).status_code == 201
    assert client.simulate_post("/fit", headers=auth).status_code == 409
    large = encode_named_arrays({"X": np.zeros((200, 4))}, compress=False)
    assert client.simulate_post("/predict", body=large).status_code == 413
    # What serve configures is what a factory without settings= uses.
    use_settings(settings.replace(control_token="other"))
    try:
        configured = falcon.testing.TestClient(app())
        assert configured.simulate_post("/fit", headers=auth).status_code == 401
    finally:
        use_settings(None)
    open_app = falcon.testing.TestClient(app())
    assert open_app.simulate_post("/fit").status_code == 201
