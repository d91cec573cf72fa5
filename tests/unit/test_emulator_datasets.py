"""The emulator's data: embedded defaults and the user's own files."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from anomed_anonymizer.emulator import EMBEDDED_DATASETS, MIAChallenge, load_dataset
from anomed_anonymizer.emulator.datasets import read_csv_table
from anomed_anonymizer.wire import encode_named_arrays


@pytest.mark.parametrize("name", EMBEDDED_DATASETS)
def test_embedded_datasets_load_as_float_features(name):
    data = load_dataset(name)
    assert data.X.dtype == np.float64
    assert data.X.ndim == 2 and len(data.X) == len(data.y)
    assert data.n_classes >= 2


def test_npz_with_named_target(tmp_path):
    path = tmp_path / "d.npz"
    path.write_bytes(
        encode_named_arrays({"X": np.ones((20, 3)), "label": np.arange(20)})
    )
    data = load_dataset(str(path), target="label")
    assert data.X.shape == (20, 3)
    np.testing.assert_array_equal(data.y, np.arange(20))


def test_parquet_with_target_column(tmp_path):
    table = pd.DataFrame({"a": np.arange(30.0), "b": np.ones(30), "t": [0, 1] * 15})
    table.to_parquet(tmp_path / "d.parquet")
    data = load_dataset(str(tmp_path / "d.parquet"), target="t")
    assert data.X.shape == (30, 2)


@pytest.mark.parametrize(
    ("setup", "target", "fragment"),
    [
        (lambda p: p.write_text("x"), None, "expected a .npz, .csv or .parquet"),
        (
            lambda p: pd.DataFrame({"a": ["x", "y"], "t": [0, 1]}).to_csv(
                p, index=False
            ),
            "t",
            r"encode \['a'\] first",
        ),
        (
            lambda p: pd.DataFrame({"a": [1.0, None], "t": [0, 1]}).to_csv(
                p, index=False
            ),
            "t",
            "missing values",
        ),
    ],
    ids=["unknown-suffix", "non-numeric", "nan"],
)
def test_unusable_files_say_why(tmp_path, setup, target, fragment):
    path = tmp_path / ("d.txt" if target is None else "d.csv")
    setup(path)
    with pytest.raises(ValueError, match=fragment):
        load_dataset(str(path), target=target)


def test_npz_without_x_says_so(tmp_path):
    path = tmp_path / "d.npz"
    path.write_bytes(
        encode_named_arrays({"features": np.ones((4, 2)), "y": np.ones(4)})
    )
    with pytest.raises(ValueError, match="'X'"):
        load_dataset(str(path))


def test_too_long_attack_evaluation_is_refused():
    with pytest.raises(ValueError, match="mia_evaluation_length must be between 1 and"):
        MIAChallenge(load_dataset("iris"), mia_evaluation_length=500)


def test_same_seed_same_members_other_seed_other_members():
    data = load_dataset("wine")
    a, b, c = (MIAChallenge(data, seed=s) for s in (1, 1, 2))
    np.testing.assert_array_equal(a.members[0], b.members[0])
    assert not np.array_equal(a.members[0], c.members[0])


def test_csv_keeps_identifiers_with_leading_zeros_or_plus_as_text(tmp_path):
    path = tmp_path / "people.csv"
    path.write_text(
        "zip,phone,age,score,city_code,flag\n"
        "01234,+4930123,30,0.5,10115,True\n"
        "10115,+4989456,41,-0.25,80331,False\n"
        "80331,,57,,01067,True\n"
    )
    table = read_csv_table(path)
    assert table["zip"].tolist() == ["01234", "10115", "80331"]
    assert table["phone"].tolist()[:2] == ["+4930123", "+4989456"]
    assert pd.isna(table["phone"].iloc[2])
    assert table["city_code"].tolist() == ["10115", "80331", "01067"]
    assert pd.api.types.is_integer_dtype(table["age"])
    assert pd.api.types.is_float_dtype(table["score"])  # 0.5 is no identifier
    assert pd.api.types.is_bool_dtype(table["flag"])


def test_csv_text_columns_option_and_unknown_names(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("id,age\n7,30\n12,41\n")
    table = read_csv_table(path, text_columns=["id"])
    assert table["id"].tolist() == ["7", "12"]
    assert table["age"].tolist() == [30, 41]
    with pytest.raises(ValueError, match="no column 'nope'"):
        read_csv_table(path, text_columns=["nope"])
