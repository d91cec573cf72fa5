"""One test per promise of each route of the tabular anonymizer server.

The challenge is our emulator (proven wire-identical to the real one in
tests/interop), served in a thread.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import textwrap

import falcon.testing
import pandas as pd
import pyarrow.parquet as pq
import pytest

import anomed_anonymizer as anon
from anomed_anonymizer.emulator import ReconstructionChallenge, tabular_challenge_app
from anomed_anonymizer.server import ReleaseStore
from anomed_anonymizer.tabular import MDAVMicroaggregator, MondrianKAnonymizer
from anomed_anonymizer.wire import decode_table

from .conftest import serve_in_thread

LEAKY = pd.DataFrame(
    {
        "age": [23, 35, 47, 52, 61, 29, 33, 41, 58, 66, 25, 38],
        "zip": ["a", "b", "a", "c", "b", "a", "c", "b", "a", "c", "b", "a"],
        "disease": ["x", "y", "x", "z", "y", "x", "z", "y", "x", "z", "y", "x"],
    }
)


class Identity(anon.TabularDataAnonymizer):
    """Releases the table as it is (scheme 'same')."""

    def __init__(self, scheme="same"):
        self.scheme = scheme

    def anonymize(self, leaky_data):
        return leaky_data.copy(), self.scheme


class Reported(Identity):
    """Identity with a report_, as the built-in anonymizers have."""

    def anonymize(self, leaky_data):
        self.report_ = {"rows": len(leaky_data)}
        return super().anonymize(leaky_data)


class Refusing(anon.TabularDataAnonymizer):
    def anonymize(self, leaky_data):
        raise ValueError("column 'age' has 3 missing values")


@pytest.fixture
def challenge():
    emulated = ReconstructionChallenge(LEAKY, sensitive="disease")
    posted = []
    app = tabular_challenge_app(emulated, anomed_host="")

    class Recorder:
        def process_request(self, req, resp):
            if req.path == "/utility/anonymizer":
                posted.append(dict(req.params))

    app.add_middleware(Recorder())
    with serve_in_thread(app) as url:
        yield url, posted


def make_client(url, tmp_path, anonymizer=None):
    app = anon.tabular_data_anonymizer_server_factory(
        anonymizer_identifier="tab",
        anonymizer_obj=anonymizer or MondrianKAnonymizer(["age", "zip"], k=3),
        output_dir=tmp_path / "out",
        leaky_data_url=f"{url}/data/anonymizer/leaky",
        utility_evaluation_url=f"{url}/utility/anonymizer",
    )
    return falcon.testing.TestClient(app)


def test_alive(challenge, tmp_path):
    client = make_client(challenge[0], tmp_path)
    assert client.simulate_get("/").json == {"message": "Anonymizer server is alive!"}


@pytest.mark.parametrize("route", ["/anon_data", "/anon_data_scheme"])
def test_data_before_any_fit_is_503(challenge, tmp_path, route):
    result = make_client(challenge[0], tmp_path).simulate_get(route)
    assert result.status_code == 503
    assert "POST /fit first" in result.json["description"]


def test_evaluate_before_any_fit_is_503(challenge, tmp_path):
    result = make_client(challenge[0], tmp_path).simulate_post("/evaluate")
    assert result.status_code == 503


def persisted_report(tmp_path) -> dict:
    """The report kept with the release in ``tmp_path / "out"``."""
    return anon.PersistingTabularDataAnonymizer(
        Identity(), tmp_path / "out"
    ).get_report()


def test_fit_anonymizes_and_serves_table_and_scheme(challenge, tmp_path):
    client = make_client(challenge[0], tmp_path)
    fit = client.simulate_post("/fit")
    assert fit.status_code == 201, fit.text
    assert fit.json["scheme"] == "generalization"
    # The report is computed on the leaky data: no answer carries it.
    assert "report" not in fit.json
    assert "min_class_size" not in fit.text
    assert persisted_report(tmp_path)["min_class_size"] >= 3
    table = decode_table(client.simulate_get("/anon_data").content)
    assert list(table.columns[:2]) == ["age_min", "age_max"]
    assert len(table) == len(LEAKY)
    assert (table.groupby(["age_min", "age_max"]).size() >= 3).all()
    assert client.simulate_get("/anon_data_scheme").json == {"scheme": "generalization"}


def test_evaluate_uploads_multipart_and_returns_the_challenges_json(
    challenge, tmp_path
):
    url, posted = challenge
    client = make_client(url, tmp_path)
    fit = client.simulate_post("/fit")
    result = client.simulate_post("/evaluate")
    assert result.status_code == 201, result.text
    evaluation = result.json["evaluation"]
    assert 0.0 < evaluation["ncp"] < 1.0
    assert evaluation["utility"] == pytest.approx(1 - evaluation["ncp"])
    assert posted == [{"anonymizer": "tab"}]
    # The report kept with the release is what the challenge scores, to the
    # last bit.
    assert fit.status_code == 201
    assert persisted_report(tmp_path)["ncp"] == evaluation["ncp"]


def test_microaggregation_report_equals_the_challenges_score(challenge, tmp_path):
    client = make_client(challenge[0], tmp_path, MDAVMicroaggregator(k=3))
    assert client.simulate_post("/fit").status_code == 201
    evaluation = client.simulate_post("/evaluate").json["evaluation"]
    assert persisted_report(tmp_path)["information_loss"] == evaluation["sse_sst"]
    assert 0.0 < evaluation["sse_sst"] < 1.0


def test_restarted_server_serves_what_was_persisted(challenge, tmp_path):
    first = make_client(challenge[0], tmp_path, Identity())
    first.simulate_post("/fit")
    restarted = make_client(challenge[0], tmp_path, Identity())
    table = decode_table(restarted.simulate_get("/anon_data").content)
    pd.testing.assert_frame_equal(table, LEAKY)
    assert restarted.simulate_get("/anon_data_scheme").json == {"scheme": "same"}


def test_a_refused_anonymization_is_a_502_and_keeps_the_previous_release(
    challenge, tmp_path
):
    """The anonymizer rejecting the challenge's data is the challenge's data
    problem: 502, as in the supervised server."""
    make_client(challenge[0], tmp_path, Identity()).simulate_post("/fit")
    client = make_client(challenge[0], tmp_path, Refusing())
    result = client.simulate_post("/fit")
    assert result.status_code == 502  # the challenge's table, not our failure
    assert result.json["title"] == "Data rejected by the anonymizer"
    assert "column 'age' has 3 missing values" in result.json["description"]
    assert "/data/anonymizer/leaky" not in result.text
    assert client.simulate_get("/anon_data_scheme").json == {"scheme": "same"}


@pytest.mark.parametrize(
    ("anonymizer", "fragment"),
    [
        (Identity(scheme="k-anonymity"), "scheme 'k-anonymity'"),
        (type("NotATable", (), {"anonymize": lambda self, t: ("x", "same")})(), "str"),
        (type("OneValue", (), {"anonymize": lambda self, t: t})(), "(anonymized table"),
    ],
    ids=["unknown-scheme", "not-a-dataframe", "not-a-tuple"],
)
def test_unreleasable_output_is_a_json_500_saying_why(
    challenge, tmp_path, anonymizer, fragment
):
    result = make_client(challenge[0], tmp_path, anonymizer).simulate_post("/fit")
    assert result.status_code == 500
    assert fragment in result.json["description"]
    assert not (tmp_path / "out" / "anon_data.parquet").exists()


def test_concurrent_fit_is_503(challenge, tmp_path):
    client = make_client(challenge[0], tmp_path, Identity())
    with ReleaseStore(tmp_path / "out").writing():
        result = client.simulate_post("/fit")
    assert result.status_code == 503
    assert result.headers["Retry-After"] == "5"
    assert "anonymization is already in progress" in result.json["description"]
    assert client.simulate_post("/fit").status_code == 201, "free again afterwards"


def test_unreachable_challenge_is_503_logging_the_url(tmp_path, caplog):
    client = make_client("http://127.0.0.1:9", tmp_path)
    result = client.simulate_post("/fit")
    assert result.status_code == 503
    assert "unreachable" in result.json["description"]
    assert "127.0.0.1:9" not in result.text
    assert any(
        "http://127.0.0.1:9/data/anonymizer/leaky" in record.getMessage()
        for record in caplog.records
    )


def test_scheme_table_and_report_are_replaced_together(tmp_path):
    """A reader never sees a new table with an old scheme or report: all three
    live in one file that is replaced by one rename."""
    anon.PersistingTabularDataAnonymizer(Identity("same"), tmp_path).anonymize(LEAKY)
    reader = anon.PersistingTabularDataAnonymizer(Identity(), tmp_path)
    before = reader.release()
    anon.PersistingTabularDataAnonymizer(
        Reported(scheme="microaggregation"), tmp_path
    ).anonymize(LEAKY.assign(age=LEAKY.age * 2))
    after = reader.release()

    assert (before.scheme, before.report) == ("same", None)
    assert (after.scheme, after.report) == ("microaggregation", {"rows": 12})
    for release, factor in ((before, 1), (after, 2)):
        assert release.table()["age"].tolist() == (LEAKY.age * factor).tolist()
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "anon_data.parquet",
        "anon_data.parquet.lock",
    ]


def test_the_report_is_kept_but_not_published(challenge, tmp_path):
    """report_ is computed on the leaky table: it is kept with the release
    and survives a restart, but no answer carries it."""
    fit = make_client(challenge[0], tmp_path, Reported()).simulate_post("/fit")
    assert fit.status_code == 201
    assert "report" not in fit.json
    restarted = anon.PersistingTabularDataAnonymizer(Identity(), tmp_path / "out")
    assert restarted.get_report() == {"rows": 12}
    published = make_client(challenge[0], tmp_path).simulate_get("/anon_data")
    metadata = pq.read_schema(io.BytesIO(published.content)).metadata
    assert metadata[b"anomed.scheme"] == b"same"
    assert not any(b"report" in key for key in metadata)
    assert b"rows" not in published.content


def test_killed_anonymization_keeps_the_previous_release(tmp_path):
    persisting = anon.PersistingTabularDataAnonymizer(Identity(), tmp_path)
    persisting.anonymize(LEAKY)
    script = textwrap.dedent(
        f"""
        import os
        import pandas as pd
        import pyarrow.parquet as pq
        import anomed_anonymizer as anon

        class Dying(anon.TabularDataAnonymizer):
            def anonymize(self, table):
                return table, "same"

        def dying_write(table, path, **kwargs):
            open(path, "wb").write(b"PAR1 half")
            os._exit(9)

        pq.write_table = dying_write
        persisting = anon.PersistingTabularDataAnonymizer(Dying(), {str(tmp_path)!r})
        persisting.anonymize(pd.DataFrame({{"a": [1]}}))
        """
    )
    assert subprocess.run([sys.executable, "-c", script], check=False).returncode == 9
    pd.testing.assert_frame_equal(persisting.get_anon_data(), LEAKY)
    assert json.loads(json.dumps(persisting.get_anon_scheme())) == "same"


def test_leaky_table_with_nan_is_a_json_error_naming_the_column(tmp_path):
    leaky = LEAKY.astype({"age": "float64"})
    leaky.loc[[2, 5], "age"] = float("nan")
    app = tabular_challenge_app(ReconstructionChallenge(leaky), anomed_host="")
    with serve_in_thread(app) as url:
        result = make_client(url, tmp_path).simulate_post("/fit")
    assert result.status_code == 502
    assert result.json["title"] == "Data rejected by the anonymizer"
    assert "'age'" in result.json["description"]
    assert "/data/anonymizer/leaky" not in result.text
