"""Several gunicorn worker processes share one model file.

No test here relies on timing or on how gunicorn spreads requests: a request
that should land on the *other* worker is sent while the first worker is
held busy inside the app (its sync worker accepts nothing else then), and
the app waits at file gates the test opens (see ``our_apps/versioned_app.py``).
"""

from __future__ import annotations

import itertools
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import requests

from helpers import free_port, gunicorn_argv, npz, start_server, un_npz

pytestmark = [pytest.mark.interop, pytest.mark.slow]

OUR_APPS = Path(__file__).parent / "our_apps"
LIMIT_SECONDS = 120


@pytest.fixture
def gate(tmp_path) -> Path:
    path = tmp_path / "gate"
    path.mkdir()
    return path


@pytest.fixture
def versioned(challenge, tmp_path, gate):
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
            "GATE_DIR": str(gate),
        },
    )
    yield server
    (gate / "release-fit").touch()  # never leave a worker waiting
    server.stop()


def markers(gate: Path, prefix: str) -> list[str]:
    """Wait (generously) until the app has written a marker; return them all."""
    deadline = time.monotonic() + LIMIT_SECONDS
    while not (found := sorted(p.name for p in gate.glob(f"{prefix}*"))):
        assert time.monotonic() < deadline, f"no {prefix}* marker appeared"
        time.sleep(0.01)
    return found


def predict(server, X: np.ndarray) -> tuple[int, int]:
    response = requests.post(f"{server.url}/predict", data=npz(X=X), timeout=60)
    assert response.status_code == 201, response.text
    return tuple(un_npz(response.content)["prediction"][0].tolist())


_holds = itertools.count()


def answers_of_both_workers(server, gate: Path) -> set[tuple[int, int]]:
    """(fit version, worker pid) of one answer from each of the two workers:
    one worker is held inside predict while the other answers."""
    hold = next(_holds)
    with ThreadPoolExecutor(max_workers=1) as pool:
        held = pool.submit(predict, server, np.array([[-1.0, hold, 0.0, 0.0]]))
        markers(gate, f"holding-{hold}-")
        free = predict(server, np.zeros((3, 4)))
        (gate / f"release-hold-{hold}").touch()
        return {held.result(timeout=LIMIT_SECONDS), free}


def test_second_fit_on_another_worker_is_503(versioned, gate):
    with ThreadPoolExecutor(max_workers=1) as pool:
        first = pool.submit(requests.post, f"{versioned.url}/fit", timeout=60)
        # The first fit holds the lock (and its worker) until the gate opens,
        # so the second request is served by the other worker.
        markers(gate, "fitting-")
        refused = requests.post(f"{versioned.url}/fit", timeout=60)
        (gate / "release-fit").touch()
        assert first.result(timeout=LIMIT_SECONDS).status_code == 201
    assert refused.status_code == 503, refused.text
    assert refused.headers["Retry-After"] == "5"
    assert "already in progress" in refused.json()["description"]
    assert "another worker process" in refused.json()["description"]
    assert len(markers(gate, "fitting-")) == 1, "the second fit never started"


def test_every_worker_serves_the_newest_model(versioned, gate):
    (gate / "release-fit").touch()
    assert requests.post(f"{versioned.url}/fit", timeout=60).status_code == 201
    first = answers_of_both_workers(versioned, gate)
    assert len({pid for _, pid in first}) == 2, "both workers must have answered"
    assert len({version for version, _ in first}) == 1

    assert requests.post(f"{versioned.url}/fit", timeout=60).status_code == 201
    second = answers_of_both_workers(versioned, gate)
    assert len({pid for _, pid in second}) == 2
    assert len({version for version, _ in second}) == 1
    assert {v for v, _ in second} != {v for v, _ in first}
