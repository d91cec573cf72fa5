"""Tables shared by the tabular anonymizer tests."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest


@pytest.fixture
def mixed_table() -> pd.DataFrame:
    """A small mixed-dtype table with ties, skewed categories and a bool."""
    rng = np.random.default_rng(7)
    n = 240
    return pd.DataFrame(
        {
            "age": rng.integers(18, 70, n),
            "height": np.round(rng.normal(170, 10, n), 1),
            "city": rng.choice(
                ["Berlin", "Bonn", "Essen", "Kiel"], n, p=[0.55, 0.25, 0.15, 0.05]
            ),
            "smoker": rng.random(n) < 0.3,
            "plan": pd.Categorical(
                rng.choice(["basic", "plus"], n), categories=["plus", "basic", "gold"]
            ),
            "children": rng.integers(0, 4, n),
            "disease": rng.choice(["flu", "cold", "hiv", "none"], n),
        },
        index=pd.RangeIndex(1000, 1000 + n),
    )
