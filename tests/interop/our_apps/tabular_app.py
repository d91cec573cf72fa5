"""A k-anonymous release (Mondrian, k=10) of the challenge's leaky table.
``CHALLENGE_TIMEOUT`` sets the timeouts for the challenge (default 10 s)."""

import os

import anomed_anonymizer as anon
from anomed_anonymizer.tabular import MondrianKAnonymizer

hostname = os.environ["CHALLENGE_HOST"]
application = anon.tabular_data_anonymizer_server_factory(
    anonymizer_identifier="mondrian",
    anonymizer_obj=MondrianKAnonymizer(
        quasi_identifiers=["age", "sex", "race", "education", "hours-per-week"], k=10
    ),
    output_dir=os.environ["OUTPUT_DIR"],
    leaky_data_url=f"http://{hostname}/data/anonymizer/leaky",
    utility_evaluation_url=f"http://{hostname}/utility/anonymizer",
    download_timeout=float(os.environ.get("CHALLENGE_TIMEOUT", 10)),
    upload_timeout=float(os.environ.get("CHALLENGE_TIMEOUT", 10)),
)
