"""The console script with a DP-SGD model: ``demo --model mlp-dp`` and ``init
--template torch``, as a user runs them."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch", reason="install the 'torch' extra")
pytest.importorskip("opacus", reason="install the 'torch' extra")

pytestmark = pytest.mark.slow

CLI = str(Path(sys.executable).with_name("anomed-anonymizer"))


def run(*args: str, timeout: float = 600, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [CLI, *args], capture_output=True, text=True, timeout=timeout, **kwargs
    )


def test_demo_with_the_dp_sgd_mlp_prints_utility_privacy_and_the_budget_spent(
    tmp_path,
):
    result = run(
        "demo", "--model=mlp-dp", "--epsilon=2.0", f"--plot={tmp_path / 'r.png'}"
    )
    assert result.returncode == 0, result.stderr + result.stdout
    out = result.stdout
    assert "Starting the anonymizer: DP-SGD MLP, ε=2 ..." in out
    assert "[8/8] DP-SGD MLP, ε=2: audit /predict ... done" in out
    row = next(line for line in out.splitlines() if line.startswith("DP-SGD MLP, ε=2 "))
    accuracy = re.search(r"(\d\.\d\d)/(\d\.\d\d)\s+gap", row)
    assert accuracy, row
    assert all(0.0 <= float(cell) <= 1.0 for cell in accuracy.groups())
    spent = re.search(
        r"^DP-SGD MLP, ε=2: Privacy budget spent: epsilon = (\S+), delta = (\S+) "
        r"\(DP-SGD \(Opacus\), accountant: prv\)$",
        out,
        re.M,
    )
    assert spent, out
    assert 0 < float(spent[1]) <= 2.0
    assert 0 < float(spent[2]) < 0.05  # 1/n for the training rows
    assert "random forest, no DP: Privacy budget: none reported" in out


def test_demo_of_a_regression_shows_the_leak_and_what_dp_costs(tmp_path):
    result = run(
        "demo", "--task=regression", "--epsilon=3", f"--plot={tmp_path / 'r.png'}"
    )
    assert result.returncode == 0, result.stderr + result.stdout
    out = result.stdout
    assert "Starting the challenge emulator (glucose) ..." in out
    assert re.search(r"^model\s+MSE/MAE \(val\.\)\s+attack", out, re.M), out
    rows = {
        line.split("  ")[0]: line
        for line in out.splitlines()
        if line.startswith(("MLP, no DP ", "DP-SGD MLP, ε=3 "))
    }
    assert set(rows) == {"MLP, no DP", "DP-SGD MLP, ε=3"}, out
    for row in rows.values():
        assert re.search(r"\d+\.\d/\d+\.\d\d\s+loss threshold", row), row
    # The baseline memorises its training curves (measured AUC 0.95 [0.93,
    # 0.96]); 360 members and as many non-members find it every time.
    assert rows["MLP, no DP"].rstrip().endswith("leaks"), rows
    auc = re.search(
        r"loss threshold\s+(\d\.\d\d) \[(\d\.\d\d), (\d\.\d\d)\]",
        rows["DP-SGD MLP, ε=3"],
    )
    # eps = 3 caps the AUC at 0.95; what DP-SGD leaves is far below that.
    assert float(auc[2]) < 0.6, rows
    spent = re.search(
        r"^DP-SGD MLP, ε=3: Privacy budget spent: epsilon = ([0-9.]+)", out, re.M
    )
    assert spent and 0 < float(spent[1]) <= 3.0, out
    assert "--template torch-regression" in out
    assert (tmp_path / "r.png").is_file()


def test_demo_refuses_a_classifier_model_for_a_regression():
    result = run("demo", "--task=regression", "--model=nb-dp")
    assert result.returncode == 1
    assert "--model chooses a classifier" in result.stderr


@pytest.mark.parametrize("template", ["torch", "torch-regression"])
def test_init_torch_scaffold_passes_its_own_smoke_test(tmp_path, template):
    target = tmp_path / "my_dp_sgd"
    result = run("init", str(target), f"--template={template}")
    assert result.returncode == 0, result.stderr
    # What it tells the user to run installs torch's CPU build, not CUDA's.
    assert (
        "pip install -r requirements.txt --extra-index-url "
        "https://download.pytorch.org/whl/cpu" in result.stdout
    )
    attack = ["Dockerfile.attack"] if template == "torch" else []
    assert sorted(p.name for p in target.iterdir()) == [
        ".dockerignore",
        "Dockerfile",
        *attack,
        "README.md",
        "app.py",
        "compose.yaml",
        "gunicorn.conf.py",
        "requirements.txt",
        "test_smoke.py",
        "wheels",
    ]
    requirements = (target / "requirements.txt").read_text()
    assert re.search(r"^torch==2\.\d+\.\d+", requirements, re.M), requirements
    assert re.search(r"^opacus==\d", requirements, re.M), requirements
    dockerfile = (target / "Dockerfile").read_text()
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in dockerfile
    assert "GET /privacy" in (target / "README.md").read_text()
    pytest_argv = ["-m", "pytest", "-q", "-p", "no:cacheprovider", "test_smoke.py"]
    smoke = subprocess.run(
        [sys.executable, *pytest_argv],
        cwd=target,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert smoke.returncode == 0, smoke.stdout + smoke.stderr
    assert "4 passed" in smoke.stdout
