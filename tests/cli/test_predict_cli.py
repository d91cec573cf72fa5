"""``anomed-anonymizer predict``: a served anonymizer's ``/predict`` from a CSV
or ``.npz`` of features, compared with a direct POST."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import requests

from anomed_anonymizer.cli.processes import free_port, start_server
from anomed_anonymizer.wire import decode_named_arrays, encode_named_arrays

from .test_cli import CLI, OUR_APPS, assert_one_line_error, run

IRIS_BOUNDS = [[4.0, 2.0, 1.0, 0.0], [8.0, 4.5, 7.0, 2.6]]


@pytest.fixture(scope="module")
def emulator(tmp_path_factory):
    """An emulated iris challenge."""
    port = free_port()
    server = start_server(
        "emulator",
        [CLI, "emulate-challenge", f"--port={port}", "--workers=1"],
        port,
        tmp_path_factory.mktemp("emulator"),
    )
    yield server
    server.stop()


def serve_fitted(emulator, tmp, app: str, env: dict[str, str], *args: str):
    port = free_port()
    server = start_server(
        "anonymizer",
        [CLI, "serve", app, f"--port={port}", "--workers=1", *args],
        port,
        tmp,
        env={"CHALLENGE_HOST": emulator.host, **env},
    )
    response = requests.post(f"{server.url}/fit", timeout=120)
    assert response.status_code == 201, response.text + server.log()[-2000:]
    return server


@pytest.fixture(scope="module")
def served(emulator, tmp_path_factory):
    """A random forest served for the emulated iris challenge, fitted; yields
    (its URL, the challenge's validation features)."""
    tmp = tmp_path_factory.mktemp("predict")
    server = serve_fitted(
        emulator,
        tmp,
        "anomed_anonymizer.examples.demo_app:application",
        {
            "ANOMED_MODEL": "random-forest",
            "ANOMED_FEATURE_BOUNDS": json.dumps(IRIS_BOUNDS),
            "ANOMED_N_CLASSES": "3",
            "ANOMED_MODEL_FILE": str(tmp / "model.pkl"),
        },
    )
    try:
        X = decode_named_arrays(
            requests.get(
                f"{emulator.url}/data/anonymizer/validation", timeout=30
            ).content
        )["X"]
        yield server.url, X
    finally:
        server.stop()


def direct_prediction(url: str, X: np.ndarray) -> np.ndarray:
    response = requests.post(
        f"{url}/predict", data=encode_named_arrays({"X": X}), timeout=60
    )
    assert response.status_code == 201, response.text
    return decode_named_arrays(response.content)["prediction"]


@pytest.mark.slow
def test_predict_from_csv_prints_one_prediction_per_line(served, tmp_path):
    url, X = served
    pd.DataFrame(X, columns=["a", "b", "c", "d"]).to_csv(
        tmp_path / "x.csv", index=False
    )
    result = run(
        "predict", url.removeprefix("http://"), "--csv", str(tmp_path / "x.csv")
    )
    assert result.returncode == 0, result.stderr
    expected = direct_prediction(url, X)
    assert len(set(expected.tolist())) > 1  # a model, not a constant
    assert result.stdout.splitlines() == [str(v) for v in expected.tolist()]


@pytest.mark.slow
def test_predict_from_npz_in_batches_writes_csv_and_npz(served, tmp_path):
    url, X = served
    np.savez(tmp_path / "x.npz", X=X.astype(np.float32))  # converted to float64
    expected = direct_prediction(url, X.astype(np.float32).astype(np.float64))
    for output in ("y.csv", "y.npz"):
        result = run(
            "predict",
            f"{url}/predict",
            "--npz",
            str(tmp_path / "x.npz"),
            "--batch-size=7",
            f"--output={tmp_path / output}",
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout == ""
    table = pd.read_csv(tmp_path / "y.csv")
    assert list(table.columns) == ["prediction"]
    np.testing.assert_array_equal(table["prediction"].to_numpy(), expected)
    with np.load(tmp_path / "y.npz", allow_pickle=False) as archive:
        np.testing.assert_array_equal(archive["prediction"], expected)


@pytest.mark.slow
def test_predict_rejected_features_show_the_servers_description(served, tmp_path):
    url, X = served
    pd.DataFrame(X[:, :3], columns=["a", "b", "c"]).to_csv(
        tmp_path / "x.csv", index=False
    )
    result = run("predict", url, "--csv", str(tmp_path / "x.csv"))
    assert_one_line_error(
        result,
        f"{url}/predict answered 400",
        f"the array 'X' (shape ({len(X)}, 3), dtype float64) was rejected",
        "(n_samples, 4)",
    )


def test_predict_unreachable_url_is_named(tmp_path):
    np.savez(tmp_path / "x.npz", X=np.zeros((3, 2)))
    url = f"http://127.0.0.1:{free_port()}"
    result = run("predict", url, "--npz", str(tmp_path / "x.npz"))
    assert_one_line_error(result, f"{url}/predict is unreachable")


def test_predict_csv_with_non_numeric_columns_names_them(tmp_path):
    pd.DataFrame({"a": [1.0, 2.0], "colour": ["red", "blue"], "b": [1, 2]}).to_csv(
        tmp_path / "x.csv", index=False
    )
    result = run("predict", "127.0.0.1:1", "--csv", str(tmp_path / "x.csv"))
    assert_one_line_error(result, "non-numeric column(s) 'colour'")
    assert "'a'" not in result.stderr


@pytest.mark.parametrize(
    ("arrays", "fragments"),
    [
        ({"features": np.zeros((2, 2))}, ["no array 'X'", "'features'"]),
        ({"X": np.zeros(3)}, ["shape (3,)", "2-d"]),
        ({"X": np.array([["a", "b"]])}, ["not numeric"]),
    ],
)
def test_predict_unusable_npz_is_one_line(tmp_path, arrays, fragments):
    np.savez(tmp_path / "x.npz", **arrays)
    result = run("predict", "127.0.0.1:1", "--npz", str(tmp_path / "x.npz"))
    assert_one_line_error(result, str(tmp_path / "x.npz"), *fragments)


def test_predict_missing_file_is_one_line(tmp_path):
    result = run("predict", "127.0.0.1:1", "--csv", str(tmp_path / "none.csv"))
    assert_one_line_error(result, "none.csv")


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["--csv=a.csv", "--npz=a.npz"],
        ["--csv=a.csv", "--output=y.txt"],
    ],
)
def test_predict_usage_errors(args):
    result = run("predict", "127.0.0.1:1", *args)
    assert result.returncode == 2, result.stderr


