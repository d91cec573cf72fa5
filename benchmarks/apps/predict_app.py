"""One app for both libraries: the same code serves under our
anomed_anonymizer and under upstream's (in the peers' environment), since the
public API is the same. A plain scikit-learn GaussianNB, so that the
benchmark measures the serving path rather than a model.
"""

import os

import numpy as np
from sklearn.naive_bayes import GaussianNB

import anomed_anonymizer as anon


def validate(feature_array: np.ndarray) -> None:
    if feature_array.ndim != 2 or feature_array.shape[1] != 4:
        raise ValueError("expected shape (n_samples, 4)")
    if feature_array.dtype != np.float64:
        raise ValueError("expected float64")


hostname = os.environ["CHALLENGE_HOST"]
application = anon.supervised_learning_anonymizer_server_factory(
    anonymizer_identifier="bench",
    anonymizer_obj=anon.WrappedAnonymizer(
        GaussianNB(),
        serializer=anon.pickle_anonymizer,
        feature_array_validator=validate,
    ),
    model_filepath=os.environ["MODEL_FILE"],
    default_batch_size=1024,
    training_data_url=f"http://{hostname}/data/anonymizer/training",
    tuning_data_url=f"http://{hostname}/data/anonymizer/tuning",
    validation_data_url=f"http://{hostname}/data/anonymizer/validation",
    utility_evaluation_url=f"http://{hostname}/utility/anonymizer",
    model_loader=anon.unpickle_anonymizer,
)
