"""DP synthesis served by the tabular template: the budget is recorded next to
the table, the non-private utility report is not served."""

from __future__ import annotations

import io
import json

import falcon.testing
import pyarrow.parquet as pq
import pytest

import anomed_anonymizer as anon
from anomed_anonymizer.emulator import (
    ReconstructionChallenge,
    adult_like,
    tabular_challenge_app,
)
from anomed_anonymizer.tabular import DPSynthesizer

from ..conftest import serve_in_thread

pytest.importorskip("snsynth", reason="install the 'synth' extra")

pytestmark = pytest.mark.slow


def test_synthetic_release_records_its_budget_and_keeps_columns_and_dtypes(tmp_path):
    leaky = adult_like(1500, seed=9)[["age", "sex", "race", "hours-per-week"]]
    challenge = ReconstructionChallenge(leaky)
    with serve_in_thread(tabular_challenge_app(challenge, anomed_host="")) as url:
        app = anon.tabular_data_anonymizer_server_factory(
            anonymizer_identifier="synth",
            anonymizer_obj=DPSynthesizer(
                epsilon=2.0, bounds={"age": (17, 90), "hours-per-week": (1, 99)}
            ),
            output_dir=tmp_path,
            leaky_data_url=f"{url}/data/anonymizer/leaky",
            utility_evaluation_url=f"{url}/utility/anonymizer",
        )
        client = falcon.testing.TestClient(app)
        fit = client.simulate_post("/fit")
        assert fit.status_code == 201, fit.text
        assert fit.json["scheme"] == "same"
        assert 0 < fit.json["budget"]["epsilon"] <= 2.0
        evaluation = client.simulate_post("/evaluate")
        assert evaluation.status_code == 201, evaluation.text
        assert 0.0 <= evaluation.json["evaluation"]["marginal_tvd"] <= 1.0

    served = client.simulate_get("/anon_data").content
    release = pq.read_table(io.BytesIO(served))
    metadata = release.schema.metadata
    budget = json.loads(metadata[b"anomed.budget"])
    assert budget["epsilon"] == fit.json["budget"]["epsilon"]
    assert b"anomed.report" not in metadata, "utility on leaky data must not be served"
    table = release.to_pandas()
    assert list(table.columns) == list(leaky.columns)
    assert table.dtypes.astype(str).tolist() == leaky.dtypes.astype(str).tolist()
    assert len(table) == len(leaky)
