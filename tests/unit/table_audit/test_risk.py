"""Re-identification risk: ARX's summaries by hand, and on real releases."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from anomed_anonymizer.table_audit import audit_release, split_control
from anomed_anonymizer.tabular import MDAVMicroaggregator, MondrianKAnonymizer

from .conftest import QUASI_IDENTIFIERS, Identity


def _hand_made():
    """Two classes of sizes 2 and 4; three control records: one inside each
    class, one in the gap between them."""
    original = pd.DataFrame(
        {
            "age": [20, 30, 40, 45, 50, 60],
            "sex": ["f", "f", "f", "m", "m", "f"],
            "disease": ["flu", "cold", "flu", "flu", "cold", "flu"],
        }
    )
    release = pd.DataFrame(
        {
            "age_min": [20, 20, 40, 40, 40, 40],
            "age_max": [30, 30, 60, 60, 60, 60],
            "sex=f": [True, True, True, True, True, True],
            "sex=m": [False, False, True, True, True, True],
            "disease=cold": original["disease"].eq("cold").to_numpy(),
            "disease=flu": original["disease"].eq("flu").to_numpy(),
        }
    )
    control = pd.DataFrame(
        {"age": [25, 50, 35], "sex": ["f", "m", "f"], "disease": ["flu"] * 3}
    )
    return original, release, control


def test_arx_summaries_by_hand():
    original, release, control = _hand_made()
    risk = audit_release(
        original,
        release,
        "generalization",
        control=control,
        quasi_identifiers=["age", "sex"],
        sensitive="disease",
        threshold=0.3,
        attacks=False,
    ).risk
    # Sample classes f = 2, 4; population classes F = 3, 5 (the gap record
    # belongs to neither).
    assert risk.method == "equivalence classes"
    assert risk.prosecutor.to_dict() == pytest.approx(
        {"highest": 1 / 2, "average": 2 / 6, "records_at_risk": 2 / 6}
    )
    marketer = (2 / 3 + 4 / 5) / 6  # mean of 1/F over records
    assert risk.journalist.to_dict() == pytest.approx(
        # average: ARX's max(classes / sum F, mean(f / F)) = max(2 / 8, ...)
        {"highest": 1 / 3, "average": max(2 / 8, marketer), "records_at_risk": 2 / 6}
    )
    assert risk.marketer.to_dict() == pytest.approx(
        {"highest": 1 / 3, "average": marketer, "records_at_risk": 2 / 6}
    )
    np.testing.assert_allclose(risk.journalist_record_risk, [1 / 3] * 2 + [1 / 5] * 4)
    assert risk.details == {"population_rows": 9, "n_classes": 2, "min_class_size": 2}


def test_without_population_journalist_risk_is_prosecutor_risk():
    original, release, _ = _hand_made()
    risk = audit_release(
        original,
        release,
        "generalization",
        quasi_identifiers=["age", "sex"],
        sensitive="disease",
        attacks=False,
    ).risk
    assert risk.journalist.highest == risk.prosecutor.highest == 0.5
    np.testing.assert_array_equal(
        risk.journalist_record_risk, risk.prosecutor_record_risk
    )


def test_mondrian_k10_highest_prosecutor_risk_is_at_most_a_tenth(adult):
    original, control = split_control(adult, 0.2, seed=1)
    release, scheme = MondrianKAnonymizer(QUASI_IDENTIFIERS, k=10).anonymize(original)
    risk = audit_release(
        original,
        release,
        scheme,
        control=control,
        quasi_identifiers=QUASI_IDENTIFIERS,
        sensitive="income",
        attacks=False,
    ).risk
    # On the output alone: the rows sharing their quasi-identifier columns.
    qi_columns = [
        c
        for c in release.columns
        if str(c).split("=")[0].removesuffix("_min").removesuffix("_max")
        in QUASI_IDENTIFIERS
    ]
    class_sizes = release.groupby(qi_columns).size()
    assert risk.prosecutor.highest == 1 / class_sizes.min() <= 1 / 10
    assert risk.details["n_classes"] == len(class_sizes)
    assert risk.prosecutor.average == pytest.approx(len(class_sizes) / len(original))
    assert risk.journalist.highest <= risk.prosecutor.highest
    assert risk.prosecutor.records_at_risk == 0.0


def test_identity_release_has_prosecutor_risk_one(adult):
    original, control = split_control(adult, 0.2, seed=1)
    # The test means something only if some record is unique on its QIs.
    assert original.value_counts(QUASI_IDENTIFIERS).min() == 1
    release, scheme = Identity().anonymize(original)
    risk = audit_release(
        original,
        release,
        scheme,
        control=control,
        quasi_identifiers=QUASI_IDENTIFIERS,
        sensitive="income",
        attacks=False,
    ).risk
    assert risk.method == "nearest match"
    assert risk.prosecutor.highest == 1.0
    sizes = original.groupby(QUASI_IDENTIFIERS)["income"].transform("size")
    np.testing.assert_allclose(risk.prosecutor_record_risk, 1 / sizes.to_numpy())


def test_nearest_match_of_a_copy_equals_the_class_based_risk(adult):
    """A copy of the input is judged like a generalization into classes of
    identical records: the two methods agree record by record."""
    original, control = split_control(adult, 0.2, seed=2)
    common = {
        "control": control,
        "quasi_identifiers": QUASI_IDENTIFIERS,
        "sensitive": "income",
        "attacks": False,
    }
    classes, scheme = MondrianKAnonymizer(QUASI_IDENTIFIERS, k=1).anonymize(original)
    by_class = audit_release(original, classes, scheme, **common).risk
    assert by_class.details["n_classes"] == len(
        original.value_counts(QUASI_IDENTIFIERS)
    )
    by_match = audit_release(original, original.copy(), "same", **common).risk
    np.testing.assert_allclose(
        by_match.prosecutor_record_risk, by_class.prosecutor_record_risk
    )
    np.testing.assert_allclose(
        by_match.journalist_record_risk, by_class.journalist_record_risk
    )


def test_microaggregation_classes_hold_k_records(adult):
    original, control = split_control(adult, 0.2, seed=3)
    columns = ["age", "hours-per-week"]
    release, scheme = MDAVMicroaggregator(columns, k=5).anonymize(original)
    risk = audit_release(
        original,
        release,
        scheme,
        control=control,
        quasi_identifiers=columns,
        sensitive="income",
        attacks=False,
    ).risk
    assert risk.prosecutor.highest <= 1 / 5
    # Every control record joins the class with the nearest means: the
    # population classes F add up to the population (sum over records of F/f).
    population = np.sum(risk.prosecutor_record_risk / risk.journalist_record_risk)
    assert population == pytest.approx(len(adult))
    assert risk.journalist.average < risk.prosecutor.average


@pytest.mark.parametrize("threshold", [0, -0.1, 1.5])
def test_threshold_must_be_a_probability(threshold):
    original, release, _ = _hand_made()
    with pytest.raises(ValueError, match="threshold"):
        audit_release(
            original,
            release,
            "generalization",
            quasi_identifiers=["age", "sex"],
            sensitive="disease",
            threshold=threshold,
            attacks=False,
        )
