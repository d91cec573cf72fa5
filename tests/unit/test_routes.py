"""One test per promise of each route of the supervised-learning server."""

from __future__ import annotations

import io
import json
from pathlib import Path

import falcon
import falcon.testing
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.naive_bayes import GaussianNB

import anomed_anonymizer as anon
from anomed_anonymizer.wire import decode_named_arrays, encode_named_arrays


def validate(feature_array: np.ndarray) -> None:
    if feature_array.ndim != 2 or feature_array.shape[1] != 4:
        raise ValueError(f"expected shape (n, 4), got {feature_array.shape}")
    if feature_array.dtype != np.float64:
        raise ValueError(f"expected float64, got {feature_array.dtype}")


class Recorder(GaussianNB):
    """GaussianNB that records the batch lengths it predicts on."""

    batches: list = []

    def predict(self, X):
        Recorder.batches.append(len(X))
        return super().predict(X)


class Broken(GaussianNB):
    def fit(self, X, y):
        raise RuntimeError("optimizer diverged")


class Picky(GaussianNB):
    def predict(self, X):
        raise ValueError("feature 3 out of range")


class Crashing(GaussianNB):
    def predict(self, X):
        raise RuntimeError("CUDA out of memory")


def make_app(challenge, tmp_path, model=None, **kwargs):
    model = model or anon.WrappedAnonymizer(
        GaussianNB(),
        serializer=anon.pickle_anonymizer,
        feature_array_validator=validate,
    )
    options = dict(
        anonymizer_identifier="test-anonymizer",
        anonymizer_obj=model,
        model_filepath=tmp_path / "model.pkl",
        default_batch_size=16,
        training_data_url=f"{challenge.url}/data/anonymizer/training",
        tuning_data_url=f"{challenge.url}/data/anonymizer/tuning",
        validation_data_url=f"{challenge.url}/data/anonymizer/validation",
        utility_evaluation_url=f"{challenge.url}/utility/anonymizer",
        model_loader=anon.unpickle_anonymizer,
    )
    options.update(kwargs)
    return anon.supervised_learning_anonymizer_server_factory(**options)


@pytest.fixture
def client(fake_challenge, tmp_path):
    return falcon.testing.TestClient(make_app(fake_challenge, tmp_path))


@pytest.fixture
def fitted(client):
    assert client.simulate_post("/fit").status_code == 201
    return client


def predict(client, body: bytes, query: str = ""):
    return client.simulate_post(
        "/predict",
        body=body,
        query_string=query,
        headers={"Content-Type": "application/octet-stream"},
    )


def assert_private(result, caplog, fragment: str) -> None:
    """``fragment`` is in the log, under the answer's request id, and not in
    the answer."""
    assert fragment not in result.text, result.text
    request_id = result.headers["X-Request-ID"]
    assert request_id in result.json["description"]
    logged = [
        record.getMessage()
        for record in caplog.records
        if record.request_id == request_id
    ]
    assert any(fragment in line for line in logged), logged


def assert_json_error(result, status: int, *fragments: str):
    assert result.status_code == status, result.text
    body = result.json
    assert set(body) >= {"title", "description"}, body
    for fragment in fragments:
        assert fragment in body["description"], body


# -- GET / -----------------------------------------------------------------


def test_alive(client):
    result = client.simulate_get("/")
    assert result.status_code == 200
    assert result.json == {"message": "Anonymizer server is alive!"}


# -- POST /fit ---------------------------------------------------------------


def test_fit_pulls_training_data_fits_and_saves(client, tmp_path, fake_challenge):
    result = client.simulate_post("/fit")
    assert result.status_code == 201
    assert result.json["message"] == "Fitting has been completed successfully."
    assert result.json["n_samples"] == len(fake_challenge.X_train)
    restored = anon.unpickle_anonymizer(tmp_path / "model.pkl")
    assert restored.predict(fake_challenge.X_eval).shape == fake_challenge.y_eval.shape


def test_fit_while_another_fit_runs_is_503(client, tmp_path, fake_challenge):
    store = anon.server.ModelStore(tmp_path / "model.pkl", anon.unpickle_anonymizer)
    with store.fitting():
        result = client.simulate_post("/fit")
    assert_json_error(result, 503, "already in progress")
    assert result.headers.get("Retry-After") == "5"


