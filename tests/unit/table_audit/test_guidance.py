"""The table audit decides: a verdict per risk that its interval supports,
the columns that drive singling out and inference, and the k that brings a
risk under the threshold, found by rerunning the anonymizer."""

from __future__ import annotations

import html
import json

import pytest

from anomed_anonymizer.table_audit import audit_table
from anomed_anonymizer.table_audit.guidance import (
    ABOVE,
    BELOW,
    INCONCLUSIVE,
    interval_verdict,
    k_needed,
)
from anomed_anonymizer.tabular import MondrianKAnonymizer

from .conftest import QUASI_IDENTIFIERS, Identity


def test_a_verdict_never_says_more_than_the_interval():
    assert interval_verdict((0.101, 0.4), 0.1) == ABOVE
    assert interval_verdict((0.0, 0.1), 0.1) == BELOW
    assert interval_verdict((0.09, 0.11), 0.1) == INCONCLUSIVE
    assert interval_verdict((0.1, 0.5), 0.1) == INCONCLUSIVE  # touches: not above
    assert [k_needed(t) for t in (0.1, 0.2, 0.34, 0.5)] == [10, 5, 3, 2]


@pytest.fixture(scope="module")
def weak(adult):
    """Mondrian with k = 2 (every record's prosecutor risk up to 1/2), the
    Anonymeter attacks off: re-identification and reconstruction only."""
    return audit_table(
        MondrianKAnonymizer(QUASI_IDENTIFIERS, k=2),
        adult,
        sensitive="income",
        attacks=False,
        seed=0,
    )


def test_k_anonymity_names_the_k_that_the_anonymizer_reaches(weak, adult):
    guidance = {g.risk: g for g in weak.guidance}
    k_anon = guidance["k-anonymity"]
    assert k_anon.verdict == ABOVE
    assert k_anon.value == weak.risk.prosecutor.highest > 0.1
    assert "k ≥ 10" in k_anon.remedy and "the anonymizer has k = 2" in k_anon.remedy
    # The search reran Mondrian: the first k tried that passed is named ...
    tried = weak.k_search["tried"]
    passed = [t["k"] for t in tried if t["verdicts"]["k-anonymity"] == BELOW]
    assert passed, tried
    assert f"k = {passed[0]} brings it below 0.1" in k_anon.remedy
    # ... and a fresh audit with that k agrees.
    again = audit_table(
        MondrianKAnonymizer(QUASI_IDENTIFIERS, k=passed[0]),
        adult,
        sensitive="income",
        attacks=False,
        seed=0,
    )
    assert again.risk.prosecutor.highest <= 0.1
    assert {g.risk: g.verdict for g in again.guidance}["k-anonymity"] == BELOW
    assert again.k_search is None or "k-anonymity" not in again.k_search["remedies"]


def test_every_attack_verdict_follows_its_interval(weak):
    for g in weak.guidance:
        if g.ci is not None:
            assert g.verdict == interval_verdict(g.ci, weak.threshold), g
    names = [g.risk for g in weak.guidance]
    assert names == ["k-anonymity", "journalist", "marketer", "reconstruction"]


def test_the_threshold_given_is_the_one_judged_and_searched(adult):
    audit = audit_table(
        MondrianKAnonymizer(QUASI_IDENTIFIERS, k=2),
        adult,
        sensitive="income",
        attacks=False,
        threshold=0.25,
        search_k=2,
    )
    assert audit.threshold == 0.25
    assert all(g.threshold == 0.25 for g in audit.guidance)
    k_anon = {g.risk: g for g in audit.guidance}["k-anonymity"]
    assert "k ≥ 4" in k_anon.remedy  # 1/4 <= 0.25
    assert audit.k_search["tried"][0]["k"] == 4
    assert "k = 4 brings it below 0.25" in k_anon.remedy


