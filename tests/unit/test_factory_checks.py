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
