"""The real ``anomed-challenge`` iris challenge (its README example), seeded
with 42 throughout, like ``anomed-anonymizer emulate-challenge --seed 42``.

Runs in the peers' environment (NumPy 1.26), under gunicorn:
``gunicorn challenge_app:application``.
"""

import anomed_challenge as anochal
from sklearn import datasets, model_selection

iris = datasets.load_iris()
X = iris.data
y = iris.target
X_train, X_other, y_train, y_other = model_selection.train_test_split(
    X, y, test_size=0.3, random_state=42
)
X_tune, X_val, y_tune, y_val = model_selection.train_test_split(
    X_other, y_other, test_size=0.5, random_state=42
)

example_challenge = anochal.SupervisedLearningMIAChallenge(
    training_data=anochal.InMemoryNumpyArrays(X=X_train, y=y_train),
    tuning_data=anochal.InMemoryNumpyArrays(X=X_tune, y=y_tune),
    validation_data=anochal.InMemoryNumpyArrays(X=X_val, y=y_val),
    anonymizer_evaluator=anochal.strict_binary_accuracy,
    MIA_evaluator=anochal.evaluate_MIA,
    MIA_evaluation_dataset_length=5,
    seed=42,
)

application = anochal.supervised_learning_MIA_challenge_server_factory(
    example_challenge
)