def test_a_release_without_classes_says_no_k_applies(adult):
    audit = audit_table(
        Identity(),
        adult,
        quasi_identifiers=QUASI_IDENTIFIERS,
        sensitive="income",
        attacks=False,
    )
    k_anon = {g.risk: g for g in audit.guidance}["k-anonymity"]
    assert k_anon.verdict == ABOVE  # the table itself: unique records
    assert k_anon.remedy.startswith("cannot be determined")
    assert audit.k_search is None  # nothing to search: Identity has no k


def test_guidance_is_in_the_json_and_the_text(weak, tmp_path):
    report = json.loads(weak.write_json(tmp_path / "audit.json").read_text())
    assert report["threshold"] == 0.1
    by_risk = {g["risk"]: g for g in report["guidance"]}
    assert set(by_risk) == {"k-anonymity", "journalist", "marketer", "reconstruction"}
    for g in by_risk.values():
        assert g["verdict"] in (ABOVE, BELOW, INCONCLUSIVE)
        assert set(g) == {
            "risk",
            "value",
            "ci",
            "threshold",
            "verdict",
            "reason",
            "columns",
            "remedy",
        }
    assert by_risk["k-anonymity"]["ci"] is None
    assert report["k_search"]["tried"][0]["k"] > 2
    table = weak.format_table()
    assert "verdicts (threshold 0.1)" in table
    assert f"k-anonymity (prosecutor)    {ABOVE}" in table
    assert by_risk["k-anonymity"]["remedy"] in table


@pytest.fixture(scope="module")
def attacked(adult):
    pytest.importorskip("anonymeter", reason="install the 'audit-table' extra")
    return audit_table(
        MondrianKAnonymizer(QUASI_IDENTIFIERS, k=2),
        adult,
        sensitive="income",
        n_attacks=60,
        seed=0,
        search_k=1,
    )


@pytest.mark.slow
def test_singling_out_and_inference_name_their_columns(attacked, adult):
    guidance = {g.risk: g for g in attacked.guidance}
    for name in ("singling-out-univariate", "singling-out-multivariate"):
        g = guidance[name]
        attack = attacked.attack(name)
        assert g.verdict == interval_verdict(attack.ci, 0.1)
        if attack.details["attack_rate"] > 0:
            assert g.columns, name
        assert set(g.columns) <= {str(c) for c in adult.columns}
        assert all(count >= 1 for count in g.columns.values())
    inference = guidance["inference"]
    if inference.verdict != BELOW:
        contributions = attacked.attack("inference").details["column_contributions"]
        others = {str(c) for c in adult.columns} - {"income"}
        assert set(contributions) == others
        assert inference.columns == contributions
    else:
        assert "column_contributions" not in attacked.attack("inference").details


@pytest.mark.slow
def test_the_html_page_shows_verdicts_columns_and_the_k(attacked, tmp_path):
    page = attacked.write_html(tmp_path / "audit.html").read_text()
    assert '<h2 id="verdicts">Verdicts</h2>' in page
    for g in attacked.guidance:
        assert f"<td><b>{g.verdict}</b></td>" in page
        assert html.escape(g.remedy) in page
        for column in list(g.columns)[:5]:
            assert html.escape(column) in page
    k_anon = {g.risk: g for g in attacked.guidance}["k-anonymity"]
    assert "k ≥ 10" in page and html.escape(k_anon.remedy) in page


def test_the_title_names_the_whole_anonymizer(adult, tmp_path):
    pytest.importorskip("matplotlib")
    columns = [*QUASI_IDENTIFIERS, "workclass", "occupation", "marital-status"]
    columns += ["relationship", "native-country"]
    anonymizer = MondrianKAnonymizer(columns, k=10)
    described = " ".join(repr(anonymizer).split())
    assert len(described) > 120  # the length the old title cut at
    audit = audit_table(anonymizer, adult, sensitive="income", attacks=False)
    assert audit.anonymizer == described
    page = audit.write_html(tmp_path / "audit.html").read_text()
    assert f"<h1>Table audit: {html.escape(described)}</h1>" in page
    assert "<title>Table audit: MondrianKAnonymizer</title>" in page
    assert "...</h1>" not in page
