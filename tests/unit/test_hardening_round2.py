"""Regression tests of the second hardening round (issue 19): each failed
before its fix. Routes through falcon.testing, the challenge a real Falcon app
served in a thread (tests/unit/conftest.py)."""

from __future__ import annotations

import io
import zipfile

import falcon
import falcon.testing
import numpy as np
import pytest
from sklearn.naive_bayes import GaussianNB

from anomed_anonymizer.wire import encode_named_arrays

from .conftest import serve_in_thread
from .test_hardening import make_app


def _bzip2_body() -> bytes:
    array = io.BytesIO()
    np.save(array, np.zeros((4, 4)))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_BZIP2) as archive:
        archive.writestr("X.npy", array.getvalue())
    return buffer.getvalue()


def test_predict_refuses_a_bzip2_member_naming_the_method(fake_challenge, tmp_path):
    client = falcon.testing.TestClient(make_app(fake_challenge, tmp_path))
    assert client.simulate_post("/fit").status_code == 201
    answer = client.simulate_post("/predict", body=_bzip2_body())
    assert answer.status_code == 400
    assert "bzip2" in answer.json["description"]


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_from_the_challenge_is_never_followed(
    fake_challenge, tmp_path, status
):
    # A second "challenge" whose data would replace the model if the client
    # followed the redirect there.
    other = falcon.App()
    fetched = []

    class Elsewhere:
        def on_get(self, req, resp):
            fetched.append(req.path)
            resp.data = encode_named_arrays(
                {"X": np.zeros((5, 4)), "y": np.zeros(5, np.int64)}
            )

    other.add_route("/data", Elsewhere())
    with serve_in_thread(other) as elsewhere:
        fake_challenge.overrides["data/training"] = (
            f"{status} Redirect",
            b"",
            {"Location": f"{elsewhere}/data"},
        )
        client = falcon.testing.TestClient(make_app(fake_challenge, tmp_path))
        answer = client.simulate_post("/fit")
    assert answer.status_code == 502
    assert f"redirect ({status})" in answer.json["description"]
    assert fetched == []


def _strict_json(text: str):
    """Parse as a strict JSON parser would (no NaN, no Infinity)."""
    import json

    def refuse(name):
        raise ValueError(f"{name} is not JSON")

    return json.loads(text, parse_constant=refuse)


def _shape_validator(feature_array: np.ndarray) -> None:
    if feature_array.ndim != 2 or feature_array.shape[1] != 4:
        raise ValueError(f"expected shape (n, 4), got {feature_array.shape}")


@pytest.mark.parametrize(
    ("X", "fragment"),
    [
        (np.zeros((5, 3)), "rejected by the anonymizer's validate_input"),
        (np.zeros((0, 4)), "hold no rows"),
        (np.full((5, 4), np.nan), "could not predict"),
    ],
    ids=["wrong-shape", "no-rows", "nan"],
)
def test_evaluate_answers_502_for_challenge_data_the_model_cannot_use(
    fake_challenge, tmp_path, X, fragment
):
    client = falcon.testing.TestClient(
        make_app(fake_challenge, tmp_path, validator=_shape_validator)
    )
    assert client.simulate_post("/fit").status_code == 201
    fake_challenge.overrides["data/tuning"] = (
        falcon.HTTP_OK,
        encode_named_arrays({"X": X, "y": np.array([])}),
    )
    answer = client.simulate_post("/evaluate", params={"data_split": "tuning"})
    assert answer.status_code == 502, answer.text
    assert fragment in answer.json["description"]
    # The model is kept: /predict still answers.
    kept = client.simulate_post(
        "/predict", body=encode_named_arrays({"X": fake_challenge.X_eval})
    )
    assert kept.status_code == 201


def test_a_deeply_nested_score_is_a_502_not_a_crash(fake_challenge, tmp_path):
    client = falcon.testing.TestClient(make_app(fake_challenge, tmp_path))
    assert client.simulate_post("/fit").status_code == 201
    fake_challenge.overrides["utility"] = (
        falcon.HTTP_CREATED,
        b"[" * 100_000 + b"]" * 100_000,
    )
    answer = client.simulate_post("/evaluate", params={"data_split": "tuning"})
    assert answer.status_code == 502
    assert "nested too deeply" in answer.json["description"]


def test_non_finite_scores_are_forwarded_as_valid_json(fake_challenge, tmp_path):
    client = falcon.testing.TestClient(make_app(fake_challenge, tmp_path))
    assert client.simulate_post("/fit").status_code == 201
    fake_challenge.overrides["utility"] = (
        falcon.HTTP_CREATED,
        b'{"mse": NaN, "max": Infinity, "min": -Infinity, "mae": 0.5}',
    )
    answer = client.simulate_post("/evaluate", params={"data_split": "tuning"})
    assert answer.status_code == 201
    evaluation = _strict_json(answer.text)["evaluation"]
    assert evaluation == {"mse": None, "max": None, "min": None, "mae": 0.5}