def test_predict_bad_url_is_a_usage_error(tmp_path):
    result = run("predict", "nowhere", "--csv=a.csv")
    assert result.returncode == 2
    assert "HOST:PORT" in result.stderr


@pytest.mark.slow
def test_predict_rows_of_several_values_are_comma_separated(emulator, tmp_path):
    # versioned_app predicts [fit version, worker pid] for every row.
    server = serve_fitted(
        emulator,
        tmp_path,
        "versioned_app:application",
        {"MODEL_FILE": str(tmp_path / "m.pkl")},
        "--chdir",
        str(OUR_APPS),
    )
    try:
        X = np.arange(12.0).reshape(4, 3)
        np.savez(tmp_path / "x.npz", X=X)
        expected = direct_prediction(server.url, X)
        assert expected.shape == (4, 2)
        result = run("predict", server.url, "--npz", str(tmp_path / "x.npz"))
        assert result.returncode == 0, result.stderr
        assert result.stderr == ""
        assert result.stdout.splitlines() == [
            f"{version},{pid}" for version, pid in expected.tolist()
        ]
        output = tmp_path / "y.csv"
        result = run(
            "predict", server.url, "--npz", str(tmp_path / "x.npz"), "-o", str(output)
        )
        assert result.returncode == 0, result.stderr
        table = pd.read_csv(output)
        assert list(table.columns) == ["prediction_0", "prediction_1"]
        np.testing.assert_array_equal(table.to_numpy(), expected)
    finally:
        server.stop()
