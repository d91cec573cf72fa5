"""The README's Keras example, as written, in the whole chain: the real
anomed-challenge scores its predictions (only labels of its dtype pass) and
the real anomed-deanonymizer attacks its /predict."""

from __future__ import annotations

import sys

import pytest
import requests

from docs_blocks import doc_block
from helpers import PEER_APPS, free_port, gunicorn_argv, start_server

pytest.importorskip("keras", reason="install the 'keras' extra")

pytestmark = [pytest.mark.interop, pytest.mark.slow]


def keras_example() -> str:
    return doc_block("keras-example")


@pytest.fixture
def keras_anonymizer(real_challenge, work_dir):
    app_dir = work_dir / "readme_keras_app"
    app_dir.mkdir()
    (app_dir / "app.py").write_text(keras_example())
    port = free_port()
    server = start_server(
        "keras-anonymizer",
        gunicorn_argv(
            sys.executable, "app:application", port, workers=2, chdir=app_dir
        ),
        port,
        work_dir,
        env={"CHALLENGE_HOST": real_challenge.host, "KERAS_BACKEND": "torch"},
        cwd=app_dir,
        timeout=180,
    )
    yield server
    server.stop()


def test_readme_keras_example_passes_the_chain(
    peers, platform, real_challenge, keras_anonymizer, work_dir
):
    url = keras_anonymizer.url
    fit = requests.post(f"{url}/fit", timeout=600)
    assert fit.status_code == 201, fit.text + keras_anonymizer.log()[-3000:]
    for split in ("tuning", "validation"):
        evaluation = requests.post(
            f"{url}/evaluate", params={"data_split": split}, timeout=120
        )
        # 201 only if the challenge accepted the prediction's dtype and shape
        assert evaluation.status_code == 201, evaluation.text
        assert 0.0 <= evaluation.json()["evaluation"]["accuracy"] <= 1.0
    port = free_port()
    deanonymizer = start_server(
        "deanonymizer-for-keras",
        gunicorn_argv(peers, "deanonymizer_app:application", port, chdir=PEER_APPS),
        port,
        work_dir,
        env={
            "ANONYMIZER_HOST": keras_anonymizer.host,
            "CHALLENGE_HOST": real_challenge.host,
            "DEANONYMIZER_MODEL": str(work_dir / "deanonymizer_keras.pkl"),
        },
    )
    try:
        attack = requests.post(f"{deanonymizer.url}/fit", timeout=600)
        assert attack.status_code == 201, attack.text + deanonymizer.log()[-3000:]
        scores = requests.post(
            f"{deanonymizer.url}/evaluate",
            params={"data_split": "tuning"},
            timeout=600,
        )
        assert scores.status_code == 201, scores.text + deanonymizer.log()[-3000:]
        assert set(scores.json()["evaluation"]) == {"acc", "tpr", "fpr"}
    finally:
        deanonymizer.stop()