def test_fit_with_unreachable_challenge_is_503_logging_the_url(
    tmp_path, fake_challenge, caplog
):
    fake_challenge.url = "http://127.0.0.1:9"  # discard port: nothing listens
    client = falcon.testing.TestClient(make_app(fake_challenge, tmp_path))
    result = client.simulate_post("/fit")
    assert_json_error(result, 503, "the challenge is unreachable")
    assert_private(result, caplog, "http://127.0.0.1:9/data/anonymizer/training")


def test_fit_with_garbage_training_data_is_502(client, fake_challenge):
    fake_challenge.overrides["data/training"] = ("200 OK", b"not an npz")
    assert_json_error(client.simulate_post("/fit"), 502, "not a usable .npz")


def test_fit_with_training_data_the_validator_rejects_is_502(client, fake_challenge):
    fake_challenge.X_train = fake_challenge.X_train[:, :3]
    assert_json_error(
        client.simulate_post("/fit"), 502, "validate_input", "expected shape (n, 4)"
    )


def test_fit_failure_is_a_json_500_naming_the_route(tmp_path, fake_challenge, caplog):
    model = anon.WrappedAnonymizer(
        Broken(), serializer=anon.pickle_anonymizer, feature_array_validator=validate
    )
    client = falcon.testing.TestClient(make_app(fake_challenge, tmp_path, model=model))
    result = client.simulate_post("/fit")
    assert_json_error(result, 500, "POST /fit", "RuntimeError")
    assert_private(result, caplog, "optimizer diverged")
    assert not (tmp_path / "model.pkl").exists()


def test_failed_save_keeps_the_previous_model(fitted, tmp_path, fake_challenge, caplog):
    before = (tmp_path / "model.pkl").read_bytes()

    def failing_serializer(obj, path):
        Path(path).write_bytes(b"half")
        raise OSError("disk full")

    model = anon.WrappedAnonymizer(
        GaussianNB(), serializer=failing_serializer, feature_array_validator=validate
    )
    client = falcon.testing.TestClient(make_app(fake_challenge, tmp_path, model=model))
    result = client.simulate_post("/fit")
    assert_json_error(result, 500, "OSError")
    assert_private(result, caplog, "disk full")
    assert (tmp_path / "model.pkl").read_bytes() == before
    assert (
        predict(client, encode_named_arrays({"X": fake_challenge.X_eval})).status_code
        == 201
    )


# -- POST /predict -----------------------------------------------------------


def test_predict_before_fit_is_503(client, fake_challenge):
    result = predict(client, encode_named_arrays({"X": fake_challenge.X_eval}))
    assert_json_error(result, 503, "not fitted")


def test_predict_answers_201_with_npz_prediction(fitted, fake_challenge):
    result = predict(fitted, encode_named_arrays({"X": fake_challenge.X_eval}))
    assert result.status_code == 201
    assert result.headers["Content-Type"] == "application/octet-stream"
    prediction = decode_named_arrays(result.content, required=["prediction"])[
        "prediction"
    ]
    assert prediction.shape == fake_challenge.y_eval.shape
    assert prediction.dtype == fake_challenge.y_train.dtype
    assert np.mean(prediction == fake_challenge.y_eval) > 0.8


def test_predict_reads_numpy_savez_bodies(fitted, fake_challenge):
    buffer = io.BytesIO()
    np.savez(buffer, X=fake_challenge.X_eval)  # uncompressed, as a peer may send
    assert predict(fitted, buffer.getvalue()).status_code == 201


def test_predict_uses_batch_size_from_query_else_default(tmp_path, fake_challenge):
    model = anon.WrappedAnonymizer(
        Recorder(), serializer=anon.pickle_anonymizer, feature_array_validator=validate
    )
    client = falcon.testing.TestClient(make_app(fake_challenge, tmp_path, model=model))
    client.simulate_post("/fit")
    body = encode_named_arrays({"X": fake_challenge.X_eval})  # 20 rows
    Recorder.batches = []
    assert predict(client, body, "batch_size=8").status_code == 201
    assert Recorder.batches == [8, 8, 4]
    Recorder.batches = []
    assert predict(client, body).status_code == 201
    assert Recorder.batches == [16, 4]


@pytest.mark.parametrize("value", ["0", "-1", "abc", "1.5"])
def test_predict_with_bad_batch_size_is_400(fitted, fake_challenge, value):
    body = encode_named_arrays({"X": fake_challenge.X_eval})
    result = predict(fitted, body, f"batch_size={value}")
    assert_json_error(result, 400, "batch_size")


