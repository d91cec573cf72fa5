"""The real ``anomed-challenge`` tabular data-reconstruction challenge.

``TABLE_PARQUET`` is the leaky table; the background knowledge is the seeded
20 % sample without ``SENSITIVE_COLUMN``, as our emulator draws it. The
evaluators report what they received, so the tests can check that the
upload arrived intact. Runs in the peers' environment, under gunicorn.
"""

import os

import anomed_challenge as anochal
import pandas as pd

leaky = pd.read_parquet(os.environ["TABLE_PARQUET"])
sensitive = os.environ["SENSITIVE_COLUMN"]
background = leaky.sample(frac=0.2, random_state=42).drop(columns=[sensitive])


def utility(anonymized, scheme, leaky_data):
    return {
        "rows": float(len(anonymized)),
        "columns": float(anonymized.shape[1]),
        "known_scheme": float(scheme in ("same", "generalization", "microaggregation")),
        "leaky_rows": float(len(leaky_data)),
    }


def privacy(reconstructed, leaky_data):
    return {"rows": float(len(reconstructed))}


application = anochal.tabular_data_reconstruction_challenge_server_factory(
    anochal.TabularDataReconstructionChallenge(
        leaky_data=leaky,
        background_knowledge=background,
        utility_evaluator=utility,
        privacy_evaluator=privacy,
    )
)
