"""A validator written for NumPy 1 (upstream's README compares the dtype with
``np.float_``, which NumPy 2.0 removed) fails on NumPy 2 with a 500 that names
the validator, the removed name and what to write instead; the traceback goes
to the log. Routes through falcon.testing, the challenge a real Falcon app
served in a thread (tests/unit/conftest.py)."""

from __future__ import annotations

import logging

import falcon.testing
import numpy as np
import pytest

from anomed_anonymizer.wire import encode_named_arrays

from .test_hardening import make_app

NUMPY2 = np.lib.NumpyVersion(np.__version__) >= "2.0.0"


def _upstream_readme_validator(feature_array: np.ndarray) -> None:
    # upstream 0.0.22's README example, as a user copies it
    if feature_array.shape[1] != 4 or len(feature_array.shape) != 2:
        raise ValueError("Feature array needs to have shape (n_samples, 4).")
    if feature_array.dtype != np.float_:
        raise ValueError("Feature array must be an array of floats.")


def _np_float_on_three_rows(feature_array: np.ndarray) -> None:
    # lets the challenge's training data through, crashes on /predict's
    if len(feature_array) == 3:
        _upstream_readme_validator(feature_array)


def _plain_missing_attribute(feature_array: np.ndarray) -> None:
    raise AttributeError("module 'numpy' has no attribute 'unicode_'")


@pytest.mark.skipif(not NUMPY2, reason="np.float_ exists in NumPy 1")
def test_np_float_in_the_validator_is_a_500_saying_what_to_write(
    fake_challenge, tmp_path, caplog
):
    client = falcon.testing.TestClient(
        make_app(fake_challenge, tmp_path, validator=_upstream_readme_validator)
    )
    with caplog.at_level(logging.ERROR, logger="anomed_anonymizer"):
        answer = client.simulate_post("/fit")
    assert answer.status_code == 500, answer.text
    assert answer.json["title"] == "Bug in the feature array validator"
    description = answer.json["description"]
    assert description.startswith(
        "the feature array validator raised AttributeError: `np.float_` was "
        f"removed in NumPy 2.0 (this server runs NumPy {np.__version__}); "
        "write `np.float64`"
    )
    assert "a bug in the validator, not in the challenge's data" in description
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "Traceback" in logged
    assert "_upstream_readme_validator" in logged


@pytest.mark.skipif(not NUMPY2, reason="np.float_ exists in NumPy 1")
def test_np_float_on_predict_is_a_500_not_a_400(fake_challenge, tmp_path):
    client = falcon.testing.TestClient(
        make_app(fake_challenge, tmp_path, validator=_np_float_on_three_rows)
    )
    assert client.simulate_post("/fit").status_code == 201
    answer = client.simulate_post(
        "/predict", body=encode_named_arrays({"X": np.ones((3, 4))})
    )
    assert answer.status_code == 500, answer.text
    assert "`np.float_` was removed in NumPy 2.0" in answer.json["description"]
    assert "write `np.float64`" in answer.json["description"]
    assert "not in the request" in answer.json["description"]


def test_the_plain_missing_attribute_message_names_the_replacement_too(
    fake_challenge, tmp_path
):
    client = falcon.testing.TestClient(
        make_app(fake_challenge, tmp_path, validator=_plain_missing_attribute)
    )
    answer = client.simulate_post("/fit")
    assert answer.status_code == 500, answer.text
    assert (
        "AttributeError: `np.unicode_` was removed in NumPy 2.0"
        in answer.json["description"]
    )
    assert "write `np.str_`" in answer.json["description"]


def test_another_attribute_error_keeps_its_own_message(fake_challenge, tmp_path):
    def typo(feature_array: np.ndarray) -> None:
        feature_array.shap  # noqa: B018 - the user's bug

    client = falcon.testing.TestClient(
        make_app(fake_challenge, tmp_path, validator=typo)
    )
    answer = client.simulate_post("/fit")
    assert answer.status_code == 500, answer.text
    description = answer.json["description"]
    assert "the feature array validator raised AttributeError" in description
    assert "'shap'" in description
    assert "NumPy 2.0" not in description
