"""``audit-table`` and ``demo --kind tabular`` as a user runs them."""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

CLI = str(Path(sys.executable).with_name("anomed-anonymizer"))

APP = """\
from anomed_anonymizer.tabular import MondrianKAnonymizer

anonymizer = MondrianKAnonymizer(["age", "sex", "race", "education"], k=10)
not_an_anonymizer = 42
"""


def run(*args: str, cwd: Path | None = None, timeout: float = 600):
    return subprocess.run(
        [CLI, *args], capture_output=True, text=True, timeout=timeout, cwd=cwd
    )


def assert_one_line_error(result, *fragments: str) -> None:
    assert result.returncode == 1, result.stderr
    lines = [
        line for line in result.stderr.strip().splitlines() if " INFO " not in line
    ]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


@pytest.fixture
def app_dir(tmp_path: Path) -> Path:
    (tmp_path / "app.py").write_text(APP)
    return tmp_path


@pytest.mark.slow
def test_audit_table_prints_the_table_and_writes_json_and_html(app_dir):
    result = run(
        "audit-table",
        "app:anonymizer",
        "--rows=300",
        "--n-attacks=50",
        "--json=audit.json",
        "--html=audit.html",
        cwd=app_dir,
    )
    assert result.returncode == 0, result.stderr
    # Progress on stderr, the table on stdout.
    assert "attack: linkability ..." in result.stderr
    assert re.search(r"prosecutor\s+0\.\d{3}", result.stdout)
    assert "singling out (multivariate)" in result.stdout
    report = json.loads((app_dir / "audit.json").read_text())
    assert report["n_rows"] == 150
    # The anonymizer's own quasi-identifiers; income, the Adult default.
    assert report["quasi_identifiers"] == ["age", "sex", "race", "education"]
    assert report["sensitive"] == "income"
    assert report["risk"]["prosecutor"]["highest"] <= 0.1
    assert len(report["attacks"]) == 5
    page = (app_dir / "audit.html").read_text()
    assert page.startswith("<!DOCTYPE html>") and page.count("<img") == 3
    # A verdict per risk, in the JSON, the text and the page.
    verdicts = {g["risk"]: g["verdict"] for g in report["guidance"]}
    assert list(verdicts)[:3] == ["k-anonymity", "journalist", "marketer"]
    assert verdicts["k-anonymity"] == "below threshold"  # k = 10, threshold 0.1
    assert "verdicts (threshold 0.1)" in result.stdout
    assert '<h2 id="verdicts">Verdicts</h2>' in page
    for g in report["guidance"]:
        assert f"<td><b>{g['verdict']}</b></td>" in page


def test_audit_table_without_attacks_on_a_csv(app_dir):
    rows = ["age,sex,race,education,zip,disease"]
    for i in range(60):
        rows.append(
            f"{20 + i % 40},{'fm'[i % 2]},{'ab'[i % 3 == 0]},x{i % 4},{i},d{i % 3}"
        )
    (app_dir / "table.csv").write_text("\n".join(rows) + "\n")
    result = run(
        "audit-table",
        "app:anonymizer",
        "--dataset=table.csv",
        "--sensitive=disease",
        "--no-attacks",
        "--json=out.json",
        cwd=app_dir,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads((app_dir / "out.json").read_text())
    assert [a["name"] for a in report["attacks"]] == ["reconstruction"]
    assert "attacks=False" in report["notes"][0]
    assert [g["risk"] for g in report["guidance"]][-1] == "reconstruction"
    assert report["utility"]["ncp"] > 0


@pytest.mark.parametrize(
    ("spec", "extra", "fragments"),
    [
        ("nowhere:anonymizer", [], ["cannot import 'nowhere:anonymizer'"]),
        ("app:missing", [], ["has no attribute 'missing'"]),
        ("app:not_an_anonymizer", [], ["int is not a table anonymizer"]),
        ("app:anonymizer", ["--dataset=missing.csv"], ["'missing.csv'"]),
        ("app:anonymizer", ["--sensitive=salary"], ["'salary'"]),
        ("app:anonymizer", ["-q", "age,height"], ["'height'"]),
    ],
)
def test_audit_table_errors_are_one_line(app_dir, spec, extra, fragments):
    result = run("audit-table", spec, "--rows=50", "--no-attacks", *extra, cwd=app_dir)
    assert_one_line_error(result, *fragments)


def test_audit_table_needs_module_and_object(app_dir):
    result = run("audit-table", "app", cwd=app_dir)
    assert result.returncode == 2
    assert "MODULE:OBJECT" in result.stderr


@pytest.mark.slow
def test_demo_tabular_compares_the_builtin_anonymizers():
    result = run("demo", "--kind=tabular", "--rows=300", timeout=900)
    assert result.returncode == 0, result.stderr + result.stdout
    out = result.stdout
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Audit of each"))
    header = lines[start + 1]
    for title in ("Mondrian k=5", "Mondrian k=10", "Mondrian k=25", "MDAV k=5"):
        assert title in header
    for row in ("challenge utility score", "prosecutor highest", "linkability"):
        assert row in out
    highest = re.search(r"prosecutor highest\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)", out)
    # Mondrian's k bounds the risk: at most 1/k.
    for value, k in zip(highest.groups(), (5, 10, 25), strict=True):
        assert float(value) <= 1 / k
    if importlib.util.find_spec("snsynth") is None:
        assert "DP synthesis skipped: smartnoise-synth is not importable" in out
    else:
        assert "DP synth eps=1" in header
