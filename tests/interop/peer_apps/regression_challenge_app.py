"""The real ``anomed-challenge`` as a regression challenge's author builds it:
multi-output targets, scored by MAE and MSE with scikit-learn (the platform's
medical drafts score blood-glucose curves so), seeded with 42 throughout.

The data (float arrays ``X`` and ``y``) is read from the npz file named by
``REGRESSION_CHALLENGE_DATA``: the test writes it. Runs in the peers'
environment (NumPy 1.26), under gunicorn:
``gunicorn regression_challenge_app:application``.
"""

import os

import anomed_challenge as anochal
import numpy as np
from sklearn import metrics, model_selection

with np.load(os.environ["REGRESSION_CHALLENGE_DATA"], allow_pickle=False) as data:
    X, y = data["X"], data["y"]

X_train, X_other, y_train, y_other = model_selection.train_test_split(
    X, y, test_size=0.3, random_state=42
)
X_tune, X_val, y_tune, y_val = model_selection.train_test_split(
    X_other, y_other, test_size=0.5, random_state=42
)


def mae_and_mse(prediction: np.ndarray, ground_truth: np.ndarray) -> dict:
    if prediction.shape != ground_truth.shape:
        raise ValueError(
            f"prediction {prediction.shape} != ground truth {ground_truth.shape}"
        )
    return {
        "mae": float(metrics.mean_absolute_error(ground_truth, prediction)),
        "mse": float(metrics.mean_squared_error(ground_truth, prediction)),
    }


regression_challenge = anochal.SupervisedLearningMIAChallenge(
    training_data=anochal.InMemoryNumpyArrays(X=X_train, y=y_train),
    tuning_data=anochal.InMemoryNumpyArrays(X=X_tune, y=y_tune),
    validation_data=anochal.InMemoryNumpyArrays(X=X_val, y=y_val),
    anonymizer_evaluator=mae_and_mse,
    MIA_evaluator=anochal.evaluate_MIA,
    MIA_evaluation_dataset_length=5,
    seed=42,
)

application = anochal.supervised_learning_MIA_challenge_server_factory(
    regression_challenge
)
