"""A multi-output regression challenge, the real ``anomed-challenge`` 0.0.21
built as a regression challenge's author builds it (an MAE/MSE
``anonymizer_evaluator``, ``y`` of shape (n, 3)), against our server over
loopback HTTP: fit, evaluate both splits, predict.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import requests
from sklearn.model_selection import train_test_split

from anomed_anonymizer.scoring import mae, mse
from helpers import PEER_APPS, free_port, gunicorn_argv, npz, start_server, un_npz

pytestmark = [pytest.mark.interop, pytest.mark.slow]

OUR_APPS = Path(__file__).parent / "our_apps"
N_ROWS = 300
N_OUTPUTS = 3


def post(url: str, **kwargs) -> requests.Response:
    return requests.post(url, timeout=300, **kwargs)


@pytest.fixture(scope="module")
def regression_data(work_dir) -> Path:
    """Ten bounded features, three noisy linear outputs (float64)."""
    rng = np.random.default_rng(2024)
    X = rng.uniform(-3.0, 3.0, size=(N_ROWS, 10))
    weights = rng.normal(size=(10, N_OUTPUTS))
    y = X @ weights * 10.0 + 100.0 + rng.normal(0.0, 5.0, size=(N_ROWS, N_OUTPUTS))
    path = work_dir / "regression_challenge.npz"
    np.savez(path, X=X, y=y)
    return path


@pytest.fixture(scope="module")
def regression_challenge(peers, platform, work_dir, regression_data):
    port = free_port()
    server = start_server(
        "real-regression-challenge",
        gunicorn_argv(
            peers, "regression_challenge_app:application", port, chdir=PEER_APPS
        ),
        port,
        work_dir,
        env={
            "ANOMED_HOST": platform.server.host,
            "REGRESSION_CHALLENGE_DATA": str(regression_data),
        },
    )
    yield server
    server.stop()


@pytest.fixture(scope="module")
def emulated_regression_challenge(platform, work_dir, regression_data):
    """Our emulator, through the console script, on the same data and seed."""
    port = free_port()
    server = start_server(
        "emulated-regression-challenge",
        [
            str(Path(sys.executable).with_name("anomed-anonymizer")),
            "emulate-challenge",
            f"--dataset={regression_data}",
            "--task=regression",
            "--metric=mae",
            "--metric=mse",
            "--seed=42",
            "--mia-length=5",
            f"--port={port}",
        ],
        port,
        work_dir,
        env={"ANOMED_HOST": platform.server.host},
    )
    yield server
    server.stop()


@pytest.fixture(scope="module")
def regressor(regression_challenge, work_dir):
    app_dir = work_dir / "ridge_app"
    app_dir.mkdir()
    port = free_port()
    server = start_server(
        "ridge-anonymizer",
        gunicorn_argv(
            sys.executable, "ridge_app:application", port, workers=2, chdir=OUR_APPS
        ),
        port,
        work_dir,
        env={"CHALLENGE_HOST": regression_challenge.host},
        cwd=app_dir,
    )
    yield server
    server.stop()


def held_out(path: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The tuning and validation splits, split as the challenge app splits."""
    with np.load(path) as data:
        X, y = data["X"], data["y"]
    _, X_other, _, y_other = train_test_split(X, y, test_size=0.3, random_state=42)
    X_tune, X_val, y_tune, y_val = train_test_split(
        X_other, y_other, test_size=0.5, random_state=42
    )
    return {"tuning": (X_tune, y_tune), "validation": (X_val, y_val)}


