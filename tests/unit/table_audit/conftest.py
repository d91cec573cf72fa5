"""Tables, releases and the emulated challenge's score, for the audit tests."""

from __future__ import annotations

import pandas as pd
import pytest
from falcon import testing

from anomed_anonymizer.emulator import (
    ReconstructionChallenge,
    adult_like,
    tabular_challenge_app,
)
from anomed_anonymizer.wire import encode_multipart, encode_table

QUASI_IDENTIFIERS = ["age", "sex", "race", "education"]


class Identity:
    """The "anonymizer" that releases the leaky table as it is."""

    def anonymize(self, table: pd.DataFrame) -> tuple[pd.DataFrame, str]:
        return table.copy(), "same"


@pytest.fixture(scope="session")
def adult() -> pd.DataFrame:
    return adult_like(500, seed=5)


def challenge_score(original: pd.DataFrame, release: pd.DataFrame, scheme: str):
    """What the emulated challenge answers for ``release`` of ``original``,
    over its real route (multipart upload, JSON answer)."""
    client = testing.TestClient(
        tabular_challenge_app(ReconstructionChallenge(original))
    )
    body, content_type = encode_multipart(
        {"anon_data": encode_table(release), "anon_scheme": scheme.encode()}
    )
    response = client.simulate_post(
        "/utility/anonymizer",
        params={"anonymizer": "audit-test"},
        body=body,
        headers={"Content-Type": content_type},
    )
    assert response.status_code == 201, response.text
    return response.json
