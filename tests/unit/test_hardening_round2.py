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
