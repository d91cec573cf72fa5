"""The privacy guarantees, checked on the released table by an independent
library: pycanon computes k (and l) from the release alone, with code that
shares nothing with ours (not even the test helpers that re-implement
Mondrian)."""

from __future__ import annotations

import pandas as pd
import pytest
from pycanon import anonymity

from anomed_anonymizer.emulator import adult_like
from anomed_anonymizer.tabular import MDAVMicroaggregator, MondrianKAnonymizer


def released_columns(anon: pd.DataFrame, label) -> list[str]:
    """The columns of a generalization release that represent ``label``."""
    return [c for c in anon.columns if c in (f"{label}_min", f"{label}_max")] or [
        c for c in anon.columns if c.startswith(f"{label}=")
    ]


def one_hot_decoded(anon: pd.DataFrame, label) -> pd.Series:
    """A column released one-hot (not a quasi-identifier), as its values."""
    indicators = anon[released_columns(anon, label)]
    return indicators.idxmax(axis=1).str.split("=", n=1).str[1]


@pytest.mark.parametrize(
    ("table_name", "qis", "k", "sensitive", "l"),
    [
        ("mixed", ["age", "city", "plan", "smoker"], 7, None, None),
        ("mixed", ["age", "height", "city"], 5, "disease", 3),
        (
            "adult",
            ["age", "sex", "race", "education", "hours-per-week"],
            10,
            None,
            None,
        ),
        ("adult", ["age", "marital-status", "occupation"], 8, "income", 2),
    ],
)
def test_mondrian_release_is_k_anonymous_and_l_diverse(
    mixed_table,
    table_name,
    qis,
    k,
    sensitive,
    l,  # noqa: E741
):
    table = mixed_table if table_name == "mixed" else adult_like(2000, seed=21)
    anonymizer = MondrianKAnonymizer(qis, k=k, sensitive_column=sensitive, l=l)
    anon, _ = anonymizer.anonymize(table)
    released_qis = [c for q in qis for c in released_columns(anon, q)]

    measured_k = anonymity.k_anonymity(anon, released_qis)
    assert measured_k >= k
    assert measured_k == anonymizer.report_["min_class_size"]
    if sensitive is not None:
        # pycanon addresses rows by position: give it a default index.
        frame = anon[released_qis].assign(
            **{sensitive: one_hot_decoded(anon, sensitive)}
        )
        frame = frame.reset_index(drop=True)
        assert frame[sensitive].tolist() == table[sensitive].astype(str).tolist()
        assert anonymity.l_diversity(frame, released_qis, [sensitive]) >= l


@pytest.mark.parametrize("k", [3, 6, 11])
def test_mdav_release_is_k_anonymous_on_the_aggregated_columns(mixed_table, k):
    columns = ["age", "height", "children"]
    anon, _ = MDAVMicroaggregator(columns=columns, k=k).anonymize(mixed_table)
    assert anonymity.k_anonymity(anon, columns) >= k
