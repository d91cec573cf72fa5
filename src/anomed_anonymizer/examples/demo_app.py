"""The demo's anonymizers, configured from the environment so that the demo
can serve them for any dataset: a non-private random forest (the baseline;
without bootstrap, so that it memorises its training rows)
or the README's differentially private Gaussian naive Bayes.

Environment: ``CHALLENGE_HOST`` (host:port), ``ANOMED_MODEL``
(``random-forest`` or ``dp-naive-bayes``, the default), ``ANOMED_EPSILON``
(privacy budget of the DP model, default 1.0), ``ANOMED_FEATURE_BOUNDS``
(JSON ``[[lower...], [upper...]]``), ``ANOMED_N_CLASSES``,
``ANOMED_MODEL_FILE``, ``ANOMED_SEED`` (seeds the forest, default 0).
Serve with
``anomed-anonymizer serve anomed_anonymizer.examples.demo_app:application``.
"""

from __future__ import annotations

import json
import os

import numpy as np

import anomed_anonymizer as anon

lower, upper = json.loads(os.environ["ANOMED_FEATURE_BOUNDS"])
n_classes = int(os.environ["ANOMED_N_CLASSES"])
n_features = len(lower)


def validate_feature_array(feature_array: np.ndarray) -> None:
    """Accept float64 arrays of shape (n_samples, n_features)."""
    if feature_array.ndim != 2 or feature_array.shape[1] != n_features:
        raise ValueError(
            f"Feature array needs to have shape (n_samples, {n_features}), "
            f"got {feature_array.shape}."
        )
    if feature_array.dtype != np.float64:
        raise ValueError(f"Feature array must be float64, got {feature_array.dtype}.")


def _estimator(model: str):
    if model == "random-forest":
        from sklearn.ensemble import RandomForestClassifier

        # Without bootstrap every tree fits every training row: the forest is
        # certain of its members and less so of new rows, the memorisation a
        # score-based attack finds (and as accurate as a bagged forest here).
        return RandomForestClassifier(
            bootstrap=False, random_state=int(os.environ.get("ANOMED_SEED", 0))
        )
    if model == "dp-naive-bayes":
        from diffprivlib.models import GaussianNB

        return GaussianNB(
            epsilon=float(os.environ.get("ANOMED_EPSILON", "1.0")),
            bounds=(lower, upper),
            priors=n_classes * [1.0 / n_classes],
        )
    raise ValueError(
        f"ANOMED_MODEL must be random-forest or dp-naive-bayes, not {model!r}"
    )


hostname = os.environ["CHALLENGE_HOST"]
application = anon.supervised_learning_anonymizer_server_factory(
    anonymizer_identifier="example_anonymizer",
    anonymizer_obj=anon.WrappedAnonymizer(
        anonymizer=_estimator(os.environ.get("ANOMED_MODEL", "dp-naive-bayes")),
        serializer=anon.pickle_anonymizer,
        feature_array_validator=validate_feature_array,
    ),
    model_filepath=os.environ.get("ANOMED_MODEL_FILE", "anonymizer.pkl"),
    default_batch_size=64,
    training_data_url=f"http://{hostname}/data/anonymizer/training",
    tuning_data_url=f"http://{hostname}/data/anonymizer/tuning",
    validation_data_url=f"http://{hostname}/data/anonymizer/validation",
    utility_evaluation_url=f"http://{hostname}/utility/anonymizer",
    model_loader=anon.unpickle_anonymizer,
)
