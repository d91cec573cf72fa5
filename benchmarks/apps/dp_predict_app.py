"""The app of ``bench_serving.py``, for both libraries: diffprivlib's
LogisticRegression on 30 features (the model of issue 11's measurements),
fitted from the emulator's ``--dataset``.
"""

import os

from dp_model import make_anonymizer

import anomed_anonymizer as anon

hostname = os.environ["CHALLENGE_HOST"]
application = anon.supervised_learning_anonymizer_server_factory(
    anonymizer_identifier="bench",
    anonymizer_obj=make_anonymizer(),
    model_filepath=os.environ["MODEL_FILE"],
    default_batch_size=64,
    training_data_url=f"http://{hostname}/data/anonymizer/training",
    tuning_data_url=f"http://{hostname}/data/anonymizer/tuning",
    validation_data_url=f"http://{hostname}/data/anonymizer/validation",
    utility_evaluation_url=f"http://{hostname}/utility/anonymizer",
    model_loader=anon.unpickle_anonymizer,
)
