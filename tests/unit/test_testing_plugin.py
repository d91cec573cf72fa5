"""anomed_anonymizer.testing: the local challenge fixtures and AnonymizerClient,
used as a competitor's test would use them."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.naive_bayes import GaussianNB

import anomed_anonymizer as anon
from anomed_anonymizer.tabular import MondrianKAnonymizer
from anomed_anonymizer.testing import AnonymizerClient, load_app

# The entry point registers the plugin only once the package is reinstalled;
# listed here it is loaded either way, and once (the entry point is named as
# the module).
pytest_plugins = ["anomed_anonymizer.testing", "pytester"]

ROOT = Path(__file__).resolve().parents[2]


def two_dimensional(X):
    if X.ndim != 2:
        raise ValueError(f"expected (n_samples, n_features), got shape {X.shape}")


def supervised_app(url: str, tmp_path: Path, model=None):
    return anon.supervised_learning_anonymizer_server_factory(
        anonymizer_identifier="mine",
        anonymizer_obj=anon.WrappedAnonymizer(
            model if model is not None else GaussianNB(),
            serializer=anon.pickle_anonymizer,
            feature_array_validator=two_dimensional,
        ),
        model_filepath=tmp_path / "model.pkl",
        default_batch_size=16,
        training_data_url=f"{url}/data/anonymizer/training",
        tuning_data_url=f"{url}/data/anonymizer/tuning",
        validation_data_url=f"{url}/data/anonymizer/validation",
        utility_evaluation_url=f"{url}/utility/anonymizer",
        model_loader=anon.unpickle_anonymizer,
    )


def test_the_entry_point_names_the_plugin_module():
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    entry_points = pyproject["project"]["entry-points"]["pytest11"]
    assert entry_points == {"anomed_anonymizer.testing": "anomed_anonymizer.testing"}


def test_a_gaussian_nb_app_fits_evaluates_and_predicts(local_challenge, tmp_path):
    client = AnonymizerClient(supervised_app(local_challenge.url, tmp_path))
    assert client.fit()
    training = local_challenge.requests_to("/data/anonymizer/training", "GET")
    assert len(training) == 1 and training[0].status == 200

    answer = client.evaluate("tuning")
    assert 0.5 < answer["evaluation"]["accuracy"] <= 1.0
    # The challenge recorded the upload and decoded the prediction it scored.
    (upload,) = local_challenge.requests_to("/utility/anonymizer", "POST")
    assert upload.params["data_split"] == "tuning"
    assert upload.params["anonymizer"] == "mine"
    assert upload.body_size > 0 and upload.status == 201
    (prediction,) = local_challenge.predictions
    X_tune, y_tune = local_challenge.tuning
    assert prediction.shape == y_tune.shape
    assert prediction.dtype == local_challenge.training[1].dtype
    assert np.mean(prediction == y_tune) == answer["evaluation"]["accuracy"]

    direct = client.predict(X_tune, batch_size=7)
    np.testing.assert_array_equal(direct, prediction)
    assert client.privacy()  # a plain model reports that it guarantees nothing
    methods_paths = [(r.method, r.path) for r in local_challenge.received]
    assert methods_paths == [
        ("GET", "/data/anonymizer/training"),
        ("GET", "/data/anonymizer/tuning"),
        ("POST", "/utility/anonymizer"),
    ]


def test_a_regression_challenge_scores_mse_and_mae(make_local_challenge, tmp_path):
    from sklearn.linear_model import LinearRegression

    rng = np.random.default_rng(1)
    X = rng.normal(size=(120, 3))
    y = X @ np.array([1.0, -2.0, 0.5]) + rng.normal(scale=0.1, size=120)
    challenge = make_local_challenge(X=X, y=y, seed=3)
    assert challenge.kind == "supervised"
    client = AnonymizerClient(
        supervised_app(challenge.url, tmp_path, LinearRegression())
    )
    client.fit()
    evaluation = client.evaluate("validation")["evaluation"]
    assert set(evaluation) >= {"mse", "mae"}
    assert 0 < evaluation["mse"] < 0.1
    (prediction,) = challenge.predictions
    assert prediction.dtype == np.float64


def test_challenges_of_one_test_are_separate(make_local_challenge):
    first = make_local_challenge()
    second = make_local_challenge(dataset="wine", seed=1)
    assert first.url != second.url
    assert first.training[0].shape[1] == 4 and second.training[0].shape[1] == 13


def test_a_tabular_app_releases_against_a_local_tabular_challenge(
    make_local_challenge, tmp_path
):
    rng = np.random.default_rng(0)
    table = pd.DataFrame(
        {
            "age": rng.integers(18, 90, 200),
            "zip": rng.choice(["10115", "10117", "20095", "80331"], 200),
            "disease": rng.choice(["flu", "none", "asthma"], 200),
        }
    )
    challenge = make_local_challenge(table=table, sensitive="disease")
    assert challenge.kind == "tabular"
    pd.testing.assert_frame_equal(challenge.table, table)
    app = anon.tabular_data_anonymizer_server_factory(
        anonymizer_identifier="tab",
        anonymizer_obj=MondrianKAnonymizer(["age", "zip"], k=5),
        output_dir=tmp_path / "release",
        leaky_data_url=f"{challenge.url}/data/anonymizer/leaky",
        utility_evaluation_url=f"{challenge.url}/utility/anonymizer",
    )
    client = AnonymizerClient(app)
    fit = client.fit()
    assert fit["scheme"] == client.anon_data_scheme() == "generalization"
    release = client.anon_data()
    assert len(release) == len(table)
    utility = client.evaluate(split=None)["evaluation"]["utility"]
    assert 0.0 <= utility <= 1.0
    (upload,) = challenge.requests_to("/utility/anonymizer", "POST")
    assert upload.params == {"anonymizer": "tab"} and upload.body_size > 0
    assert challenge.predictions == []  # tabular uploads are releases


def test_a_failing_fit_names_the_servers_description(make_local_challenge, tmp_path):
    # Features the model's validator refuses: the server answers with why.
    challenge = make_local_challenge(
        X=np.zeros((40, 2)), y=np.arange(40, dtype=np.int64) % 2
    )

    def four_features(X):
        if X.shape[1] != 4:
            raise ValueError(f"expected 4 features, got {X.shape[1]}")

    app = anon.supervised_learning_anonymizer_server_factory(
        anonymizer_identifier="mine",
        anonymizer_obj=anon.WrappedAnonymizer(
            GaussianNB(),
            serializer=anon.pickle_anonymizer,
            feature_array_validator=four_features,
        ),
        model_filepath=tmp_path / "model.pkl",
        default_batch_size=16,
        training_data_url=f"{challenge.url}/data/anonymizer/training",
        tuning_data_url=f"{challenge.url}/data/anonymizer/tuning",
        validation_data_url=f"{challenge.url}/data/anonymizer/validation",
        utility_evaluation_url=f"{challenge.url}/utility/anonymizer",
        model_loader=anon.unpickle_anonymizer,
    )
    client = AnonymizerClient(app)
    with pytest.raises(AssertionError) as failure:
        client.fit()
    message = str(failure.value)
    assert message.startswith("POST /fit answered 502 Bad Gateway")
    assert "expected 4 features, got 2" in message


def test_predict_before_fit_is_an_assertion_with_the_reason(local_challenge, tmp_path):
    client = AnonymizerClient(supervised_app(local_challenge.url, tmp_path))
    with pytest.raises(AssertionError, match=r"POST /predict answered \d{3}"):
        client.predict(local_challenge.training[0][:3])


def test_load_app_imports_a_fresh_app_with_the_environment(
    make_local_challenge, tmp_path, monkeypatch
):
    monkeypatch.delenv("MY_CHALLENGE", raising=False)
    (tmp_path / "myapp.py").write_text("import os\nhost = os.environ['MY_CHALLENGE']\n")
    first, second = make_local_challenge(), make_local_challenge()
    host = load_app("myapp:host", directory=tmp_path, env={"MY_CHALLENGE": first.host})
    assert host == first.host
    assert (
        load_app("myapp:host", directory=tmp_path, env={"MY_CHALLENGE": second.host})
        == second.host
    )
    assert "MY_CHALLENGE" not in __import__("os").environ
    assert str(tmp_path) not in sys.path
    with pytest.raises(ValueError, match="no attribute 'nope'"):
        load_app("myapp:nope", directory=tmp_path, env={"MY_CHALLENGE": "x"})


def test_a_users_test_file_uses_the_fixtures(pytester):
    """As a competitor's suite: fixtures by name, no import of the plugin."""
    pytester.makeconftest('pytest_plugins = ["anomed_anonymizer.testing"]\n')
    pytester.makepyfile(
        """
        import numpy as np
        from sklearn.naive_bayes import GaussianNB

        import anomed_anonymizer as anon
        from anomed_anonymizer.testing import AnonymizerClient

        def anything(X):
            pass

        def test_mine(local_challenge, tmp_path):
            url = local_challenge.url
            app = anon.supervised_learning_anonymizer_server_factory(
                anonymizer_identifier="mine",
                anonymizer_obj=anon.WrappedAnonymizer(
                    GaussianNB(),
                    serializer=anon.pickle_anonymizer,
                    feature_array_validator=anything,
                ),
                model_filepath=tmp_path / "model.pkl",
                default_batch_size=16,
                training_data_url=f"{url}/data/anonymizer/training",
                tuning_data_url=f"{url}/data/anonymizer/tuning",
                validation_data_url=f"{url}/data/anonymizer/validation",
                utility_evaluation_url=f"{url}/utility/anonymizer",
                model_loader=anon.unpickle_anonymizer,
            )
            client = AnonymizerClient(app)
            client.fit()
            assert client.evaluate("validation")["evaluation"]["accuracy"] > 0.5
            assert len(local_challenge.predictions) == 1

        def test_unfitted(local_challenge, tmp_path):
            from anomed_anonymizer.testing import AnonymizerClient
            import falcon
            AnonymizerClient(falcon.App()).fit()
        """
    )
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*AssertionError: POST /fit answered 404*"])
