"""The app of ``bench_memory.py``, for both libraries: a model whose fit and
predict cost next to nothing (the majority label; scikit-learn's
DummyClassifier would add 0.3x the data in its input checks), so that a
worker's memory is what serving the data costs. Generous timeouts: the
emulator compresses a gigabyte before it answers.
"""

import os

import numpy as np

import anomed_anonymizer as anon


class MajorityLabel:
    """Predicts the most frequent training label."""

    def fit(self, X: np.ndarray, y: np.ndarray) -> "MajorityLabel":
        values, counts = np.unique(y, return_counts=True)
        self.label_ = values[np.argmax(counts)]
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        return np.full(len(X), self.label_)


def validate(feature_array: np.ndarray) -> None:
    if feature_array.ndim != 2:
        raise ValueError("expected a 2-d feature array")


hostname = os.environ["CHALLENGE_HOST"]
application = anon.supervised_learning_anonymizer_server_factory(
    anonymizer_identifier="bench",
    anonymizer_obj=anon.WrappedAnonymizer(
        MajorityLabel(),
        serializer=anon.pickle_anonymizer,
        feature_array_validator=validate,
    ),
    model_filepath=os.environ["MODEL_FILE"],
    default_batch_size=65_536,
    training_data_url=f"http://{hostname}/data/anonymizer/training",
    tuning_data_url=f"http://{hostname}/data/anonymizer/tuning",
    validation_data_url=f"http://{hostname}/data/anonymizer/validation",
    utility_evaluation_url=f"http://{hostname}/utility/anonymizer",
    model_loader=anon.unpickle_anonymizer,
    download_timeout=300.0,
    upload_timeout=300.0,
)
