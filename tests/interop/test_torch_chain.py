"""The README's PyTorch/Opacus example through the whole AnoMed chain:

platform stub <- real anomed-challenge 0.0.21 (iris) <-> our DP-SGD MLP (the
README block as written, gunicorn, 2 workers) <- real anomed-deanonymizer
0.0.11 (ART's MembershipInferenceBlackBox querying our /predict).
"""

from __future__ import annotations

import sys

import pytest
import requests

from docs_blocks import doc_block
from helpers import (
    PEER_APPS,
    free_port,
    gunicorn_argv,
    npz,
    start_server,
    un_npz,
)

pytest.importorskip("torch", reason="install the 'torch' extra")
pytest.importorskip("opacus", reason="install the 'torch' extra")

pytestmark = [pytest.mark.interop, pytest.mark.slow]


def readme_torch_example() -> str:
    return doc_block("torch-example")


def post(url: str, **kwargs) -> requests.Response:
    return requests.post(url, timeout=600, **kwargs)


class TorchApp:
    """The README's torch example served from one folder, restartable."""

    def __init__(self, challenge, work_dir) -> None:
        self.challenge = challenge
        self.work_dir = work_dir
        self.app_dir = work_dir / "readme_torch_app"
        self.app_dir.mkdir()
        (self.app_dir / "app.py").write_text(readme_torch_example())
        self.server = None
        self.starts = 0

    def start(self):
        port = free_port()
        self.starts += 1
        self.server = start_server(
            f"torch-anonymizer-{self.starts}",
            gunicorn_argv(
                sys.executable, "app:application", port, workers=2, chdir=self.app_dir
            ),
            port,
            self.work_dir,
            # One torch thread per worker: two workers share CI's two cores.
            env={"CHALLENGE_HOST": self.challenge.host, "OMP_NUM_THREADS": "1"},
            cwd=self.app_dir,
            timeout=180,
        )
        return self.server

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()


@pytest.fixture(scope="module")
def torch_app(real_challenge, work_dir):
    app = TorchApp(real_challenge, work_dir)
    app.start()
    yield app
    app.stop()


@pytest.fixture(scope="module")
def torch_deanonymizer(peers, real_challenge, torch_app, work_dir):
    port = free_port()
    server = start_server(
        "deanonymizer-for-torch",
        gunicorn_argv(
            peers,
            "deanonymizer_app:application",
            port,
            chdir=PEER_APPS,
        ),
        port,
        work_dir,
        env={
            "ANONYMIZER_HOST": torch_app.server.host,
            "CHALLENGE_HOST": real_challenge.host,
            "DEANONYMIZER_MODEL": str(work_dir / "deanonymizer_torch.pkl"),
        },
    )
    yield server
    server.stop()


def test_dp_sgd_mlp_through_the_real_chain_reports_its_budget(
    platform, real_challenge, torch_app, torch_deanonymizer
):
    anonymizer = torch_app.server.url
    received_before = len(platform.received())

    not_yet = requests.get(f"{anonymizer}/privacy", timeout=30)
    assert not_yet.status_code == 503
    assert not_yet.json()["title"] == "Not fitted"

    fit = post(f"{anonymizer}/fit")
    assert fit.status_code == 201, fit.text + torch_app.server.log()[-3000:]
    assert fit.json()["n_samples"] == 105
    privacy = fit.json()["privacy"]
    assert privacy["mechanism"] == "DP-SGD (Opacus)"
    assert 0 < privacy["epsilon"] <= 3.0
    assert privacy["delta"] == pytest.approx(1 / (10 * 105))  # well below 1/n
    assert privacy["details"]["noise_seeded"] is False  # the README's seed=0
    assert privacy["accountant"] == "prv"
    assert "epoch 30/30: loss" in torch_app.server.log()  # progress is logged

    for _ in range(4):  # whichever worker answers, it serves the same budget
        assert requests.get(f"{anonymizer}/privacy", timeout=30).json() == privacy

    accuracies = {}
    for split in ("tuning", "validation"):
        evaluation = post(f"{anonymizer}/evaluate", params={"data_split": split})
        assert evaluation.status_code == 201, evaluation.text
        # The real challenge scored it: labels of the ground truth's dtype.
        accuracies[split] = evaluation.json()["evaluation"]["accuracy"]
    assert all(accuracy > 1 / 3 for accuracy in accuracies.values()), accuracies

    attack_fit = post(f"{torch_deanonymizer.url}/fit")
    assert attack_fit.status_code == 201, (
        attack_fit.text + torch_deanonymizer.log()[-3000:]
    )
    attack_url = f"{torch_deanonymizer.url}/evaluate"
    for split in ("tuning", "validation"):
        attack = post(attack_url, params={"data_split": split})
        assert attack.status_code == 201, attack.text + torch_deanonymizer.log()[-3000:]
        scores = attack.json()["evaluation"]
        assert set(scores) == {"acc", "tpr", "fpr"}

    paths = [entry["path"] for entry in platform.received()][received_before:]
    assert paths.count("/submissions/anonymizer-evaluation-results") == 2
    assert paths.count("/submissions/deanonymizer-evaluation-results") == 2


def test_predictions_have_the_challenges_dtype_and_survive_a_restart(
    real_challenge, torch_app
):
    anonymizer = torch_app.server.url
    if requests.get(f"{anonymizer}/privacy", timeout=30).status_code == 503:
        post(f"{anonymizer}/fit").raise_for_status()
    members = un_npz(
        requests.get(
            f"{real_challenge.url}/data/deanonymizer/members", timeout=30
        ).content
    )
    body = npz(X=members["X"])
    prediction = un_npz(post(f"{anonymizer}/predict", data=body).content)["prediction"]
    assert prediction.dtype == members["y"].dtype
    assert prediction.shape == members["y"].shape
    privacy = requests.get(f"{anonymizer}/privacy", timeout=30).json()

    torch_app.stop()
    restarted = torch_app.start().url
    assert requests.get(f"{restarted}/privacy", timeout=30).json() == privacy
    again = un_npz(post(f"{restarted}/predict", data=body).content)["prediction"]
    assert (again == prediction).all()
