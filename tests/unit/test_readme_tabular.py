"""The README's tabular example, run as written against the tabular emulator."""

from __future__ import annotations

import falcon.testing

from anomed_anonymizer.emulator import (
    ReconstructionChallenge,
    adult_like,
    tabular_challenge_app,
)
from anomed_anonymizer.wire import decode_table
from docs_blocks import doc_block

from .conftest import serve_in_thread


def tabular_example() -> str:
    return doc_block("tabular-example")


def test_readme_tabular_example_fits_evaluates_and_releases(tmp_path, monkeypatch):
    challenge = ReconstructionChallenge(adult_like(500, seed=5))
    with serve_in_thread(tabular_challenge_app(challenge, anomed_host="")) as url:
        monkeypatch.setenv("CHALLENGE_HOST", url.removeprefix("http://"))
        monkeypatch.chdir(tmp_path)
        namespace: dict = {}
        exec(compile(tabular_example(), "tabular-example", "exec"), namespace)
        client = falcon.testing.TestClient(namespace["application"])
        assert client.simulate_post("/fit").status_code == 201
        evaluation = client.simulate_post("/evaluate")
        assert evaluation.status_code == 201, evaluation.text
        assert 0.0 < evaluation.json["evaluation"]["utility"] < 1.0
    release = decode_table(client.simulate_get("/anon_data").content)
    generalized = [
        column
        for column in release.columns
        if column in ("age_min", "age_max")
        or column.split("=")[0] in ("sex", "race", "education")
    ]
    assert len(generalized) > 2
    assert release.groupby(generalized).size().min() >= 10  # k in the README
    assert (tmp_path / "release" / "anon_data.parquet").is_file()
