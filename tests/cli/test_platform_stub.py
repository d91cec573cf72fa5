"""``anomed-anonymizer platform-stub``: the platform's part of a local run (the
compose file's ``platform`` service), against real servers in threads."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import requests
from sklearn.naive_bayes import GaussianNB

import anomed_anonymizer as anon
from anomed_anonymizer import emulator
from anomed_anonymizer.cli.platform_stub import PlatformStub
from anomed_anonymizer.testing import serve_wsgi

CLI = [sys.executable, "-m", "anomed_anonymizer"]


def two_dimensional(X):
    if X.ndim != 2:
        raise ValueError(f"expected (n_samples, n_features), got shape {X.shape}")


def anonymizer_app(challenge: str, tmp_path: Path):
    return anon.supervised_learning_anonymizer_server_factory(
        anonymizer_identifier="mine",
        anonymizer_obj=anon.WrappedAnonymizer(
            GaussianNB(),
            serializer=anon.pickle_anonymizer,
            feature_array_validator=two_dimensional,
        ),
        model_filepath=tmp_path / "model.pkl",
        default_batch_size=16,
        training_data_url=f"{challenge}/data/anonymizer/training",
        tuning_data_url=f"{challenge}/data/anonymizer/tuning",
        validation_data_url=f"{challenge}/data/anonymizer/validation",
        utility_evaluation_url=f"{challenge}/utility/anonymizer",
        model_loader=anon.unpickle_anonymizer,
    )


def iris_challenge(anomed_host: str):
    data = emulator.load_dataset("iris")
    return emulator.supervised_challenge_app(
        emulator.MIAChallenge(data, seed=1), anomed_host=anomed_host
    )


def test_the_stub_drives_fit_and_evaluate_and_receives_the_scores(tmp_path):
    stub = PlatformStub(wait_s=60)
    with (
        serve_wsgi(stub.app()) as platform,
        serve_wsgi(iris_challenge(platform)) as challenge,
        serve_wsgi(anonymizer_app(challenge, tmp_path)) as anonymizer,
    ):
        stub.anonymizers = [anonymizer]
        assert stub.drive() is True
        state = requests.get(f"{platform}/", timeout=30).json()
    assert state["done"] and state["ok"]
    assert [(s["method"], s["url"], s["status"]) for s in state["steps"]] == [
        ("POST", f"{anonymizer}/fit", 201),
        ("POST", f"{anonymizer}/evaluate?data_split=tuning", 201),
        ("POST", f"{anonymizer}/evaluate?data_split=validation", 201),
    ]
    # The challenge forwarded each score to ANOMED_HOST, as on the platform.
    submissions = state["submissions"]
    assert [s["kind"] for s in submissions] == 2 * ["anonymizer-evaluation-results"]
    assert [s["data_split"] for s in submissions] == ["tuning", "validation"]
    for submission, step in zip(submissions, state["steps"][1:], strict=True):
        assert submission["accuracy"] == step["answer"]["evaluation"]["accuracy"]


def test_a_failing_fit_stops_the_run_and_says_why(tmp_path):
    stub = PlatformStub(wait_s=60)
    # The anonymizer's challenge is not there: its /fit answers 503.
    with serve_wsgi(anonymizer_app("http://127.0.0.1:9", tmp_path)) as anonymizer:
        stub.anonymizers = [anonymizer]
        assert stub.drive() is False
    (step,) = stub.steps
    assert step.url == f"{anonymizer}/fit" and step.status == 503
    assert "training_data_url" in str(step.answer)
    assert stub.state()["done"] and not stub.state()["ok"]


def test_a_server_that_never_answers_is_a_step_with_the_reason():
    stub = PlatformStub(anonymizers=["http://127.0.0.1:9"], wait_s=0)
    assert stub.drive() is False
    (step,) = stub.steps
    assert step.status is None and "no answer in 0 s" in step.error


def test_a_submission_that_is_not_a_json_object_is_a_400():
    with serve_wsgi(PlatformStub().app()) as platform:
        url = f"{platform}/submissions/anonymizer-evaluation-results"
        for body in (b"not json", b"[1, 2]"):
            answer = requests.post(url, data=body, timeout=30)
            assert answer.status_code == 400, answer.text
            assert "JSON" in answer.json()["description"]
        assert requests.post(url, json={"mse": 1.0}, timeout=30).status_code == 201
        assert requests.get(f"{platform}/submissions", timeout=30).json() == [
            {"kind": "anonymizer-evaluation-results", "mse": 1.0}
        ]


@pytest.mark.slow
def test_the_command_exits_with_the_runs_outcome(tmp_path):
    with serve_wsgi(iris_challenge("")) as challenge:
        with serve_wsgi(anonymizer_app(challenge, tmp_path)) as anonymizer:
            argv = [*CLI, "platform-stub", "--exit-when-done", "--port=0"]
            good = subprocess.run(
                [*argv, f"--anonymizer={anonymizer}", "--splits=tuning"],
                capture_output=True,
                text=True,
                timeout=300,
            )
            assert good.returncode == 0, good.stderr
            assert "evaluate?data_split=tuning -> 201" in good.stderr
            assert "run succeeded" in good.stderr
        bad = subprocess.run(
            [*argv, f"--anonymizer={anonymizer}", "--wait=0"],
            capture_output=True,
            text=True,
            timeout=300,
        )
    assert bad.returncode == 1, bad.stderr
    assert "no answer in 0 s" in bad.stderr and "run FAILED" in bad.stderr
