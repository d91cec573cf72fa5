"""Anonymizer wrappers and batching, as upstream documents them."""

import pickle
from pathlib import Path

import numpy as np
import pytest
from sklearn.naive_bayes import GaussianNB

import anomed_anonymizer as anon


class RecordingModel:
    """Predicts the row sums and records each batch length it was called with."""

    def __init__(self):
        self.batch_lengths = []
        self.fitted_on = None

    def fit(self, X, y):
        self.fitted_on = (X.shape, y.shape)

    def predict(self, X):
        self.batch_lengths.append(len(X))
        return X.sum(axis=1)


class BatchingModel(RecordingModel):
    def predict(self, X, batch_size=None):
        self.batch_lengths.append(batch_size)
        return X.sum(axis=1)


def test_batch_views_splits_without_copying():
    array = np.arange(10)
    batches = anon.batch_views(array, 4)
    assert [b.tolist() for b in batches] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert all(np.shares_memory(b, array) for b in batches)


@pytest.mark.parametrize("batch_size", [None, 10, 100])
def test_batch_views_whole_array_when_batch_covers_it(batch_size):
    array = np.arange(10)
    assert len(anon.batch_views(array, batch_size)) == 1


@pytest.mark.parametrize("batch_size", [0, -3, 2.5, True])
def test_batch_views_refuses_non_positive_or_non_integer_sizes(batch_size):
    with pytest.raises(ValueError, match="positive integer"):
        anon.batch_views(np.arange(3), batch_size)


def test_wrapped_batches_itself_when_predict_has_no_batch_size():
    model = RecordingModel()
    wrapped = anon.WrappedAnonymizer(model)
    X = np.ones((10, 2))
    prediction = wrapped.predict(X, batch_size=4)
    assert model.batch_lengths == [4, 4, 2]
    np.testing.assert_array_equal(prediction, np.full(10, 2.0))


class GrowingLabels:
    """Labels whose width (and so dtype) grows from batch to batch."""

    def __init__(self):
        self.calls = 0

    def fit(self, X, y):
        pass

    def predict(self, X):
        self.calls += 1
        return np.array(["x" * self.calls] * len(X))


def test_wrapped_batches_keep_every_label_whole_when_dtypes_differ():
    prediction = anon.WrappedAnonymizer(GrowingLabels()).predict(
        np.ones((5, 2)), batch_size=2
    )
    assert prediction.tolist() == ["x", "x", "xx", "xx", "xxx"]


def test_wrapped_passes_batch_size_through_when_predict_takes_it():
    model = BatchingModel()
    anon.WrappedAnonymizer(model).predict(np.ones((10, 2)), batch_size=4)
    assert model.batch_lengths == [4]


def test_wrapped_fit_reaches_the_model():
    model = RecordingModel()
    anon.WrappedAnonymizer(model).fit(np.ones((5, 2)), np.zeros(5))
    assert model.fitted_on == ((5, 2), (5,))


@pytest.mark.parametrize("missing", ["fit", "predict"])
def test_wrapped_refuses_objects_without_fit_or_predict(missing):
    class Partial:
        pass

    for method in {"fit", "predict"} - {missing}:
        setattr(Partial, method, lambda self, *a: None)
    with pytest.raises(NotImplementedError, match=f"{missing}\\(\\)"):
        anon.WrappedAnonymizer(Partial())


def test_wrapped_save_prefers_the_models_own_save(tmp_path):
    class SavingModel(RecordingModel):
        def save(self, filepath):
            Path(filepath).write_text("own")

    anon.WrappedAnonymizer(SavingModel(), serializer=anon.pickle_anonymizer).save(
        tmp_path / "m"
    )
    assert (tmp_path / "m").read_text() == "own"


def test_wrapped_save_uses_serializer_on_the_wrapper(tmp_path):
    wrapped = anon.WrappedAnonymizer(GaussianNB(), serializer=anon.pickle_anonymizer)
    wrapped.fit(np.array([[0.0], [1.0], [0.1], [0.9]]), np.array([0, 1, 0, 1]))
    wrapped.save(tmp_path / "m.pkl")
    restored = anon.unpickle_anonymizer(tmp_path / "m.pkl")
    assert isinstance(restored, anon.WrappedAnonymizer)
    assert restored.predict(np.array([[0.05], [0.95]])).tolist() == [0, 1]


def test_wrapped_save_without_any_means_says_what_to_pass(tmp_path):
    with pytest.raises(NotImplementedError, match="serializer"):
        anon.WrappedAnonymizer(RecordingModel()).save(tmp_path / "m")


def test_wrapped_validate_prefers_own_then_validator_then_says_what_is_missing():
    class Validating(RecordingModel):
        def validate_input(self, feature_array):
            raise ValueError("own validator")

    def validator(feature_array):
        raise ValueError("given validator")

    with pytest.raises(ValueError, match="own validator"):
        anon.WrappedAnonymizer(
            Validating(), feature_array_validator=validator
        ).validate_input(np.zeros(1))
    with pytest.raises(ValueError, match="given validator"):
        anon.WrappedAnonymizer(
            RecordingModel(), feature_array_validator=validator
        ).validate_input(np.zeros(1))
    with pytest.raises(NotImplementedError, match="feature_array_validator"):
        anon.WrappedAnonymizer(RecordingModel()).validate_input(np.zeros(1))


def test_pickle_round_trip(tmp_path):
    anon.pickle_anonymizer({"weights": [1, 2]}, tmp_path / "p.pkl")
    assert anon.unpickle_anonymizer(tmp_path / "p.pkl") == {"weights": [1, 2]}
    assert pickle.loads((tmp_path / "p.pkl").read_bytes()) == {"weights": [1, 2]}


class KerasLikeModel:
    """Records the calls TFKerasWrapper makes (Keras' fit/predict/save API)."""

    def __init__(self):
        self.calls = []

    def fit(self, x, y, **kwargs):
        self.calls.append(("fit", x.shape, y.shape, kwargs))

    def predict(self, x, batch_size=None, verbose="auto"):
        self.calls.append(("predict", x.shape, batch_size, verbose))
        return np.zeros((len(x), 3))

    def save(self, filepath):
        self.calls.append(("save", str(filepath)))


def test_tfkeras_wrapper_forwards_fit_kwargs_batch_size_and_save(tmp_path):
    model = KerasLikeModel()
    wrapper = anon.TFKerasWrapper(model, lambda X: None, epochs=3, verbose=0)
    wrapper.fit(np.ones((4, 2)), np.zeros(4, dtype=np.int64))  # class labels
    assert wrapper.predict(np.ones((4, 2)), batch_size=2).shape == (4, 3)
    wrapper.save(tmp_path / "m.keras")
    assert model.calls == [
        ("fit", (4, 2), (4,), {"epochs": 3, "verbose": 0}),
        ("predict", (4, 2), 2, 0),
        ("save", str(tmp_path / "m.keras")),
    ]


def test_tfkeras_wrapper_refuses_x_and_y_kwargs():
    with pytest.raises(ValueError, match="'x'"):
        anon.TFKerasWrapper(KerasLikeModel(), lambda X: None, x=np.zeros(1))