def test_over_limit_challenge_data_is_described_as_over_the_limit(fake_challenge):
    from anomed_anonymizer.wire import PeerClient, PeerProtocolError

    # Deflated zeros: a small body that declares 80,000 bytes inflated.
    fake_challenge.X_train = np.zeros((2500, 4))
    client = PeerClient(max_response_bytes=20_000, peer="the challenge")
    with pytest.raises(PeerProtocolError) as error:
        client.fetch_named_arrays(f"{fake_challenge.url}/data/anonymizer/training")
    public = error.value.public_message
    assert "over the limit of 20000 bytes" in public
    assert "not a usable" not in public


def test_head_of_the_alive_route_answers_like_get_without_a_body(
    fake_challenge, tmp_path
):
    client = falcon.testing.TestClient(make_app(fake_challenge, tmp_path))
    head = client.simulate_head("/")
    get = client.simulate_get("/")
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["content-type"] == get.headers["content-type"]


class SlowNB(GaussianNB):
    """Holds its fit until the test releases it (module level: it pickles)."""

    hooks: tuple = ()

    def fit(self, X, y):
        fits, entered, release = type(self).hooks
        fits.append(1)
        entered.set()
        release.wait(60)
        return super().fit(X, y)

    def __reduce__(self):
        return (GaussianNB, (), self.__getstate__())


def test_concurrent_fits_in_one_worker_give_one_fit_and_503s(fake_challenge, tmp_path):
    # Through serve's bridge: ten /fit at once used to be five 201s, each
    # waiting for the one before and fitting again.
    import asyncio
    import threading

    from anomed_anonymizer.runtime.bridge import BufferingBridge

    release, entered = threading.Event(), threading.Event()
    fits = []
    SlowNB.hooks = (fits, entered, release)
    bridge = BufferingBridge(
        make_app(fake_challenge, tmp_path, estimator=SlowNB()),
        max_body_bytes=1024,
        request_timeout=30,
    )

    def post_fit():
        sent = []

        async def send(message):
            sent.append(message)

        async def receive():
            return {"type": "http.request", "body": b"", "more_body": False}

        scope = {
            "type": "http",
            "method": "POST",
            "path": "/fit",
            "raw_path": b"/fit",
            "query_string": b"",
            "headers": [],
            "http_version": "1.1",
            "server": ("127.0.0.1", 80),
            "client": ("127.0.0.1", 1),
            "scheme": "http",
        }
        return bridge(scope, receive, send), sent

    async def scenario():
        first, first_sent = post_fit()
        first = asyncio.ensure_future(first)
        await asyncio.get_running_loop().run_in_executor(None, entered.wait, 60)
        others = [post_fit() for _ in range(9)]
        await asyncio.wait_for(asyncio.gather(*(call for call, _ in others)), 60)
        statuses = [sent[0]["status"] for _, sent in others]
        release.set()
        await first
        return first_sent[0]["status"], statuses

    first, others = asyncio.run(scenario())
    assert first == 201
    assert others == [503] * 9
    assert len(fits) == 1


_PARQUET_BOMB = """
import io, resource
import pyarrow as pa
import pyarrow.parquet as pq
from anomed_anonymizer.wire import PayloadTooLargeError, decode_table
# One 200 KB string in 10,000 rows, dictionary encoded (pyarrow's default) and
# written 100 rows at a time: 2 GB once read, about 100 KB as a file.
buffer = io.BytesIO()
part = pa.table({"text": pa.array(["a" * 200_000] * 100), "x": pa.array(range(100))})
with pq.ParquetWriter(buffer, part.schema, compression="zstd") as writer:
    for _ in range(100):
        writer.write_table(part)
data = buffer.getvalue()
del part
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    decode_table(data, max_decompressed_bytes=64 << 20)
except PayloadTooLargeError as exc:
    print("refused", len(data), exc)
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print("peak_growth_kib", after - before)
"""


@pytest.mark.slow
def test_a_parquet_string_bomb_is_refused_before_it_is_materialised():
    # A hostile challenge's 12 KB leaky table (one long string, dictionary
    # encoded) peaked the tabular worker at 6.3 GB; run in a process of its
    # own so that its peak memory is its own.
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-c", _PARQUET_BOMB],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    lines = dict(line.split(" ", 1) for line in result.stdout.splitlines())
    assert "refused" in lines, result.stdout
    assert int(lines["refused"].split()[0]) < 1 << 20  # small on the wire
    assert int(lines["peak_growth_kib"]) < 256 * 1024  # far from 2 GB
