"""Our challenge emulator against the real anomed-challenge: same data, same
scores, same status codes (the real one runs in the peers' NumPy-1.26 env)."""

from __future__ import annotations

import numpy as np
import pytest
import requests

from helpers import npz, un_npz

pytestmark = [pytest.mark.interop, pytest.mark.slow]

DATA_ROUTES = [
    "/data/anonymizer/training",
    "/data/anonymizer/tuning",
    "/data/anonymizer/validation",
    "/data/deanonymizer/members",
    "/data/deanonymizer/non-members",
    "/data/attack-success-evaluation?anonymizer=a&deanonymizer=b&data_split=tuning",
    "/data/attack-success-evaluation?anonymizer=a&deanonymizer=b&data_split=validation",
    "/data/attack-success-evaluation?anonymizer=x&deanonymizer=y&data_split=tuning",
]


def get_both(real, emulated, route):
    return (
        requests.get(real.url + route, timeout=30),
        requests.get(emulated.url + route, timeout=30),
    )


def test_alive_message_is_identical(real_challenge, emulated_challenge):
    real, ours = get_both(real_challenge, emulated_challenge, "/")
    assert real.status_code == ours.status_code == 200
    assert real.json() == ours.json() == {"message": "Challenge server is alive!"}


@pytest.mark.parametrize("route", DATA_ROUTES)
def test_data_routes_serve_identical_arrays(real_challenge, emulated_challenge, route):
    real, ours = get_both(real_challenge, emulated_challenge, route)
    assert real.status_code == ours.status_code == 200
    assert ours.headers["Content-Type"] == real.headers["Content-Type"]
    real_arrays, our_arrays = un_npz(real.content), un_npz(ours.content)
    assert sorted(real_arrays) == sorted(our_arrays) == ["X", "y"]
    for name in ("X", "y"):
        assert our_arrays[name].dtype == real_arrays[name].dtype, name
        np.testing.assert_array_equal(our_arrays[name], real_arrays[name])


def post_both(real, emulated, route, body):
    return (
        requests.post(real.url + route, data=body, timeout=30),
        requests.post(emulated.url + route, data=body, timeout=30),
    )


@pytest.mark.parametrize("split", ["tuning", "validation"])
def test_anonymizer_scores_are_identical(real_challenge, emulated_challenge, split):
    truth_size = 22 if split == "tuning" else 23
    prediction = np.random.default_rng(1).integers(0, 3, truth_size)
    route = f"/utility/anonymizer?anonymizer=a&data_split={split}"
    real, ours = post_both(
        real_challenge, emulated_challenge, route, npz(prediction=prediction)
    )
    assert real.status_code == ours.status_code == 201
    assert ours.json() == pytest.approx(real.json())


def test_attack_scores_are_identical(real_challenge, emulated_challenge):
    prediction = np.array([True, False] * 5)
    route = "/utility/deanonymizer?anonymizer=a&deanonymizer=b&data_split=tuning"
    real, ours = post_both(
        real_challenge, emulated_challenge, route, npz(prediction=prediction)
    )
    assert real.status_code == ours.status_code == 201
    assert ours.json() == pytest.approx(real.json())


@pytest.mark.parametrize(
    ("route", "body", "status"),
    [
        (
            "/utility/anonymizer?anonymizer=a&data_split=tuning",
            npz(y=np.zeros(22)),
            400,
        ),
        ("/utility/anonymizer?anonymizer=a&data_split=tuning", b"junk", 400),
        # Wrong dtype: upstream's evaluator raises, which it answers with 500.
        (
            "/utility/anonymizer?anonymizer=a&data_split=tuning",
            npz(prediction=np.zeros(22)),
            500,
        ),
        (
            "/utility/anonymizer?anonymizer=a",
            npz(prediction=np.zeros(22, dtype=int)),
            400,
        ),
    ],
    ids=["no-prediction", "not-npz", "wrong-dtype", "no-data-split"],
)
def test_error_statuses_are_identical(
    real_challenge, emulated_challenge, route, body, status
):
    real, ours = post_both(real_challenge, emulated_challenge, route, body)
    assert real.status_code == ours.status_code == status
    assert set(ours.json()) >= {"title"}
    if status == 400 and "data_split=" in route:
        assert ours.json() == real.json()