def pickled_object_array() -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, X=np.array([[object()] * 4], dtype=object))
    return buffer.getvalue()


def corrupt_zip() -> bytes:
    data = bytearray(encode_named_arrays({"X": np.arange(4000.0).reshape(-1, 4)}))
    for offset in range(200, 300):
        data[offset] ^= 0xFF
    return bytes(data)


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b"", "empty"),
        (b"hello world", "not an .npz archive"),
        (corrupt_zip(), "corrupt"),
        (
            encode_named_arrays({"features": np.zeros((2, 4))}),
            "lacks the array(s) 'X' (found: 'features')",
        ),
        (pickled_object_array(), "pickled"),
        (encode_named_arrays({"X": np.zeros((2, 5))}), "expected shape (n, 4)"),
        (encode_named_arrays({"X": np.zeros((2, 4), dtype=np.int64)}), "float64"),
        (encode_named_arrays({"X": np.zeros(4)}), "expected shape (n, 4)"),
    ],
    ids=[
        "empty",
        "not-npz",
        "corrupt-zip",
        "no-X",
        "pickled",
        "wrong-width",
        "wrong-dtype",
        "1-d",
    ],
)
def test_predict_with_bad_body_is_400_saying_why(fitted, body, fragment):
    assert_json_error(predict(fitted, body), 400, fragment)


def test_predict_body_over_the_limit_is_413(tmp_path, fake_challenge):
    client = falcon.testing.TestClient(
        make_app(fake_challenge, tmp_path, max_request_bytes=10_000)
    )
    client.simulate_post("/fit")
    body = encode_named_arrays({"X": np.random.default_rng(0).random((1000, 4))})
    assert len(body) > 10_000
    assert_json_error(predict(client, body), 413, "limit of 10000")


def test_predict_zip_bomb_is_413_without_inflating(tmp_path, fake_challenge):
    client = falcon.testing.TestClient(
        make_app(fake_challenge, tmp_path, max_request_bytes=100_000)
    )
    client.simulate_post("/fit")
    bomb = encode_named_arrays({"X": np.zeros((1_000_000, 4))})  # 32 MB inflated
    assert len(bomb) < 100_000
    assert_json_error(predict(client, bomb), 413, "decompressed")


def test_predict_value_error_from_model_is_400(tmp_path, fake_challenge):
    model = anon.WrappedAnonymizer(
        Picky(), serializer=anon.pickle_anonymizer, feature_array_validator=validate
    )
    client = falcon.testing.TestClient(make_app(fake_challenge, tmp_path, model=model))
    client.simulate_post("/fit")
    result = predict(client, encode_named_arrays({"X": fake_challenge.X_eval}))
    assert_json_error(result, 400, "feature 3 out of range")


def test_predict_unexpected_model_error_is_json_500_naming_the_route(
    tmp_path, fake_challenge, caplog
):
    model = anon.WrappedAnonymizer(
        Crashing(), serializer=anon.pickle_anonymizer, feature_array_validator=validate
    )
    client = falcon.testing.TestClient(make_app(fake_challenge, tmp_path, model=model))
    client.simulate_post("/fit")
    result = predict(client, encode_named_arrays({"X": fake_challenge.X_eval}))
    assert_json_error(result, 500, "POST /predict", "RuntimeError")
    assert_private(result, caplog, "CUDA out of memory")


def test_predict_serves_a_model_saved_by_another_process(
    fitted, tmp_path, fake_challenge
):
    # Another worker refits: this one must pick up the new file.
    other = anon.WrappedAnonymizer(
        GaussianNB(),
        serializer=anon.pickle_anonymizer,
        feature_array_validator=validate,
    )
    flipped = 1 - fake_challenge.y_train
    other.fit(fake_challenge.X_train, flipped)
    anon.server.ModelStore(tmp_path / "model.pkl", anon.unpickle_anonymizer).save(other)
    result = predict(fitted, encode_named_arrays({"X": fake_challenge.X_eval}))
    prediction = decode_named_arrays(result.content)["prediction"]
    assert np.mean(prediction == fake_challenge.y_eval) < 0.2


# -- POST /evaluate ----------------------------------------------------------


