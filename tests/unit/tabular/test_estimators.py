"""The built-in anonymizers are scikit-learn estimators: parameters up front,
get_params/set_params, clone and repr work, and bad parameters still surface
as a ValueError naming them when the table is anonymized."""

from __future__ import annotations

import pytest
from sklearn.base import clone

from anomed_anonymizer.tabular import MDAVMicroaggregator, MondrianKAnonymizer


def test_mondrian_params_clone_and_repr(mixed_table):
    anonymizer = MondrianKAnonymizer(["age", "city"], k=4, sensitive_column="disease")
    assert anonymizer.get_params() == {
        "quasi_identifiers": ["age", "city"],
        "k": 4,
        "sensitive_column": "disease",
        "l": None,
    }
    assert repr(anonymizer) == (
        "MondrianKAnonymizer(k=4, quasi_identifiers=['age', 'city'],\n"
        "                    sensitive_column='disease')"
    )
    anonymizer.anonymize(mixed_table)
    copy = clone(anonymizer)
    assert copy.get_params() == anonymizer.get_params()
    assert not hasattr(copy, "report_") and not hasattr(copy, "group_")


def test_mdav_params_clone_and_repr():
    anonymizer = MDAVMicroaggregator(columns=["age"], k=3)
    assert anonymizer.get_params() == {"columns": ["age"], "k": 3, "method": "auto"}
    assert repr(anonymizer) == "MDAVMicroaggregator(columns=['age'], k=3)"
    assert repr(MDAVMicroaggregator()) == "MDAVMicroaggregator()"
    assert repr(MDAVMicroaggregator(method="knn")) == (
        "MDAVMicroaggregator(method='knn')"
    )
    assert clone(anonymizer).get_params() == anonymizer.get_params()


@pytest.mark.parametrize(
    ("anonymizer", "params", "message"),
    [
        (MondrianKAnonymizer(["age"]), {"k": 0}, "k must be at least 1"),
        (MondrianKAnonymizer(["age"]), {"l": 2}, "l is set but sensitive_column"),
        (MDAVMicroaggregator(), {"columns": ["nope"]}, r"lacks: \['nope'\]"),
    ],
)
def test_set_params_then_anonymize_names_the_bad_parameter(
    mixed_table, anonymizer, params, message
):
    with pytest.raises(ValueError, match=message):
        anonymizer.set_params(**params).anonymize(mixed_table)


def test_unknown_parameter_is_a_value_error():
    with pytest.raises(ValueError, match="Invalid parameter 'kk'"):
        MondrianKAnonymizer(["age"]).set_params(kk=3)
