"""Regression tests of the hardening (issue 9): bounded work, control access,
readiness, metrics and request ids, each through falcon.testing."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
from pathlib import Path

import falcon
import falcon.testing
import numpy as np
import pandas as pd
import pytest
from sklearn.naive_bayes import GaussianNB

import anomed_anonymizer as anon
from anomed_anonymizer.emulator import (
    MIAChallenge,
    ReconstructionChallenge,
    load_dataset,
    supervised_challenge_app,
    tabular_challenge_app,
)
from anomed_anonymizer.emulator.adult import adult_like
from anomed_anonymizer.errors import ConflictError
from anomed_anonymizer.files import remove_stale_staging
from anomed_anonymizer.server import ModelStore, releases
from anomed_anonymizer.server.resources import MAX_BATCHES_PER_REQUEST
from anomed_anonymizer.store import SingleWriterStore
from anomed_anonymizer.tabular import MDAVMicroaggregator
from anomed_anonymizer.wire import (
    decode_named_arrays,
    encode_multipart,
    encode_named_arrays,
    encode_table,
)

from .conftest import serve_in_thread


def accept_any(feature_array: np.ndarray) -> None:
    """A validator that lets every array through."""


class CountingNB(GaussianNB):
    calls = 0

    def predict(self, X):
        CountingNB.calls += 1
        return super().predict(X)


def make_app(
    challenge, tmp_path, estimator=None, model_filepath=None, validator=None, **kwargs
):
    model = anon.WrappedAnonymizer(
        estimator or GaussianNB(),
        serializer=anon.pickle_anonymizer,
        feature_array_validator=validator or accept_any,
    )
    return anon.supervised_learning_anonymizer_server_factory(
        anonymizer_identifier="hardening",
        anonymizer_obj=model,
        model_filepath=model_filepath or tmp_path / "model.pkl",
        default_batch_size=16,
        training_data_url=f"{challenge.url}/data/anonymizer/training",
        tuning_data_url=f"{challenge.url}/data/anonymizer/tuning",
        validation_data_url=f"{challenge.url}/data/anonymizer/validation",
        utility_evaluation_url=f"{challenge.url}/utility/anonymizer",
        model_loader=anon.unpickle_anonymizer,
        **kwargs,
    )


def tabular_client(challenge_url: str, output_dir: Path, k: int):
    """A tabular server (MDAV, ``k``) on a challenge, in process."""
    return falcon.testing.TestClient(
        anon.tabular_data_anonymizer_server_factory(
            anonymizer_identifier="t",
            anonymizer_obj=MDAVMicroaggregator(k=k),
            output_dir=output_dir,
            leaky_data_url=f"{challenge_url}/data/anonymizer/leaky",
            utility_evaluation_url=f"{challenge_url}/utility/anonymizer",
        )
    )


# -- bounded work ------------------------------------------------------------


def test_a_tiny_batch_size_on_a_large_body_is_capped(fake_challenge, tmp_path):
    client = falcon.testing.TestClient(make_app(fake_challenge, tmp_path, CountingNB()))
    assert client.simulate_post("/fit").status_code == 201
    rows = 50 * MAX_BATCHES_PER_REQUEST
    CountingNB.calls = 0
    result = client.simulate_post(
        "/predict",
        body=encode_named_arrays({"X": np.ones((rows, 4))}),
        params={"batch_size": "1"},
    )
    assert result.status_code == 201, result.text
    assert CountingNB.calls == MAX_BATCHES_PER_REQUEST


def test_a_chunked_body_is_read_under_a_plain_wsgi_server(fake_challenge, tmp_path):
    app = make_app(fake_challenge, tmp_path, max_request_bytes=50_000)
    client = falcon.testing.TestClient(app)
    assert client.simulate_post("/fit").status_code == 201

    def post_chunked(body: bytes):
        # What gunicorn hands the app for Transfer-Encoding: chunked: no
        # CONTENT_LENGTH, a de-chunked wsgi.input.
        environ = falcon.testing.create_environ(
            method="POST",
            path="/predict",
            headers={"Transfer-Encoding": "chunked"},
        )
        environ.pop("CONTENT_LENGTH", None)
        environ["wsgi.input"] = io.BytesIO(body)
        environ["wsgi.input_terminated"] = True
        response = falcon.testing.StartResponseMock()
        out = b"".join(app(environ, response))
        return int(response.status.split()[0]), out

    status, _ = post_chunked(encode_named_arrays({"X": np.ones((5, 4))}))
    assert status == 201
    status, out = post_chunked(b"x" * 60_000)
    assert status == 413, out


def test_the_emulator_refuses_inflating_bombs():
    limit = 1_000_000
    bomb = encode_named_arrays({"prediction": np.zeros(2_000_000)})  # 16 MB inflated
    assert len(bomb) < 100_000
    supervised = falcon.testing.TestClient(
        supervised_challenge_app(
            MIAChallenge(load_dataset("iris")), anomed_host="", max_upload_bytes=limit
        )
    )
    result = supervised.simulate_post(
        "/utility/anonymizer",
        body=bomb,
        params={"anonymizer": "a", "data_split": "tuning"},
    )
    assert result.status_code == 413, result.text

    table_bomb = encode_table(pd.DataFrame({"x": np.zeros(500_000)}))
    tabular = falcon.testing.TestClient(
        tabular_challenge_app(
            ReconstructionChallenge(adult_like(50)),
            anomed_host="",
            max_upload_bytes=limit,
        )
    )
    assert (
        tabular.simulate_post("/utility/deanonymizer", body=table_bomb).status_code
        == 413
    )
    body, content_type = encode_multipart(
        {"anon_data": table_bomb, "anon_scheme": "same"}
    )
    result = tabular.simulate_post(
        "/utility/anonymizer",
        body=body,
        headers={"Content-Type": content_type},
        params={"anonymizer": "a"},
    )
    assert result.status_code == 413, result.text


def _release_upload(table: pd.DataFrame) -> tuple[bytes, str]:
    return encode_multipart({"anon_data": encode_table(table), "anon_scheme": "same"})


def test_the_emulator_scores_releases_larger_than_falcons_part_buffer():
    """Falcon buffers 1 MiB of a multipart part by default: a larger release
    must still be scored, and one over the upload bound is a 413, not a 400."""
    leaky = adult_like(20_000, seed=3)
    noise = np.random.default_rng(3).bytes(32 * len(leaky))
    leaky["note"] = [noise[i : i + 32].hex() for i in range(0, len(noise), 32)]
    body, content_type = _release_upload(leaky)
    assert len(body) > 1024 * 1024
    challenge = ReconstructionChallenge(leaky)
    params = {"anonymizer": "a"}
    headers = {"Content-Type": content_type}
    roomy = falcon.testing.TestClient(tabular_challenge_app(challenge, anomed_host=""))
    result = roomy.simulate_post(
        "/utility/anonymizer", body=body, headers=headers, params=params
    )
    assert result.status_code == 201, result.text
    tight = falcon.testing.TestClient(
        tabular_challenge_app(
            challenge, anomed_host="", max_upload_bytes=len(body) // 2
        )
    )
    result = tight.simulate_post(
        "/utility/anonymizer", body=body, headers=headers, params=params
    )
    assert result.status_code == 413, result.text


# -- control access ----------------------------------------------------------


@pytest.fixture
def guarded(fake_challenge, tmp_path, monkeypatch):
    monkeypatch.setenv("ANOMED_CONTROL_TOKEN", "s3cret-token")
    return falcon.testing.TestClient(make_app(fake_challenge, tmp_path))


@pytest.mark.parametrize(
    "authorization", [None, "Bearer wrong", "s3cret-token", "Basic s3cret-token"]
)
def test_control_routes_refuse_a_missing_or_wrong_token(guarded, authorization):
    headers = {"Authorization": authorization} if authorization else {}
    for path, params in (("/fit", {}), ("/evaluate", {"data_split": "tuning"})):
        result = guarded.simulate_post(path, headers=headers, params=params)
        assert result.status_code == 401, result.text
        assert result.headers["WWW-Authenticate"].startswith("Bearer")
        assert "s3cret" not in result.text


def test_control_routes_accept_the_token_and_other_routes_need_none(guarded):
    token = {"Authorization": "Bearer s3cret-token"}
    assert guarded.simulate_post("/fit", headers=token).status_code == 201
    X = encode_named_arrays({"X": np.ones((3, 4))})
    assert guarded.simulate_post("/predict", body=X).status_code == 201
    assert guarded.simulate_get("/").status_code == 200
    assert guarded.simulate_get("/ready").status_code == 200


def test_without_a_token_control_routes_are_open(fake_challenge, tmp_path, monkeypatch):
    monkeypatch.delenv("ANOMED_CONTROL_TOKEN", raising=False)
    client = falcon.testing.TestClient(make_app(fake_challenge, tmp_path))
    assert client.simulate_post("/fit").status_code == 201


# -- readiness, metrics, request ids -------------------------------------------


def test_ready_says_whether_and_since_when_a_model_is_fitted(fake_challenge, tmp_path):
    client = falcon.testing.TestClient(make_app(fake_challenge, tmp_path))
    before = client.simulate_get("/ready")
    assert before.status_code == 503
    assert before.json["ready"] is False and before.json["fitted_since"] is None
    started = time.time()
    assert client.simulate_post("/fit").status_code == 201
    after = client.simulate_get("/ready")
    assert after.status_code == 200
    assert after.json["ready"] is True
    assert after.json["generation"] >= started - 2
    assert after.json["fitted_since"].endswith("+00:00")


def test_metrics_count_requests_by_route_and_status(fake_challenge, tmp_path):
    client = falcon.testing.TestClient(make_app(fake_challenge, tmp_path))
    client.simulate_post("/fit")
    client.simulate_post("/predict", body=b"junk")
    client.simulate_get("/no/such/route")
    text = client.simulate_get("/metrics").text
    assert 'anomed_requests_total{method="POST",route="/predict",status="400"}' in text
    assert 'route="unmatched",status="404"' in text
    assert "anomed_fit_duration_seconds_count" in text
    assert 'anomed_fits_total{outcome="success"}' in text
    assert "anomed_worker_resident_memory_bytes" in text


def test_every_answer_carries_a_request_id(fake_challenge, tmp_path):
    client = falcon.testing.TestClient(make_app(fake_challenge, tmp_path))
    ids = {client.simulate_get("/").headers["X-Request-ID"] for _ in range(3)}
    assert len(ids) == 3
    echoed = client.simulate_get("/", headers={"X-Request-ID": "abc-123"})
    assert echoed.headers["X-Request-ID"] == "abc-123"
    hostile = client.simulate_get("/", headers={"X-Request-ID": "a\nb" + "c" * 100})
    assert hostile.headers["X-Request-ID"] != "a\nb" + "c" * 100


def test_log_records_carry_the_request_id(fake_challenge, tmp_path, caplog):
    client = falcon.testing.TestClient(make_app(fake_challenge, tmp_path))
    with caplog.at_level("INFO", logger="anomed_anonymizer"):
        result = client.simulate_post("/fit", headers={"X-Request-ID": "fit-42"})
    assert result.status_code == 201
    mine = [r for r in caplog.records if r.request_id == "fit-42"]
    assert any("fitted in" in r.getMessage() for r in mine)
    assert any("POST /fit -> 201" in r.getMessage() for r in mine)


# -- saves: verified, cleaned up, clear lock errors ------------------------------


def garbage_serializer(obj, path) -> None:
    Path(path).write_bytes(b"not a pickle")


def test_a_model_that_does_not_load_back_keeps_the_previous(fake_challenge, tmp_path):
    good = falcon.testing.TestClient(make_app(fake_challenge, tmp_path))
    assert good.simulate_post("/fit").status_code == 201
    before = (tmp_path / "model.pkl").read_bytes()
    model = anon.WrappedAnonymizer(
        GaussianNB(), serializer=garbage_serializer, feature_array_validator=accept_any
    )
    app = anon.supervised_learning_anonymizer_server_factory(
        anonymizer_identifier="hardening",
        anonymizer_obj=model,
        model_filepath=tmp_path / "model.pkl",
        default_batch_size=16,
        training_data_url=f"{fake_challenge.url}/data/anonymizer/training",
        tuning_data_url=f"{fake_challenge.url}/data/anonymizer/tuning",
        validation_data_url=f"{fake_challenge.url}/data/anonymizer/validation",
        utility_evaluation_url=f"{fake_challenge.url}/utility/anonymizer",
        model_loader=anon.unpickle_anonymizer,
    )
    result = falcon.testing.TestClient(app).simulate_post("/fit")
    assert result.status_code == 500
    assert result.json["title"] == "Verification failed"
    assert "previous version is kept" in result.json["description"]
    assert str(tmp_path) not in result.text
    assert (tmp_path / "model.pkl").read_bytes() == before
    X = encode_named_arrays({"X": np.ones((3, 4))})
    assert good.simulate_post("/predict", body=X).status_code == 201


def test_a_release_that_does_not_read_back_keeps_the_previous(tmp_path, monkeypatch):
    leaky = adult_like(60, seed=1)
    challenge = ReconstructionChallenge(leaky)
    with serve_in_thread(tabular_challenge_app(challenge, anomed_host="")) as url:
        client = tabular_client(url, tmp_path / "out", k=5)
        assert client.simulate_post("/fit").status_code == 201
        before = client.simulate_get("/anon_data").content
        readable = releases._read_release

        def unreadable_when_new(path):
            # What Parquet's reader says of a 50 MB column name, for a file
            # that has not replaced the release yet.
            if path != tmp_path / "out" / "anon_data.parquet":
                raise OSError("Couldn't deserialize thrift: TProtocolException")
            return readable(path)

        monkeypatch.setattr(releases, "_read_release", unreadable_when_new)
        refitting = tabular_client(url, tmp_path / "out", k=6)
        result = refitting.simulate_post("/fit")
    assert result.status_code == 502, result.text
    assert "cannot be stored and read back" in result.json["description"]
    assert str(tmp_path) not in result.text
    assert client.simulate_get("/anon_data").content == before
    assert refitting.simulate_get("/anon_data").content == before
    assert refitting.simulate_get("/anon_data_scheme").status_code == 200


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_leftovers_of_killed_saves_are_cleaned_at_the_next_start(tmp_path):
    store = ModelStore(tmp_path / "m.pkl", anon.unpickle_anonymizer)
    dead = _dead_pid()
    (tmp_path / f".m.pkl.{dead}-abc123.staging" / "m.pkl").mkdir(parents=True)
    (tmp_path / f".m.pkl.{os.getpid()}-live.staging").mkdir()  # a running save
    ModelStore(tmp_path / "m.pkl", anon.unpickle_anonymizer)
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".m")) == [
        f".m.pkl.{os.getpid()}-live.staging"
    ]
    del store


def test_a_directory_model_killed_between_renames_is_restored(tmp_path):
    dead = _dead_pid()
    retired = tmp_path / f".model.{dead}-retired"
    retired.mkdir()
    (retired / "weights").write_text("v1")
    assert remove_stale_staging(tmp_path / "model") == 1
    assert (tmp_path / "model" / "weights").read_text() == "v1"


def test_a_lock_file_that_cannot_be_created_is_not_a_fit_in_progress(
    fake_challenge, tmp_path
):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the model's directory should be")
    app = make_app(fake_challenge, tmp_path, model_filepath=blocker / "model.pkl")
    result = falcon.testing.TestClient(app).simulate_post("/fit")
    assert result.status_code == 500, result.text
    assert result.json["title"] == "Lock unavailable"
    assert "already in progress" not in result.text
    assert str(blocker) not in result.text


# -- Falcon's own errors ----------------------------------------------------------


def test_falcons_own_404_and_405_are_described(fake_challenge, tmp_path):
    client = falcon.testing.TestClient(make_app(fake_challenge, tmp_path))
    missing = client.simulate_get("/no/such/route")
    assert missing.status_code == 404
    assert missing.json["description"] == "nothing is served at /no/such/route"
    wrong = client.simulate_get("/fit")
    assert wrong.status_code == 405
    assert wrong.headers["Allow"] == "POST, OPTIONS"
    assert wrong.json["description"] == (
        "/fit does not accept GET; it accepts POST, OPTIONS"
    )
    assert client.simulate_post("/fit").status_code == 201
    invalid = client.simulate_post("/predict", params={"batch_size": "0"})
    assert invalid.status_code == 400
    assert "batch_size" in invalid.json["description"]


def test_a_log_line_is_printed_once_when_the_application_configures_logging_later():
    """configure_logging's handler gives way to the root logger's, which an
    application (or gunicorn's --log-config) may install after the app is
    built: every line once, in the application's format."""
    code = (
        "import logging\n"
        "from anomed_anonymizer.web import configure_logging\n"
        "configure_logging()\n"
        "log = logging.getLogger('anomed_anonymizer.test')\n"
        "log.info('before the application configured logging')\n"
        "logging.basicConfig(format='APP %(message)s', level=logging.INFO)\n"
        "log.info('after the application configured logging')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    lines = result.stderr.splitlines()
    before = [line for line in lines if "before" in line]
    assert len(before) == 1 and "INFO anomed_anonymizer.test [-]:" in before[0]
    assert [line for line in lines if "after" in line] == [
        "APP after the application configured logging"
    ]


# -- refits refused unless asked ---------------------------------------------


def test_refits_are_refused_unless_asked(fake_challenge, tmp_path, monkeypatch):
    monkeypatch.setenv("ANOMED_REFIT", "refuse")
    client = falcon.testing.TestClient(make_app(fake_challenge, tmp_path))
    assert client.simulate_post("/fit").status_code == 201
    model = tmp_path / "model.pkl"
    fitted, fitted_inode = model.read_bytes(), model.stat().st_ino
    for params in ({}, {"refit": "false"}):
        again = client.simulate_post("/fit", params=params)
        assert again.status_code == 409, again.text
        assert "?refit=true" in again.json["description"]
        assert "ANOMED_REFIT=refuse" in again.json["description"]
    assert model.read_bytes() == fitted and model.stat().st_ino == fitted_inode
    bad = client.simulate_post("/fit", params={"refit": "perhaps"})
    assert bad.status_code == 400 and "refit" in bad.text
    assert client.simulate_post("/fit", params={"refit": "true"}).status_code == 201
    assert model.stat().st_ino != fitted_inode  # replaced, on purpose
    X = encode_named_arrays({"X": np.ones((3, 4))})
    assert client.simulate_post("/predict", body=X).status_code == 201


def test_refits_are_allowed_by_default_and_a_wrong_policy_is_named(
    fake_challenge, tmp_path, monkeypatch
):
    monkeypatch.delenv("ANOMED_REFIT", raising=False)
    client = falcon.testing.TestClient(make_app(fake_challenge, tmp_path))
    assert client.simulate_post("/fit").status_code == 201
    assert client.simulate_post("/fit").status_code == 201
    monkeypatch.setenv("ANOMED_REFIT", "never")
    with pytest.raises(ValueError, match="ANOMED_REFIT must be 'allow' or 'refuse'"):
        make_app(fake_challenge, tmp_path)


def test_a_refused_release_refit_does_not_even_download(tmp_path, monkeypatch):
    monkeypatch.setenv("ANOMED_REFIT", "refuse")
    challenge = ReconstructionChallenge(adult_like(60, seed=1))
    with serve_in_thread(tabular_challenge_app(challenge, anomed_host="")) as url:
        client = tabular_client(url, tmp_path / "out", k=5)
        assert client.simulate_post("/fit").status_code == 201
        released = client.simulate_get("/anon_data").content
    # The challenge is gone: a download would answer 503, not 409.
    refused = client.simulate_post("/fit")
    assert refused.status_code == 409, refused.text
    assert "release is already published" in refused.json["description"]
    assert client.simulate_get("/anon_data").content == released
    asked = client.simulate_post("/fit", params={"refit": "true"})
    assert asked.status_code == 503, asked.text  # it tried: the challenge is down


def test_keep_existing_is_checked_under_the_writers_lock(tmp_path):
    store = SingleWriterStore(tmp_path / "note.txt", lambda path: path.read_text())
    with store.writing(keep_existing=True):  # nothing written yet: allowed
        store.replace(lambda path: path.write_text("v1"))
    with (
        pytest.raises(ConflictError, match="already written"),
        store.writing(keep_existing=True),
    ):
        pytest.fail("the block must not run")
    with store.writing():
        store.replace(lambda path: path.write_text("v2"))
    assert store.latest() == "v2"


def test_predict_decodes_a_chunked_body_and_frees_it_as_it_reads(
    fake_challenge, tmp_path
):
    """Under serve, a large body comes as 1 MiB pieces (runtime/bridge.py);
    /predict takes them as a file and drops each piece behind its reader.
    (falcon.testing wraps wsgi.input, so the app is called as the bridge
    calls it.)"""
    from anomed_anonymizer.runtime.bridge import _InputStream
    from anomed_anonymizer.wire import ChunkedBody

    app = make_app(fake_challenge, tmp_path)
    assert falcon.testing.TestClient(app).simulate_post("/fit").status_code == 201
    X = np.random.default_rng(0).uniform(size=(200_000, 4))  # 6.4 MB
    data = encode_named_arrays({"X": X})
    body = ChunkedBody([data[i : i + (1 << 20)] for i in range(0, len(data), 1 << 20)])
    environ = falcon.testing.create_environ(
        method="POST", path="/predict", headers={"Content-Length": str(len(data))}
    )
    environ["wsgi.input"] = _InputStream(body)
    started = []
    answer = b"".join(app(environ, lambda status, headers: started.append(status)))
    assert started == ["201 Created"], answer
    assert decode_named_arrays(answer)["prediction"].shape == (200_000,)
    assert body.released_bytes >= len(data) - (1 << 20) - 4096