@pytest.mark.parametrize("split", ["tuning", "validation"])
def test_evaluate_posts_prediction_and_returns_the_challenges_json(
    fitted, fake_challenge, split
):
    result = fitted.simulate_post("/evaluate", params={"data_split": split})
    assert result.status_code == 201, result.text
    assert result.json["message"] == (
        f"The anonymizer has been evaluated based on {split} data."
    )
    assert result.json["evaluation"]["accuracy"] > 0.8
    params, prediction = fake_challenge.posted[-1]
    assert params == {"anonymizer": "test-anonymizer", "data_split": split}
    assert prediction.shape == fake_challenge.y_eval.shape


def test_evaluate_without_data_split_is_400(fitted):
    assert_json_error(fitted.simulate_post("/evaluate"), 400, "data_split")


def test_evaluate_with_unknown_data_split_is_400(fitted):
    result = fitted.simulate_post("/evaluate", params={"data_split": "training"})
    assert_json_error(result, 400, "tuning, validation")


def test_evaluate_before_fit_is_503(client):
    result = client.simulate_post("/evaluate", params={"data_split": "tuning"})
    assert_json_error(result, 503, "not fitted")


def test_evaluate_when_challenge_answers_200_not_201_is_502(fitted, fake_challenge):
    fake_challenge.overrides["utility"] = ("200 OK", b"")
    result = fitted.simulate_post("/evaluate", params={"data_split": "tuning"})
    assert_json_error(result, 502, "answered with status 200")


def test_evaluate_when_challenge_times_out_is_503(tmp_path, fake_challenge):
    # Fit with the default timeouts; the short one meets a challenge that
    # answers nothing at all, however busy the machine is.
    fitting = falcon.testing.TestClient(make_app(fake_challenge, tmp_path))
    assert fitting.simulate_post("/fit").status_code == 201
    client = falcon.testing.TestClient(
        make_app(fake_challenge, tmp_path, download_timeout=0.3, upload_timeout=0.3)
    )
    with fake_challenge.stalling():
        result = client.simulate_post("/evaluate", params={"data_split": "tuning"})
    assert_json_error(result, 503, "did not answer within 0.3 s")


def test_evaluate_when_challenge_is_down_is_503(tmp_path, fake_challenge, caplog):
    client = falcon.testing.TestClient(make_app(fake_challenge, tmp_path))
    client.simulate_post("/fit")
    url = fake_challenge.url
    fake_challenge.url = "http://127.0.0.1:9"
    down = falcon.testing.TestClient(make_app(fake_challenge, tmp_path))
    result = down.simulate_post("/evaluate", params={"data_split": "validation"})
    assert_json_error(result, 503, "unreachable")
    assert_private(result, caplog, "http://127.0.0.1:9/data/anonymizer/validation")
    fake_challenge.url = url


def test_evaluate_when_challenge_scoring_fails_is_502_with_its_status_only(
    fitted, fake_challenge, caplog
):
    fake_challenge.overrides["utility"] = (
        "500 Internal Server Error",
        json.dumps({"title": "dtype mismatch"}).encode(),
    )
    result = fitted.simulate_post("/evaluate", params={"data_split": "tuning"})
    assert_json_error(result, 502, "answered with status 500")
    # The challenge's own words and URL are for the operator's log only.
    assert_private(result, caplog, "dtype mismatch")
    assert_private(result, caplog, "/utility/anonymizer")


def test_every_error_is_json(fitted):
    for result in (
        fitted.simulate_get("/nowhere"),
        fitted.simulate_put("/predict"),
        predict(fitted, b"junk"),
    ):
        assert result.status_code >= 400
        assert result.headers["Content-Type"].startswith("application/json")
        assert "title" in result.json


def test_factory_refuses_non_positive_batch_size(tmp_path, fake_challenge):
    with pytest.raises(ValueError, match="default_batch_size"):
        make_app(fake_challenge, tmp_path, default_batch_size=0)


def test_custom_app_from_building_blocks(tmp_path, fake_challenge):
    """The 'without template' case: mount our resources on your own app."""
    app = falcon.App()
    anon.register_error_handlers(app)
    app.add_route("/", anon.AliveResource("Custom anonymizer is alive!"))
    inference = anon.InferenceResource(
        anonymizer_identifier="custom",
        model_filepath=tmp_path / "model.pkl",
        model_loader=anon.unpickle_anonymizer,
        default_batch_size=8,
        tuning_data_url=f"{fake_challenge.url}/data/anonymizer/tuning",
        validation_data_url=f"{fake_challenge.url}/data/anonymizer/validation",
        utility_evaluation_url=f"{fake_challenge.url}/utility/anonymizer",
        download_timeout=5.0,
        upload_timeout=5.0,
    )
    app.add_route("/predict", inference, suffix="predict")
    client = falcon.testing.TestClient(app)
    assert client.simulate_get("/").json == {"message": "Custom anonymizer is alive!"}
    assert_json_error(predict(client, b""), 503, "not fitted")
    model = anon.WrappedAnonymizer(
        GaussianNB(),
        serializer=anon.pickle_anonymizer,
        feature_array_validator=validate,
    )
    model.fit(fake_challenge.X_train, fake_challenge.y_train)
    model.save(tmp_path / "model.pkl")
    assert (
        predict(client, encode_named_arrays({"X": fake_challenge.X_eval})).status_code
        == 201
    )


