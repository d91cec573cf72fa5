"""The tabular template against the real anomed-challenge tabular server (and
our emulator): the challenge scores our multipart upload, and the upstream
codec reads our /anon_data and /anon_data_scheme."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import requests

from anomed_anonymizer.emulator import adult_like
from anomed_anonymizer.server import ReleaseStore
from anomed_anonymizer.wire import decode_table, encode_table
from helpers import PEER_APPS, free_port, gunicorn_argv, start_server

pytestmark = [pytest.mark.interop, pytest.mark.slow]

OUR_APPS = Path(__file__).parent / "our_apps"
ROWS = 1000


@pytest.fixture(scope="module")
def table_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("tabular") / "leaky.parquet"
    path.write_bytes(encode_table(adult_like(ROWS, seed=3)))
    return path


@pytest.fixture(scope="module")
def real_tabular_challenge(peers, platform, table_file, work_dir):
    port = free_port()
    server = start_server(
        "real-tabular-challenge",
        gunicorn_argv(
            peers, "tabular_challenge_app:application", port, chdir=PEER_APPS
        ),
        port,
        work_dir,
        env={
            "TABLE_PARQUET": str(table_file),
            "SENSITIVE_COLUMN": "income",
            "ANOMED_HOST": platform.server.host,
        },
    )
    yield server
    server.stop()


@pytest.fixture(scope="module")
def emulated_tabular_challenge(table_file, work_dir):
    port = free_port()
    server = start_server(
        "emulated-tabular-challenge",
        [
            str(Path(sys.executable).with_name("anomed-anonymizer")),
            "emulate-challenge",
            "--kind=tabular",
            f"--dataset={table_file}",
            "--sensitive=income",
            f"--port={port}",
        ],
        port,
        work_dir,
    )
    yield server
    server.stop()


@pytest.fixture(scope="module", params=["anomed-challenge", "emulator"])
def tabular_challenge(request):
    name = request.param
    return request.getfixturevalue(
        "real_tabular_challenge"
        if name == "anomed-challenge"
        else "emulated_tabular_challenge"
    )


@pytest.fixture(scope="module")
def tabular_anonymizer(tabular_challenge, tmp_path_factory, work_dir):
    port = free_port()
    output_dir = tmp_path_factory.mktemp("release")
    server = start_server(
        f"tabular-anonymizer-for-{tabular_challenge.name}",
        gunicorn_argv(
            sys.executable, "tabular_app:application", port, workers=2, chdir=OUR_APPS
        ),
        port,
        work_dir,
        env={
            "CHALLENGE_HOST": tabular_challenge.host,
            "OUTPUT_DIR": str(output_dir),
        },
    )
    server.output_dir = output_dir
    yield server
    server.stop()


def test_fit_and_evaluate_against_the_challenge(tabular_challenge, tabular_anonymizer):
    fit = requests.post(f"{tabular_anonymizer.url}/fit", timeout=120)
    assert fit.status_code == 201, fit.text
    assert fit.json()["scheme"] == "generalization"
    assert "report" not in fit.json()  # computed on the leaky table: never served
    evaluation = requests.post(f"{tabular_anonymizer.url}/evaluate", timeout=120)
    assert evaluation.status_code == 201, (
        evaluation.text + tabular_challenge.log()[-2000:]
    )
    scores = evaluation.json()["evaluation"]
    if tabular_challenge.name.startswith("real"):
        # The real challenge parsed our multipart upload: rows, columns, scheme.
        release = decode_table(
            requests.get(f"{tabular_anonymizer.url}/anon_data").content
        )
        assert scores == {
            "rows": float(ROWS),
            "columns": float(release.shape[1]),
            "known_scheme": 1.0,
            "leaky_rows": float(ROWS),
        }
    else:
        assert 0.0 < scores["utility"] < 1.0
        assert scores["utility"] == pytest.approx(1.0 - scores["ncp"])
        # Our anonymizer's report (kept with the release) and our
        # challenge's score: one number.
        report = ReleaseStore(tabular_anonymizer.output_dir).latest().report
        assert report["ncp"] == scores["ncp"]


def test_upstream_codec_reads_our_release(peers, tabular_anonymizer):
    requests.post(f"{tabular_anonymizer.url}/fit", timeout=120).raise_for_status()
    script = textwrap.dedent(
        f"""
        import anomed_utils, requests
        url = "{tabular_anonymizer.url}"
        table = anomed_utils.get_dataframe_or_raise(url + "/anon_data", timeout=30)
        scheme = requests.get(url + "/anon_data_scheme", timeout=30)
        print(table.shape[0], "age_min" in table.columns, scheme.json()["scheme"])
        """
    )
    result = subprocess.run(
        [str(peers), "-c", script], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [str(ROWS), "True", "generalization"]


@pytest.mark.parametrize(
    "route", ["/data/anonymizer/leaky", "/data/deanonymizer/background-knowledge"]
)
def test_emulator_serves_the_same_tables_as_the_real_challenge(
    real_tabular_challenge, emulated_tabular_challenge, route
):
    real = decode_table(
        requests.get(real_tabular_challenge.url + route, timeout=30).content
    )
    ours = decode_table(
        requests.get(emulated_tabular_challenge.url + route, timeout=30).content
    )
    assert list(ours.columns) == list(real.columns)
    assert ours.shape == real.shape
    for column in real.columns:
        assert ours[column].astype(str).tolist() == real[column].astype(str).tolist(), (
            column
        )