def test_the_real_challenge_scores_our_multi_output_regressor(
    platform, regression_challenge, regressor, regression_data
):
    received_before = len(platform.received())
    fit = post(f"{regressor.url}/fit")
    assert fit.status_code == 201, fit.text + regressor.log()[-3000:]
    assert fit.json()["n_samples"] == int(N_ROWS * 0.7)

    for split, (X, y) in held_out(regression_data).items():
        served = un_npz(
            requests.get(
                f"{regression_challenge.url}/data/anonymizer/{split}", timeout=60
            ).content
        )
        np.testing.assert_array_equal(served["X"], X)  # the same split here

        evaluation = post(f"{regressor.url}/evaluate", params={"data_split": split})
        assert evaluation.status_code == 201, (
            evaluation.text + regression_challenge.log()[-3000:]
        )
        scores = evaluation.json()["evaluation"]

        # What our /predict answers, scored here: the challenge scored the
        # same (n, 3) floats.
        answer = post(f"{regressor.url}/predict", data=npz(X=X))
        assert answer.status_code == 201, answer.text
        prediction = un_npz(answer.content)["prediction"]
        assert prediction.shape == y.shape == (len(X), N_OUTPUTS)
        assert prediction.dtype == y.dtype == np.float64
        assert scores == {
            "mae": pytest.approx(mae(prediction, y), rel=1e-9),
            "mse": pytest.approx(mse(prediction, y), rel=1e-9),
        }
        # A linear model on linear data with noise 5 is far better than the
        # spread of the targets.
        assert scores["mae"] < 0.2 * mae(np.broadcast_to(y.mean(0), y.shape), y)

    paths = [entry["path"] for entry in platform.received()][received_before:]
    assert paths.count("/submissions/anonymizer-evaluation-results") == 2


def test_a_prediction_of_the_wrong_shape_is_refused_by_the_real_challenge(
    regression_challenge,
):
    """What the real challenge does with a 1-d prediction for a 3-output
    target: the author's evaluator raises and the challenge answers a bare
    500 (our emulator answers 500 too, naming both shapes). Our server must
    never send one: the test above checks the shape it sends."""
    answer = requests.post(
        f"{regression_challenge.url}/utility/anonymizer",
        params={"anonymizer": "a", "data_split": "tuning"},
        data=npz(prediction=np.zeros(45)),
        timeout=60,
    )
    assert answer.status_code == 500


@pytest.mark.parametrize(
    "route",
    [
        "/data/anonymizer/training",
        "/data/anonymizer/tuning",
        "/data/anonymizer/validation",
        "/data/deanonymizer/members",
        "/data/deanonymizer/non-members",
        "/data/attack-success-evaluation?anonymizer=a&deanonymizer=b&data_split=tuning",
    ],
)
def test_our_emulator_serves_the_real_regression_challenges_arrays(
    regression_challenge, emulated_regression_challenge, route
):
    real = requests.get(regression_challenge.url + route, timeout=60)
    ours = requests.get(emulated_regression_challenge.url + route, timeout=60)
    assert real.status_code == ours.status_code == 200
    real_arrays, our_arrays = un_npz(real.content), un_npz(ours.content)
    for name in ("X", "y"):
        assert our_arrays[name].dtype == real_arrays[name].dtype, name
        np.testing.assert_array_equal(our_arrays[name], real_arrays[name])


@pytest.mark.parametrize("split", ["tuning", "validation"])
def test_our_emulator_scores_a_regression_as_the_real_challenge(
    regression_challenge, emulated_regression_challenge, regression_data, split
):
    _, y = held_out(regression_data)[split]
    prediction = y + np.random.default_rng(3).normal(0.0, 2.0, y.shape)
    route = f"/utility/anonymizer?anonymizer=a&data_split={split}"
    real = post(regression_challenge.url + route, data=npz(prediction=prediction))
    ours = post(
        emulated_regression_challenge.url + route, data=npz(prediction=prediction)
    )
    assert real.status_code == ours.status_code == 201
    assert ours.json() == pytest.approx(real.json(), rel=1e-12)
    assert list(ours.json()) == ["mae", "mse"]
    wrong = npz(prediction=prediction[:, 0])
    real, ours = (
        post(regression_challenge.url + route, data=wrong),
        post(emulated_regression_challenge.url + route, data=wrong),
    )
    assert real.status_code == ours.status_code == 500
