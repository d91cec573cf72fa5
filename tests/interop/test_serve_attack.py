"""``serve-attack`` is an AnoMed deanonymizer: the real challenge (and our
emulator) pull its answers and score them, as they do the template's."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import requests

from helpers import free_port, start_server

pytestmark = [pytest.mark.interop, pytest.mark.slow]

CLI = str(Path(sys.executable).with_name("anomed-anonymizer"))


@pytest.fixture
def attack(challenge, anonymizer, tmp_path):
    port = free_port()
    server = start_server(
        "serve-attack",
        [
            CLI,
            "serve-attack",
            f"--anonymizer={anonymizer.host}",  # HOST:PORT ...
            f"--challenge={challenge.url}/",  # ... and a URL are both accepted
            "--n-features=4",
            "--n-classes=3",
            f"--port={port}",
        ],
        port,
        tmp_path,
    )
    yield server
    server.stop()


def test_serve_attack_is_scored_by_the_challenge(anonymizer, attack):
    assert requests.post(f"{anonymizer.url}/fit", timeout=120).status_code == 201
    early = requests.post(
        f"{attack.url}/evaluate", params={"data_split": "tuning"}, timeout=120
    )
    assert early.status_code == 503, early.text
    fit = requests.post(f"{attack.url}/fit", timeout=300)
    assert fit.status_code == 201, fit.text + attack.log()[-3000:]
    for split in ("tuning", "validation"):
        result = requests.post(
            f"{attack.url}/evaluate", params={"data_split": split}, timeout=120
        )
        assert result.status_code == 201, result.text + attack.log()[-3000:]
        scores = result.json()["evaluation"]
        assert set(scores) == {"acc", "tpr", "fpr"}
        assert all(0.0 <= value <= 1.0 for value in scores.values())
    bad = requests.post(
        f"{attack.url}/evaluate", params={"data_split": "x"}, timeout=30
    )
    assert bad.status_code == 400
