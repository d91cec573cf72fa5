"""The whole AnoMed chain with the real peers, over loopback HTTP:

platform stub <- real anomed-challenge 0.0.21 <-> our anonymizer (the README's
example, gunicorn, 2 workers) <- real anomed-deanonymizer 0.0.11 (ART's
MembershipInferenceBlackBox through WebClassifier).
"""

from __future__ import annotations

import subprocess
import textwrap

import numpy as np
import pytest
import requests

from helpers import npz, un_npz

pytestmark = [pytest.mark.interop, pytest.mark.slow]


def post(url: str, **kwargs) -> requests.Response:
    return requests.post(url, timeout=120, **kwargs)


def test_full_chain_with_real_peers(platform, challenge, anonymizer, deanonymizer):
    received_before = [entry["path"] for entry in platform.received()]
    alive = requests.get(anonymizer.url, timeout=10)
    assert alive.json() == {"message": "Anonymizer server is alive!"}

    fit = post(f"{anonymizer.url}/fit")
    assert fit.status_code == 201, fit.text
    assert fit.json()["n_samples"] == 105  # 70 % of iris, as the challenge splits

    for split in ("tuning", "validation"):
        evaluation = post(f"{anonymizer.url}/evaluate", params={"data_split": split})
        assert evaluation.status_code == 201, evaluation.text
        accuracy = evaluation.json()["evaluation"]["accuracy"]
        assert 0.0 <= accuracy <= 1.0
        # The challenge scored our prediction: it only does so when dtype and
        # shape equal its ground truth's.

    attack_fit = post(f"{deanonymizer.url}/fit")
    assert attack_fit.status_code == 201, attack_fit.text + deanonymizer.log()[-3000:]
    for split in ("tuning", "validation"):
        attack = post(f"{deanonymizer.url}/evaluate", params={"data_split": split})
        assert attack.status_code == 201, attack.text + deanonymizer.log()[-3000:]
        scores = attack.json()["evaluation"]
        assert set(scores) == {"acc", "tpr", "fpr"}
        assert all(0.0 <= value <= 1.0 for value in scores.values())

    paths = [entry["path"] for entry in platform.received()][len(received_before) :]
    assert paths.count("/submissions/anonymizer-evaluation-results") == 2
    assert paths.count("/submissions/deanonymizer-evaluation-results") == 2


def test_predict_answers_the_attack_clients_request(challenge, anonymizer):
    post(f"{anonymizer.url}/fit").raise_for_status()
    members = un_npz(requests.get(f"{challenge.url}/data/deanonymizer/members").content)
    result = post(f"{anonymizer.url}/predict", data=npz(X=members["X"]))
    assert result.status_code == 201
    prediction = un_npz(result.content)["prediction"]
    assert prediction.shape == members["y"].shape
    assert prediction.dtype == members["y"].dtype


def test_upstream_codec_posts_to_our_predict_and_decodes_the_answer(
    peers, challenge, anonymizer
):
    post(f"{anonymizer.url}/fit").raise_for_status()
    script = textwrap.dedent(
        f"""
        import anomed_utils, numpy as np, requests
        X = anomed_utils.get_named_arrays_or_raise(
            "{challenge.url}/data/anonymizer/validation", ["X"], timeout=10)["X"]
        response = requests.post(
            "{anonymizer.url}/predict",
            data=anomed_utils.named_ndarrays_to_bytes(dict(X=X)), timeout=30)
        assert response.status_code == 201, response.text
        decoded = anomed_utils.bytes_to_named_ndarrays(response.content)
        prediction = decoded["prediction"]
        print(np.__version__, prediction.shape, prediction.dtype)
        """
    )
    result = subprocess.run(
        [str(peers), "-c", script], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    version, *rest = result.stdout.split(maxsplit=1)
    assert version.startswith("1.26"), "the peer side must really run NumPy 1.26"
    assert rest[0].strip() == "(23,) int64"


def test_bad_predict_bodies_get_json_400_over_http(anonymizer):
    post(f"{anonymizer.url}/fit").raise_for_status()
    for body in (b"", b"garbage", npz(X=np.zeros((2, 3)))):
        result = post(f"{anonymizer.url}/predict", data=body)
        assert result.status_code == 400
        assert result.headers["Content-Type"].startswith("application/json")
        assert result.json()["description"]
