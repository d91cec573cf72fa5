"""A built-in table anonymizer behind the tabular server template, chosen by
the environment, so that ``demo --kind tabular`` can serve each in turn.

Environment: ``CHALLENGE_HOST`` (host:port), ``ANOMED_TABULAR_ANONYMIZER``
(``mondrian`` (default), ``mdav`` or ``dp-synthesis``), ``ANOMED_K`` (k of
Mondrian and MDAV, default 10), ``ANOMED_EPSILON`` (of DP synthesis, default
1.0), ``ANOMED_QUASI_IDENTIFIERS`` (JSON list; default: the Adult-like
table's demographics), ``ANOMED_SEED`` (DP synthesis' ``random_state``;
unset, none: a seed anyone can read here would make MST's exponential
mechanism predictable, so only a demo that wants repeatable runs sets it),
``ANOMED_OUTPUT_DIR`` (where the release lives, default ``release``).

The defaults fit the emulator's Adult-like table: DP synthesis is given the
table's public codebook as declared domains. Serve with
``anomed-anonymizer serve anomed_anonymizer.examples.tabular_builtin:application``.
"""

from __future__ import annotations

import json
import os

import anomed_anonymizer as anon
from anomed_anonymizer.emulator.adult import ADULT_QUASI_IDENTIFIERS, adult_domains
from anomed_anonymizer.tabular import (
    DPSynthesizer,
    MDAVMicroaggregator,
    MondrianKAnonymizer,
)

kind = os.environ.get("ANOMED_TABULAR_ANONYMIZER", "mondrian")
k = int(os.environ.get("ANOMED_K", "10"))
quasi_identifiers = json.loads(
    os.environ.get("ANOMED_QUASI_IDENTIFIERS", json.dumps(ADULT_QUASI_IDENTIFIERS))
)

if kind == "mondrian":
    anonymizer = MondrianKAnonymizer(quasi_identifiers, k=k)
elif kind == "mdav":
    # MDAV aggregates numbers; nominal quasi-identifiers stay as they are.
    anonymizer = MDAVMicroaggregator(k=k)
elif kind == "dp-synthesis":
    seed = os.environ.get("ANOMED_SEED")
    anonymizer = DPSynthesizer(
        epsilon=float(os.environ.get("ANOMED_EPSILON", "1.0")),
        domains=adult_domains(),  # the table's codebook: no budget spent on it
        random_state=None if seed is None else int(seed),
    )
else:
    raise ValueError(
        f"ANOMED_TABULAR_ANONYMIZER={kind!r}: expected mondrian, mdav or dp-synthesis"
    )

hostname = os.environ["CHALLENGE_HOST"]
application = anon.tabular_data_anonymizer_server_factory(
    anonymizer_identifier=f"demo_{kind}",
    anonymizer_obj=anonymizer,
    output_dir=os.environ.get("ANOMED_OUTPUT_DIR", "release"),
    leaky_data_url=f"http://{hostname}/data/anonymizer/leaky",
    utility_evaluation_url=f"http://{hostname}/utility/anonymizer",
)
