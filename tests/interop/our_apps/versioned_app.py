"""An anonymizer whose predictions reveal which fit and which worker served
them: each row is predicted as ``[fit_version, worker_pid]``.

So that tests can hold a worker busy without sleeping, both ``fit`` and a
*held* ``predict`` (``X[0, 0] == -1``, hold number ``X[0, 1]``) write a marker
file into ``GATE_DIR`` (if set) and wait until the test creates the matching
release file: ``fitting-<pid>`` / ``release-fit`` and ``holding-<n>-<pid>`` /
``release-hold-<n>``. ``FIT_SECONDS`` makes ``fit`` take at least that long
(for a test of the worker timeout itself); ``FIT_BUSY_SECONDS`` adds CPU-bound
work that holds the GIL (benchmarks/bench_slow_clients.py); ``MAX_REQUEST_BYTES``
sets the factory's body limit and ``CHALLENGE_TIMEOUT`` its timeouts
(tests/stress/campaign.py).
"""

import os
import time
from pathlib import Path

import numpy as np

import anomed_anonymizer as anon

GATE_DIR = Path(os.environ["GATE_DIR"]) if "GATE_DIR" in os.environ else None
GATE_LIMIT_SECONDS = 120


def wait_at_gate(marker: str, release: str) -> None:
    if GATE_DIR is None:
        return
    (GATE_DIR / marker).touch()
    deadline = time.monotonic() + GATE_LIMIT_SECONDS
    while not (GATE_DIR / release).exists():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{release} never appeared in {GATE_DIR}")
        time.sleep(0.01)


class VersionedModel:
    def __init__(self):
        self.version = None

    def fit(self, X, y):
        time.sleep(float(os.environ.get("FIT_SECONDS", "0")))
        busy_until = time.monotonic() + float(os.environ.get("FIT_BUSY_SECONDS", "0"))
        while time.monotonic() < busy_until:  # pure-Python work, holding the GIL
            sum(range(1000))
        wait_at_gate(f"fitting-{os.getpid()}", "release-fit")
        self.version = time.time_ns()

    def predict(self, X):
        if X[0, 0] == -1:
            hold = int(X[0, 1])
            wait_at_gate(f"holding-{hold}-{os.getpid()}", f"release-hold-{hold}")
        return np.tile([self.version, os.getpid()], (len(X), 1))


def validate(feature_array):
    if feature_array.ndim != 2:
        raise ValueError("expected a 2-d feature array")


hostname = os.environ["CHALLENGE_HOST"]


def _float_or_none(value):
    return None if value is None else float(value)


def _int_or_none(value):
    return None if value is None else int(value)


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
    # Unset: the settings serve was given (its --max-body-bytes, else 256 MiB).
    download_timeout=_float_or_none(os.environ.get("CHALLENGE_TIMEOUT")),
    upload_timeout=_float_or_none(os.environ.get("CHALLENGE_TIMEOUT")),
    max_request_bytes=_int_or_none(os.environ.get("MAX_REQUEST_BYTES")),
)


def _waitress_app():
    """waitress-serve --call factory (benchmarks/bench_slow_clients.py)."""
    return application
