"""Several gunicorn worker processes share one model file."""

from __future__ import annotations

import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import requests

from helpers import free_port, gunicorn_argv, npz, start_server, un_npz

pytestmark = [pytest.mark.interop, pytest.mark.slow]

OUR_APPS = Path(__file__).parent / "our_apps"


@pytest.fixture
def versioned(challenge, tmp_path):
    port = free_port()
    server = start_server(
        "versioned",
        gunicorn_argv(
            sys.executable, "versioned_app:application", port, workers=2, chdir=OUR_APPS
        ),
        port,
        tmp_path,
        env={
            "CHALLENGE_HOST": challenge.host,
            "MODEL_FILE": str(tmp_path / "model.pkl"),
            "FIT_SECONDS": "2",
        },
    )
    yield server
    server.stop()


def served_by(server, n_requests: int = 24) -> set[tuple[int, int]]:
    """(fit version, worker pid) of concurrent /predict answers."""

    def one(_):
        response = requests.post(
            f"{server.url}/predict", data=npz(X=np.zeros((3, 4))), timeout=30
        )
        assert response.status_code == 201, response.text
        return tuple(un_npz(response.content)["prediction"][0].tolist())

    with ThreadPoolExecutor(max_workers=6) as pool:
        return set(pool.map(one, range(n_requests)))


def test_second_fit_on_another_worker_is_503(versioned):
    def fit(_):
        return requests.post(f"{versioned.url}/fit", timeout=60)

    with ThreadPoolExecutor(max_workers=2) as pool:
        responses = list(pool.map(fit, range(2)))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201, 503], [r.text for r in responses]
    refused = next(r for r in responses if r.status_code == 503)
    assert "already in progress" in refused.json()["description"]


def test_every_worker_serves_the_newest_model(versioned):
    assert requests.post(f"{versioned.url}/fit", timeout=60).status_code == 201
    first = served_by(versioned)
    assert len({version for version, _ in first}) == 1
    assert len({pid for _, pid in first}) == 2, "both workers must have answered"

    assert requests.post(f"{versioned.url}/fit", timeout=60).status_code == 201
    second = served_by(versioned)
    assert len({version for version, _ in second}) == 1
    assert {v for v, _ in second} != {v for v, _ in first}
    assert len({pid for _, pid in second}) == 2