def test_validate_anonymizer_input_or_raise_uses_status_and_message():
    model = anon.WrappedAnonymizer(GaussianNB(), feature_array_validator=validate)
    with pytest.raises(falcon.HTTPError) as excinfo:
        anon.validate_anonymizer_input_or_raise(
            np.zeros((1, 3)), model, falcon.HTTP_400, "Incompatible array"
        )
    assert excinfo.value.status == falcon.HTTP_400
    assert "Incompatible array: expected shape (n, 4)" in excinfo.value.description
    anon.validate_anonymizer_input_or_raise(np.zeros((1, 4)), model)


def test_unexpected_errors_are_logged_with_traceback(tmp_path, fake_challenge, caplog):
    model = anon.WrappedAnonymizer(
        Crashing(), serializer=anon.pickle_anonymizer, feature_array_validator=validate
    )
    client = falcon.testing.TestClient(make_app(fake_challenge, tmp_path, model=model))
    client.simulate_post("/fit")
    with caplog.at_level("ERROR", logger="anomed_anonymizer"):
        predict(client, encode_named_arrays({"X": fake_challenge.X_eval}))
    record = next(r for r in caplog.records if "POST /predict" in r.getMessage())
    assert "Traceback (most recent call last)" in record.getMessage()
    assert "RuntimeError: CUDA out of memory" in record.getMessage()


def test_predict_ignores_extra_arrays_beside_x(fitted, fake_challenge):
    body = encode_named_arrays({"X": fake_challenge.X_eval, "y": fake_challenge.y_eval})
    assert predict(fitted, body).status_code == 201


def test_readme_custom_server_example_runs_as_written(tmp_path, monkeypatch):
    from docs_blocks import doc_block

    block = doc_block("custom-server-example")
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(block, "custom-server-example", "exec"), namespace)
    client = falcon.testing.TestClient(namespace["app"])
    assert client.simulate_get("/").json == {"message": "Anonymizer server is alive!"}
    assert_json_error(predict(client, b""), 503, "not fitted")
    result = client.simulate_post("/evaluate", params={"data_split": "tuning"})
    assert_json_error(result, 503, "not fitted")


def upstream_readme_validator(feature_array: np.ndarray) -> None:
    """Upstream's README validator: indexes shape[1] before checking ndim."""
    if feature_array.shape[1] != 4 or len(feature_array.shape) != 2:
        raise ValueError("Feature array needs to have shape (n_samples, 4).")


def test_a_validator_crashing_on_a_malformed_array_is_a_400(tmp_path, fake_challenge):
    model = anon.WrappedAnonymizer(
        GaussianNB(),
        serializer=anon.pickle_anonymizer,
        feature_array_validator=upstream_readme_validator,
    )
    client = falcon.testing.TestClient(make_app(fake_challenge, tmp_path, model=model))
    client.simulate_post("/fit")
    result = predict(client, encode_named_arrays({"X": np.zeros(4)}))
    assert_json_error(result, 400, "IndexError", "shape (4,)")


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    body=st.one_of(
        st.binary(max_size=512),
        st.builds(
            lambda rows, cols, dtype: encode_named_arrays(
                {"X": np.zeros((rows, cols), dtype=dtype)}
            ),
            st.integers(0, 5),
            st.integers(0, 6),
            st.sampled_from(["f8", "f4", "i8", "bool", "U3", "c16"]),
        ),
    ),
    query=st.one_of(
        st.just(""),
        st.text(max_size=20).map(lambda value: f"batch_size={value}"),
        st.integers(-5, 100).map(lambda value: f"batch_size={value}"),
    ),
)
def test_no_client_input_makes_predict_answer_500(fitted, body, query):
    result = predict(fitted, body, query)
    assert result.status_code in (201, 400, 413), result.text
