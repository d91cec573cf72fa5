"""Errors that say what to fix: debug mode, the setting to check, warnings
about the factory's URLs, and a validator's bug named as one."""

from __future__ import annotations

import logging
import socket

import falcon
import falcon.testing
import numpy as np
import pytest
from sklearn.naive_bayes import GaussianNB

import anomed_anonymizer as anon
from anomed_anonymizer.web import DEBUG_WARNING, ServerSettings
from anomed_anonymizer.wire import encode_named_arrays


def _validate(X: np.ndarray) -> None:
    if X.ndim != 2 or X.shape[1] != 4:
        raise ValueError(f"expected shape (n, 4), got {X.shape}")


def _app(base: str, tmp_path, *, validator=_validate, **kwargs) -> falcon.App:
    options = dict(
        anonymizer_identifier="test-anonymizer",
        anonymizer_obj=anon.WrappedAnonymizer(
            GaussianNB(),
            serializer=anon.pickle_anonymizer,
            feature_array_validator=validator,
        ),
        model_filepath=tmp_path / "model.pkl",
        default_batch_size=16,
        training_data_url=f"{base}/data/anonymizer/training",
        tuning_data_url=f"{base}/data/anonymizer/tuning",
        validation_data_url=f"{base}/data/anonymizer/validation",
        utility_evaluation_url=f"{base}/utility/anonymizer",
        model_loader=anon.unpickle_anonymizer,
    )
    options.update(kwargs)
    return anon.supervised_learning_anonymizer_server_factory(**options)


@pytest.fixture
def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def test_an_unreachable_challenge_names_the_setting_not_the_url(
    closed_port_url, tmp_path
):
    client = falcon.testing.TestClient(
        _app(closed_port_url, tmp_path, settings=ServerSettings())
    )
    answer = client.simulate_post("/fit")
    assert answer.status_code == 503, answer.text
    description = answer.json["description"]
    assert "training_data_url" in description
    assert "CHALLENGE_HOST" in description
    assert closed_port_url not in answer.text
    assert "exception" not in answer.json and "url" not in answer.json


def test_debug_mode_adds_the_exception_and_the_url(closed_port_url, tmp_path, caplog):
    with caplog.at_level(logging.WARNING):
        app = _app(closed_port_url, tmp_path, settings=ServerSettings(debug=True))
    assert DEBUG_WARNING in caplog.text
    answer = falcon.testing.TestClient(app).simulate_post("/fit")
    assert answer.status_code == 503, answer.text
    assert answer.json["url"] == f"{closed_port_url}/data/anonymizer/training"
    assert answer.json["exception"].startswith("PeerUnavailableError: ")
    assert "unreachable" in answer.json["exception"]


def test_debug_mode_comes_from_the_environment():
    assert ServerSettings.from_env({"ANOMED_DEBUG": "1"}).debug
    assert not ServerSettings.from_env({}).debug


def test_an_unexpected_error_in_debug_mode_has_its_message(fake_challenge, tmp_path):
    class Failing(GaussianNB):
        def fit(self, X, y):
            raise ValueError("the learning rate is negative")

    model = anon.WrappedAnonymizer(
        Failing(), serializer=anon.pickle_anonymizer, feature_array_validator=_validate
    )
    for debug in (False, True):
        app = _app(
            fake_challenge.url,
            tmp_path,
            anonymizer_obj=model,
            settings=ServerSettings(debug=debug),
        )
        answer = falcon.testing.TestClient(app).simulate_post("/fit")
        assert answer.status_code == 500, answer.text
        assert ("learning rate is negative" in answer.text) is debug


def test_a_validation_url_that_answers_500_names_validation_data_url(
    fake_challenge, tmp_path
):
    base = fake_challenge.url
    from anomed_anonymizer.server import SuspiciousURLWarning

    # The mistake: the validation URL points at the training route (warned).
    with pytest.warns(SuspiciousURLWarning, match="validation_data_url"):
        app = _app(
            base,
            tmp_path,
            validation_data_url=f"{base}/data/anonymizer/training",
            settings=ServerSettings(),
        )
    client = falcon.testing.TestClient(app)
    assert client.simulate_post("/fit").status_code == 201
    fake_challenge.overrides["data/training"] = (falcon.HTTP_500, b"oops")
    answer = client.simulate_post("/evaluate", params={"data_split": "validation"})
    assert answer.status_code == 502, answer.text
    assert "answered 500 for validation_data_url" in answer.json["description"]
    assert base not in answer.text


def _raises_attribute_error(X: np.ndarray) -> None:
    X.no_such_attribute  # noqa: B018 - the user's bug


def test_a_validator_raising_attribute_error_is_a_500_naming_the_validator(
    fake_challenge, tmp_path
):
    client = falcon.testing.TestClient(
        _app(fake_challenge.url, tmp_path, validator=_raises_attribute_error)
    )
    answer = client.simulate_post("/fit")
    assert answer.status_code == 500, answer.text
    description = answer.json["description"]
    assert "the feature array validator raised AttributeError" in description
    assert "a bug in the validator" in description
    assert "rejected" not in answer.text


def _buggy_on_three_rows(X: np.ndarray) -> None:
    if len(X) == 3:
        raise KeyError("column")


def test_a_validator_bug_on_predict_is_a_500_not_a_400(fake_challenge, tmp_path):
    client = falcon.testing.TestClient(
        _app(fake_challenge.url, tmp_path, validator=_buggy_on_three_rows)
    )
    assert client.simulate_post("/fit").status_code == 201
    answer = client.simulate_post(
        "/predict", body=encode_named_arrays({"X": np.ones((3, 4))})
    )
    assert answer.status_code == 500, answer.text
    assert "raised KeyError" in answer.json["description"]


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"training_data_url": "http://None/data/anonymizer/training"}, "no usable"),
        ({"tuning_data_url": "http:///data/anonymizer/tuning"}, "no usable host"),
        (
            {"validation_data_url": "http://http://challenge/data/validation"},
            "names the scheme twice",
        ),
        (
            {"validation_data_url": "http://c:80/data/anonymizer/training"},
            "validation_data_url is the same URL as training_data_url",
        ),
    ],
    ids=["host-None", "host-empty", "scheme-twice", "validation-is-training"],
)
def test_the_factory_warns_about_urls_that_cannot_be_right(
    tmp_path, caplog, changes, fragment
):
    from anomed_anonymizer.server import SuspiciousURLWarning

    with (
        caplog.at_level(logging.WARNING),
        pytest.warns(SuspiciousURLWarning, match=fragment),
    ):
        _app("http://c:80", tmp_path, **changes)
    assert fragment in caplog.text


def test_the_factory_is_silent_about_good_urls(tmp_path):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        _app("http://challenge:8000", tmp_path)


def test_the_tabular_factory_warns_about_a_host_of_none(tmp_path):
    from anomed_anonymizer.server import SuspiciousURLWarning
    from anomed_anonymizer.tabular import MondrianKAnonymizer

    with pytest.warns(SuspiciousURLWarning, match="leaky_data_url"):
        anon.tabular_data_anonymizer_server_factory(
            anonymizer_identifier="t",
            anonymizer_obj=MondrianKAnonymizer(["age"], k=2),
            output_dir=tmp_path / "out",
            leaky_data_url="http://None/data/anonymizer/leaky",
            utility_evaluation_url="http://challenge/utility/anonymizer",
        )
