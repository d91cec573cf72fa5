"""An anonymizer whose predictions reveal which fit and which worker served
them: each row is predicted as ``[fit_version, worker_pid]``. ``fit`` sleeps
``FIT_SECONDS`` so that concurrent fits overlap."""

import os
import time

import numpy as np

import anomed_anonymizer as anon


class VersionedModel:
    def __init__(self):
        self.version = None

    def fit(self, X, y):
        time.sleep(float(os.environ.get("FIT_SECONDS", "0")))
        self.version = time.time_ns()

    def predict(self, X):
        return np.tile([self.version, os.getpid()], (len(X), 1))


def validate(feature_array):
    if feature_array.ndim != 2:
        raise ValueError("expected a 2-d feature array")


hostname = os.environ["CHALLENGE_HOST"]
application = anon.supervised_learning_anonymizer_server_factory(
    anonymizer_identifier="versioned",
    anonymizer_obj=anon.WrappedAnonymizer(
        VersionedModel(),
        serializer=anon.pickle_anonymizer,
        feature_array_validator=validate,
    ),
    model_filepath=os.environ["MODEL_FILE"],
    default_batch_size=64,
    training_data_url=f"http://{hostname}/data/anonymizer/training",
    tuning_data_url=f"http://{hostname}/data/anonymizer/tuning",
    validation_data_url=f"http://{hostname}/data/anonymizer/validation",
    utility_evaluation_url=f"http://{hostname}/utility/anonymizer",
    model_loader=anon.unpickle_anonymizer,
)
