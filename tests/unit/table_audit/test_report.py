"""The report: JSON layout, terminal table, and the HTML page in a browser."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess

import numpy as np
import pytest

from anomed_anonymizer.table_audit import audit_table
from anomed_anonymizer.tabular import MondrianKAnonymizer

from .conftest import QUASI_IDENTIFIERS

ATTACK_NAMES = [
    "singling-out-univariate",
    "singling-out-multivariate",
    "linkability",
    "inference",
    "reconstruction",
]


@pytest.fixture(scope="module")
def audit(adult):
    pytest.importorskip("anonymeter", reason="install the 'audit-table' extra")
    return audit_table(
        MondrianKAnonymizer(QUASI_IDENTIFIERS, k=10),
        adult,
        sensitive="income",
        n_attacks=60,
        seed=0,
    )


@pytest.mark.slow
def test_json_has_the_issues_layout(audit, tmp_path):
    report = json.loads(audit.write_json(tmp_path / "audit.json").read_text())
    assert report["n_rows"] == 250  # half of the table; the rest is control
    for model in ("prosecutor", "journalist", "marketer"):
        summary = report["risk"][model]
        assert set(summary) == {"highest", "average", "records_at_risk"}
        assert all(isinstance(v, float) and 0 <= v <= 1 for v in summary.values())
    assert [a["name"] for a in report["attacks"]] == ATTACK_NAMES
    for attack in report["attacks"]:
        assert isinstance(attack["risk"], float)
        low, high = attack["ci"]
        assert 0 <= low <= attack["risk"] <= high <= 1
    utility = report["utility"]
    assert isinstance(utility["ncp"], float)
    assert utility["sse_sst"] is None  # not a microaggregation
    assert isinstance(utility["mean_tvd"], float)
    assert isinstance(utility["mean_pairwise_tvd"], float)
    assert report["risk"]["prosecutor"]["highest"] <= 0.1


@pytest.mark.slow
def test_terminal_table_shows_every_figure(audit):
    table = audit.format_table()
    for model in ("prosecutor", "journalist", "marketer"):
        summary = getattr(audit.risk, model)
        assert re.search(
            rf"{model}\s+{summary.highest:.3f}\s+{summary.average:.3f}", table
        )
    for title in ("singling out (univariate)", "linkability", "reconstruction"):
        assert title in table
    assert f"{audit.utility['ncp']:.3f}" in table


def _chromium() -> str | None:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None and os.environ.get("ANOMED_REQUIRE_CHROMIUM"):
        pytest.fail("ANOMED_REQUIRE_CHROMIUM is set but chromium is not installed")
    return found


def _headless(chromium: str, tmp_path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",  # CI runs as root
            "--disable-gpu",
            "--hide-scrollbars",
            f"--user-data-dir={tmp_path / 'profile'}",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=True,
    )


@pytest.mark.slow
def test_html_page_renders_in_headless_chromium(audit, tmp_path):
    chromium = _chromium()
    if chromium is None:
        pytest.skip("chromium is not installed (.ci/run installs it)")
    page = audit.write_html(tmp_path / "audit.html")
    source = page.read_text()
    assert not re.search(r"""(src|href)=["']https?:""", source)  # offline

    dom = _headless(chromium, tmp_path, "--dump-dom", page.as_uri()).stdout
    # The inline script ran after the browser decoded every embedded plot.
    body = re.search(r"<body([^>]*)>", dom).group(1)
    decoded = re.search(r'data-images-decoded="(\d+)"', body).group(1)
    total = re.search(r'data-images-total="(\d+)"', body).group(1)
    assert decoded == total == "3"
    for heading in ("Re-identification risk", "Attacks", "Utility"):
        assert f">{heading}</h2>" in dom
    prosecutor = audit.risk.prosecutor
    assert re.search(
        rf"<td>prosecutor</td><td>{prosecutor.highest:.3f}</td>"
        rf"<td>{prosecutor.average:.3f}</td>",
        dom,
    )
    for attack in audit.attacks:
        assert f"<td>{attack.risk:.3f}</td>" in dom

    shot = tmp_path / "audit.png"
    _headless(
        chromium,
        tmp_path,
        "--window-size=1200,2400",
        f"--screenshot={shot}",
        page.as_uri(),
    )
    from matplotlib.image import imread

    pixels = imread(shot)[..., :3]
    assert pixels.shape[:2] == (2400, 1200)
    # Not blank: text, tables and plots cover a good part of the page, in
    # the plots' colours as well as black on white.
    assert np.mean(pixels.min(axis=2) < 0.9) > 0.05
    colours = np.unique((pixels.reshape(-1, 3) * 15).round(), axis=0)
    assert len(colours) > 50
