"""A multi-output regressor served by our factory (scikit-learn's Ridge), as a
competitor for a regression challenge writes it. ``CHALLENGE_HOST`` names the
challenge."""

import os

import numpy as np
from sklearn.linear_model import Ridge

import anomed_anonymizer as anon

hostname = os.environ["CHALLENGE_HOST"]


def validate_feature_array(feature_array: np.ndarray) -> None:
    if feature_array.ndim != 2 or feature_array.shape[1] != 10:
        raise ValueError("Feature array needs to have shape (n_samples, 10).")
    if feature_array.dtype != np.float64:
        raise ValueError("Feature array must be an array of floats.")


application = anon.supervised_learning_anonymizer_server_factory(
    anonymizer_identifier="ridge_regressor",
    anonymizer_obj=anon.WrappedAnonymizer(
        anonymizer=Ridge(alpha=1.0),
        serializer=anon.pickle_anonymizer,
        feature_array_validator=validate_feature_array,
    ),
    model_filepath="ridge.pkl",
    default_batch_size=64,
    training_data_url=f"http://{hostname}/data/anonymizer/training",
    tuning_data_url=f"http://{hostname}/data/anonymizer/tuning",
    validation_data_url=f"http://{hostname}/data/anonymizer/validation",
    utility_evaluation_url=f"http://{hostname}/utility/anonymizer",
    model_loader=anon.unpickle_anonymizer,
)
