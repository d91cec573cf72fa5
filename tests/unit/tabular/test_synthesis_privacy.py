"""GET /privacy of a served DP synthesizer: the budget recorded with the release."""

from __future__ import annotations

import falcon.testing
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


def test_privacy_route_serves_the_synthesizers_budget_also_after_a_restart(tmp_path):
    leaky = adult_like(400, seed=4)[["age", "sex"]]
    with serve_in_thread(
        tabular_challenge_app(ReconstructionChallenge(leaky), anomed_host="")
    ) as url:

        def app():
            return anon.tabular_data_anonymizer_server_factory(
                anonymizer_identifier="synth",
                anonymizer_obj=DPSynthesizer(epsilon=1.5, bounds={"age": (17, 90)}),
                output_dir=tmp_path,
                leaky_data_url=f"{url}/data/anonymizer/leaky",
                utility_evaluation_url=f"{url}/utility/anonymizer",
            )

        client = falcon.testing.TestClient(app())
        fit = client.simulate_post("/fit")
        assert fit.status_code == 201, fit.text
    privacy = client.simulate_get("/privacy").json
    assert privacy == fit.json["privacy"]
    assert privacy["mechanism"].startswith("smartnoise-synth")
    assert 0 < privacy["epsilon"] <= 1.5
    assert privacy["epsilon"] == fit.json["budget"]["epsilon"]
    assert privacy["delta"] == fit.json["budget"]["delta"]
    assert privacy["accountant"].startswith("sequential")
    restarted = falcon.testing.TestClient(app())
    assert restarted.simulate_get("/privacy").json == privacy
