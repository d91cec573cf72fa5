"""Attacks: Anonymeter's against a copy of the input, and the reconstruction."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from anomed_anonymizer.table_audit import audit_release, audit_table

from .conftest import QUASI_IDENTIFIERS, Identity

# Attacks per evaluation: few, to keep the tests fast (the control set holds
# 250 records).
N_ATTACKS = 100


@pytest.fixture(scope="module")
def identity_audit(adult):
    pytest.importorskip("anonymeter", reason="install the 'audit-table' extra")
    return audit_table(
        Identity(),
        adult,
        quasi_identifiers=QUASI_IDENTIFIERS,
        sensitive="income",
        n_attacks=N_ATTACKS,
        seed=0,
    )


@pytest.mark.slow
def test_a_copy_of_the_input_is_singled_out_and_linked(identity_audit):
    attacks = {attack.name: attack for attack in identity_audit.attacks}
    assert list(attacks) == [
        "singling-out-univariate",
        "singling-out-multivariate",
        "linkability",
        "inference",
        "reconstruction",
    ]
    # Intervals well above 0: the release leaks the very records it holds.
    assert attacks["singling-out-univariate"].ci[0] > 0.5
    assert attacks["singling-out-multivariate"].ci[0] > 0.5
    assert attacks["linkability"].ci[0] > 0.3
    for attack in attacks.values():
        low, high = attack.ci
        assert 0 <= low <= attack.risk <= high <= 1
    # The control records are attacked the same way and fare far worse.
    linkability = attacks["linkability"].details
    assert linkability["attack_rate"] > linkability["control_rate"] + 0.3
    assert identity_audit.risk.prosecutor.highest == 1.0


@pytest.mark.slow
def test_the_audit_is_reproducible(adult, identity_audit):
    again = audit_table(
        Identity(),
        adult,
        quasi_identifiers=QUASI_IDENTIFIERS,
        sensitive="income",
        n_attacks=N_ATTACKS,
        seed=0,
    ).to_dict()
    first = identity_audit.to_dict()
    # Anonymeter builds singling-out queries from polars' unique values, whose
    # order polars leaves open: those two risks may move within their
    # intervals. Its random-guess baseline of linkability draws from an
    # unseeded generator (it does not enter the risk). Everything else
    # repeats to the last bit.
    singling_out = {"singling-out-univariate", "singling-out-multivariate"}
    for one, other in zip(first.pop("attacks"), again.pop("attacks"), strict=True):
        assert one["name"] == other["name"]
        if one["name"] in singling_out:
            assert other["ci"][0] <= one["risk"] <= other["ci"][1]
            continue
        if one["name"] == "linkability":
            del one["baseline_rate"], other["baseline_rate"]
        assert one == other
    # The guidance follows the figures: the same but for singling out's.
    for one, other in zip(first.pop("guidance"), again.pop("guidance"), strict=True):
        assert one["risk"] == other["risk"]
        if one["risk"] not in singling_out:
            assert one == other
    assert again == first


def test_without_control_records_anonymeter_is_skipped(adult):
    audit = audit_table(
        Identity(),
        adult,
        quasi_identifiers=QUASI_IDENTIFIERS,
        sensitive="income",
        control_fraction=0.0,
    )
    assert [attack.name for attack in audit.attacks] == ["reconstruction"]
    assert any("control records" in note for note in audit.notes)
    assert audit.n_control == 0


def test_reconstruction_recovers_what_a_copy_reveals():
    rng = np.random.default_rng(0)
    original = pd.DataFrame(
        {
            "age": np.arange(200),  # unique: every record is found
            "sex": rng.choice(["f", "m"], 200),
            "income": rng.choice(["<=50K", ">50K"], 200, p=[0.7, 0.3]),
        }
    )
    common = {"quasi_identifiers": ["age", "sex"], "sensitive": "income"}
    copy = audit_release(original, original.copy(), "same", attacks=False, **common)
    reconstruction = copy.attack("reconstruction")
    assert reconstruction.details["accuracy"] == 1.0
    assert reconstruction.details["base_rate"] == pytest.approx(
        original["income"].value_counts(normalize=True).max()
    )
    assert reconstruction.risk == 1.0
    assert reconstruction.ci[0] > 0.9

    # The same release with the sensitive column shuffled recovers no more
    # than guessing the most common value.
    shuffled = original.assign(income=rng.permutation(original["income"].to_numpy()))
    noise = audit_release(original, shuffled, "same", attacks=False, **common)
    assert noise.attack("reconstruction").ci[0] == 0.0


def test_reconstruction_of_a_numeric_column():
    original = pd.DataFrame(
        {"zip": [str(z) for z in range(100)], "salary": np.arange(100) * 1000.0}
    )
    audit = audit_release(
        original,
        original.copy(),
        "same",
        quasi_identifiers=["zip"],
        sensitive="salary",
        attacks=False,
    )
    reconstruction = audit.attack("reconstruction")
    # Exact matches, each within 1 % of the range; the median guess hits 1.
    assert reconstruction.details["accuracy"] == 1.0
    # The median guess, 49 500, is within 990 of 49 000 and 50 000 only.
    assert reconstruction.details["base_rate"] == pytest.approx(0.02)
    assert reconstruction.risk == 1.0


def test_bad_columns_are_named():
    table = pd.DataFrame({"age": [1, 2, 3], "income": ["a", "b", "a"]})
    with pytest.raises(ValueError, match="'height'"):
        audit_table(Identity(), table, quasi_identifiers=["height"], sensitive="income")
    with pytest.raises(ValueError, match="'salary'"):
        audit_table(Identity(), table, quasi_identifiers=["age"], sensitive="salary")
    with pytest.raises(ValueError, match="also a quasi-identifier"):
        audit_table(Identity(), table, quasi_identifiers=["age"], sensitive="age")
    with pytest.raises(ValueError, match="names no quasi-identifiers"):
        audit_table(Identity(), table, sensitive="income")
    with pytest.raises(TypeError, match="anonymize"):
        audit_table(object(), table, quasi_identifiers=["age"], sensitive="income")
