"""The ``anomed-anonymizer`` console script, end to end, as a user runs it."""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import click
import numpy as np
import pandas as pd
import pytest
import requests

from anomed_anonymizer.cli.processes import free_port, start_server
from anomed_anonymizer.wire import encode_named_arrays
from docs_blocks import doc_block, doc_lines

CLI = str(Path(sys.executable).with_name("anomed-anonymizer"))
OUR_APPS = Path(__file__).resolve().parents[1] / "interop" / "our_apps"


def run(*args: str, timeout: float = 120, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [CLI, *args], capture_output=True, text=True, timeout=timeout, **kwargs
    )


def assert_one_line_error(result: subprocess.CompletedProcess, *fragments: str):
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in lines[0]


@pytest.mark.parametrize(
    "command",
    [
        [],
        ["demo"],
        ["serve"],
        ["emulate-challenge"],
        ["init"],
        ["serve-attack"],
        ["audit"],
    ],
)
def test_every_command_has_help(command):
    result = run(*command, "--help")
    assert result.returncode == 0
    assert "Usage: anomed-anonymizer" in result.stdout


def test_version():
    result = run("--version")
    assert result.returncode == 0
    assert "anomed-anonymizer" in result.stdout


# -- serve -------------------------------------------------------------------


def test_serve_app_that_does_not_import_is_one_line(tmp_path):
    (tmp_path / "broken.py").write_text("import not_a_module_anywhere\n")
    result = run("serve", "broken:application", "--chdir", str(tmp_path))
    assert_one_line_error(result, "cannot import 'broken:application'", "not_a_module")


def test_serve_verbose_shows_the_traceback(tmp_path):
    (tmp_path / "broken.py").write_text("import not_a_module_anywhere\n")
    result = run("--verbose", "serve", "broken:application", "--chdir", str(tmp_path))
    assert result.returncode == 1
    assert "Traceback" in result.stderr


def test_serve_missing_variable_is_one_line(tmp_path):
    (tmp_path / "empty.py").write_text("x = 1\n")
    result = run("serve", "empty:application", "--chdir", str(tmp_path))
    assert_one_line_error(result, "application")


def test_serve_an_anonymizer_instead_of_its_app_is_one_line(tmp_path):
    (tmp_path / "app.py").write_text(
        "class Anonymizer:\n"
        "    def fit(self, X, y):\n        pass\n"
        "    def predict(self, X):\n        pass\n"
        "my_anon = Anonymizer()\n"
    )
    result = run("serve", "app:my_anon", "--chdir", str(tmp_path))
    assert_one_line_error(
        result, "'app:my_anon' is not a WSGI app", "e.g. app:application"
    )


def test_serve_call_syntax_is_one_line(tmp_path):
    (tmp_path / "app.py").write_text(
        "def application(environ, start_response):\n    pass\n"
    )
    result = run("serve", "app:application()", "--chdir", str(tmp_path))
    assert_one_line_error(
        result, "calls the object", "pass the object the factory returns"
    )


def test_serve_app_path_without_colon_is_a_usage_error():
    result = run("serve", "just_a_module")
    assert result.returncode == 2
    assert "MODULE:VARIABLE" in result.stderr


def test_serve_port_in_use_is_one_line(tmp_path):
    (tmp_path / "hello.py").write_text(
        "def application(environ, start_response):\n    pass\n"
    )
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run(
            "serve", "hello:application", "--chdir", str(tmp_path), f"--port={port}"
        )
    assert_one_line_error(result, f"port {port}", "already in use", "--port")


@pytest.fixture
def emulator(tmp_path):
    port = free_port()
    server = start_server(
        "emulator",
        [CLI, "emulate-challenge", f"--port={port}", "--workers=1"],
        port,
        tmp_path,
    )
    yield server
    server.stop()


@pytest.mark.slow
def test_serve_lets_a_fit_outlive_the_worker_timeout(emulator, tmp_path):
    port = free_port()
    server = start_server(
        "anonymizer",
        [
            CLI,
            "serve",
            "versioned_app:application",
            "--chdir",
            str(OUR_APPS),
            f"--port={port}",
            "--workers=2",
            "--timeout=2",
        ],
        port,
        tmp_path,
        env={
            "CHALLENGE_HOST": emulator.host,
            "MODEL_FILE": str(tmp_path / "m.pkl"),
            "FIT_SECONDS": "6",
        },
    )
    try:
        started = time.monotonic()
        response = requests.post(f"{server.url}/fit", timeout=60)
        assert response.status_code == 201, response.text + server.log()[-2000:]
        assert time.monotonic() - started >= 6 > 2
    finally:
        server.stop()


@pytest.mark.slow
def test_serve_takes_workers_from_the_environment_and_stops_on_sigterm(
    tmp_path, emulator
):
    port = free_port()
    server = start_server(
        "anonymizer",
        [CLI, "serve", "versioned_app:application", "--chdir", str(OUR_APPS)],
        port,
        tmp_path,
        env={
            "CHALLENGE_HOST": emulator.host,
            "MODEL_FILE": str(tmp_path / "m.pkl"),
            "ANOMED_SERVE_PORT": str(port),
            "ANOMED_SERVE_WORKERS": "3",
        },
    )
    assert server.log().count("Booting worker") == 3 or _wait_for_workers(server, 3)
    os.killpg(server.process.pid, signal.SIGTERM)
    assert server.process.wait(timeout=120) == 0  # generous: a busy 2-core VM
    assert "Shutting down" in server.log()


def _wait_for_workers(server, expected: int, limit: float = 120.0) -> bool:
    """Whether ``expected`` workers booted within ``limit`` seconds (generous:
    three workers import the app one after another on a busy 2-core VM)."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if server.log().count("Booting worker") >= expected:
            return True
        time.sleep(0.1)
    return False


# -- emulate-challenge ---------------------------------------------------------


def test_emulate_challenge_serves_the_users_csv(tmp_path):
    rng = np.random.default_rng(0)
    table = pd.DataFrame(rng.normal(size=(200, 3)), columns=["a", "b", "c"])
    table["label"] = rng.integers(0, 2, 200)
    table.to_csv(tmp_path / "dummy.csv", index=False)
    port = free_port()
    server = start_server(
        "emulator",
        [
            CLI,
            "emulate-challenge",
            f"--dataset={tmp_path / 'dummy.csv'}",
            "--target=label",
            f"--port={port}",
        ],
        port,
        tmp_path,
    )
    try:
        from anomed_anonymizer.wire import decode_named_arrays

        data = decode_named_arrays(
            requests.get(f"{server.url}/data/anonymizer/training", timeout=10).content
        )
        assert data["X"].shape == (140, 3)
        assert data["y"].shape == (140,)
    finally:
        server.stop()


def test_emulate_challenge_missing_file_is_one_line():
    result = run("emulate-challenge", "--dataset=/nowhere/data.csv")
    assert_one_line_error(result, "/nowhere/data.csv", "neither an embedded dataset")


def test_emulate_challenge_table_without_target_is_one_line(tmp_path):
    pd.DataFrame({"a": [1.0, 2.0]}).to_csv(tmp_path / "t.csv", index=False)
    result = run("emulate-challenge", f"--dataset={tmp_path / 't.csv'}")
    assert_one_line_error(result, "--target")


def test_emulate_challenge_unknown_target_is_one_line(tmp_path):
    pd.DataFrame({"a": [1.0, 2.0]}).to_csv(tmp_path / "t.csv", index=False)
    result = run("emulate-challenge", f"--dataset={tmp_path / 't.csv'}", "--target=y")
    assert_one_line_error(result, "no column 'y'")


def test_emulate_challenge_as_a_regression_scores_the_chosen_metrics(tmp_path):
    from anomed_anonymizer.wire import decode_named_arrays

    port = free_port()
    server = start_server(
        "emulator",
        [
            CLI,
            "emulate-challenge",
            "--task=regression",
            "--metric=mae",
            "--metric=r2",
            f"--port={port}",
        ],
        port,
        tmp_path,
    )
    try:
        training = decode_named_arrays(
            requests.get(f"{server.url}/data/anonymizer/training", timeout=10).content
        )
        assert training["X"].shape == (840, 10)  # glucose: the regression default
        assert training["y"].shape == (840, 12) and training["y"].dtype == np.float64
        tuning = decode_named_arrays(
            requests.get(f"{server.url}/data/anonymizer/tuning", timeout=10).content
        )
        prediction = np.broadcast_to(training["y"].mean(axis=0), (len(tuning["X"]), 12))
        response = requests.post(
            f"{server.url}/utility/anonymizer",
            params={"data_split": "tuning"},
            data=encode_named_arrays({"prediction": np.ascontiguousarray(prediction)}),
            timeout=10,
        )
        assert response.status_code == 201, response.text
        assert list(response.json()) == ["mae", "r2"]
        assert response.json()["r2"] < 0.05  # the mean predicts nothing
    finally:
        server.stop()
    assert "regression, 12 output(s), scored by mae, r2" in server.log()


@pytest.mark.slow
def test_the_dp_linear_regression_example_is_served_fitted_and_scored(tmp_path):
    """The user's path for a regression challenge: the emulator's glucose
    curves, the diffprivlib example served by ``serve``, its budget served."""
    port = free_port()
    challenge = start_server(
        "emulator",
        [CLI, "emulate-challenge", "--task=regression", f"--port={port}"],
        port,
        tmp_path,
    )
    port = free_port()
    server = start_server(
        "anonymizer",
        [
            CLI,
            "serve",
            "anomed_anonymizer.examples.dp_linear_regression:application",
            f"--port={port}",
        ],
        port,
        tmp_path,
        env={
            "CHALLENGE_HOST": challenge.host,
            "ANOMED_MODEL_FILE": str(tmp_path / "model.pkl"),
            "ANOMED_EPSILON": "5",
        },
        cwd=tmp_path,
    )
    try:
        fit = requests.post(f"{server.url}/fit", timeout=120)
        assert fit.status_code == 201, fit.text + server.log()[-2000:]
        privacy = requests.get(f"{server.url}/privacy", timeout=30).json()
        assert privacy["epsilon"] == 5.0 and privacy["delta"] == 0.0
        evaluation = requests.post(
            f"{server.url}/evaluate", params={"data_split": "tuning"}, timeout=120
        )
        assert evaluation.status_code == 201, evaluation.text + challenge.log()[-2000:]
        assert set(evaluation.json()["evaluation"]) == {"mse", "mae"}
    finally:
        server.stop()
        challenge.stop()


def test_emulate_challenge_metric_of_a_classification_is_one_line():
    result = run("emulate-challenge", "--dataset=iris", "--metric=mae")
    assert_one_line_error(result, "--metric scores a regression", "--task regression")


def test_emulate_challenge_task_of_a_tabular_challenge_is_one_line():
    result = run("emulate-challenge", "--kind=tabular", "--task=regression")
    assert_one_line_error(result, "--task and --metric are for --kind supervised")


# -- demo ----------------------------------------------------------------------


DEMO_SERVER = re.compile(r"^\s+(challenge|baseline|dp-epsilon-\S+)\s+(http://\S+)\s*$")


@pytest.mark.slow
def test_demo_shows_baseline_and_dp_models_audited_and_cleans_up(tmp_path):
    temp = tmp_path / "tmp"
    temp.mkdir()
    result = run(
        "demo",
        "--epsilon=0.5",
        "--epsilon=2",
        f"--plot={tmp_path / 'roc.png'}",
        timeout=300,
        env={**os.environ, "TMPDIR": str(temp)},
    )
    assert result.returncode == 0, result.stderr + result.stdout
    out = result.stdout
    assert "[12/12] DP naive Bayes, ε=2: audit /predict ... done" in out
    assert "Results for breast-cancer: each model audited on 171" in out
    rows = {
        line.split("  ")[0]: line
        for line in out.splitlines()
        if line.startswith(("random forest", "DP naive Bayes")) and " gap " in line
    }
    assert set(rows) == {
        "random forest, no DP",
        "DP naive Bayes, ε=0.5",
        "DP naive Bayes, ε=2",
    }
    for row in rows.values():  # accuracy, then the gap attack's AUC and interval
        accuracy, auc = re.search(
            r"(\d\.\d\d/\d\.\d\d)\s+gap\s+(\d\.\d\d) \[", row
        ).groups()
        assert all(0.0 <= float(v) <= 1.0 for v in [*accuracy.split("/"), auc])
    assert out.count("ART black-box (baseline)") == 3 * 2  # table and why
    # The non-private forest memorises its members: the score-based attack
    # finds it with its interval; the DP models are capped by their epsilon.
    scored = re.findall(
        r"^\s+confidence \(scores\)\s+(\d\.\d\d) \[(\d\.\d\d), (\d\.\d\d)\]"
        r".*  (\S.*)$",
        out,
        flags=re.MULTILINE,
    )
    assert len(scored) == 3, out
    auc, low, high, verdict = scored[0]
    assert float(low) > 0.5 and float(low) <= float(auc) <= float(high)
    assert verdict == "leaks"
    assert "Why each verdict:" in out
    assert "  random forest, no DP: leaks; no privacy guarantee" in out
    assert "    confidence (scores): leaks, because members score higher" in out
    assert "  DP naive Bayes, ε=0.5: " in out
    assert "ε = 0.5 caps any attack's AUC at 0.62" in out
    assert "random forest, no DP: Privacy budget: none reported" in out
    assert "DP naive Bayes, ε=0.5: Privacy budget spent: epsilon = 0.5" in out
    assert "advantage" in out and "cannot tell" not in out
    assert f"ROC curves (log-log): {tmp_path / 'roc.png'}" in out
    assert (tmp_path / "roc.png").read_bytes().startswith(b"\x89PNG")
    assert "anomed-anonymizer init" in out and "anomed-anonymizer audit" in out
    assert "PyTorch" not in result.stderr + out
    urls = [m[2] for m in map(DEMO_SERVER.match, out.splitlines()) if m]
    assert len(urls) == 4, out
    for url in urls:  # the demo must stop every server it started
        with pytest.raises(requests.ConnectionError):
            requests.get(url + "/", timeout=5)
    assert list(temp.iterdir()) == []  # nor leave its temporary folder


@pytest.mark.slow
def test_demo_learns_the_dataset_from_a_challenge_given_as_url(tmp_path):
    port = free_port()
    server = start_server(
        "emulator",
        [CLI, "emulate-challenge", "--dataset=wine", f"--port={port}"],
        port,
        tmp_path,
    )
    try:
        result = run(
            "demo",
            f"--challenge={server.url}/",
            f"--plot={tmp_path / 'r.png'}",
            timeout=300,
        )
    finally:
        server.stop()
    assert result.returncode == 0, result.stderr + result.stdout
    assert "The challenge serves 13 features: taking wine's bounds." in result.stdout
    assert "Results for wine" in result.stdout


def test_demo_with_a_challenge_of_unknown_shape_names_dataset(tmp_path):
    rng = np.random.default_rng(0)
    table = pd.DataFrame(rng.normal(size=(120, 7)), columns=list("abcdefg"))
    table["label"] = rng.integers(0, 2, 120)
    table.to_csv(tmp_path / "seven.csv", index=False)
    port = free_port()
    server = start_server(
        "emulator",
        [
            CLI,
            "emulate-challenge",
            f"--dataset={tmp_path / 'seven.csv'}",
            "--target=label",
            f"--port={port}",
        ],
        port,
        tmp_path,
    )
    try:
        result = run("demo", f"--challenge={server.host}")
    finally:
        server.stop()
    assert_one_line_error(result, "serves 7 features", "--dataset")


def test_demo_failure_names_the_log_of_the_server_that_failed(tmp_path):
    from anomed_anonymizer.cli.demo import DemoError, _with_log
    from anomed_anonymizer.cli.processes import ServerProcess

    failed = ServerProcess("dp-epsilon-1", None, 1, tmp_path / "dp-epsilon-1.log")
    other = ServerProcess("challenge", None, 2, tmp_path / "challenge.log")
    message = _with_log(
        DemoError("POST /fit answered 500", failed), [other, failed], tmp_path
    )
    assert message.endswith(f"(log of dp-epsilon-1: {tmp_path / 'dp-epsilon-1.log'})")
    assert "challenge.log" not in message


def test_demo_with_a_challenge_that_is_down_is_one_line():
    result = run("demo", f"--challenge=127.0.0.1:{free_port()}")
    assert_one_line_error(result, "unreachable", "emulate-challenge")


# -- audit ---------------------------------------------------------------------

AUDITED_APP = """
import numpy as np
from sklearn.tree import DecisionTreeClassifier

import anomed_anonymizer as anon

overfit = anon.WrappedAnonymizer(
    DecisionTreeClassifier(random_state=0), serializer=anon.pickle_anonymizer
)
application = object()  # stands in for the served app
"""


@pytest.mark.slow
def test_audit_prints_the_table_and_writes_json_markdown_and_plot(tmp_path):
    (tmp_path / "app.py").write_text(AUDITED_APP)
    result = run(
        "audit",
        "app:overfit",
        f"--chdir={tmp_path}",
        "--dataset=breast-cancer",
        "--reference-models=2",
        "--n-jobs=2",
        f"--json={tmp_path / 'r.json'}",
        "--scores",
        "--boundary-queries=60",
        f"--markdown={tmp_path / 'r.md'}",
        f"--plot={tmp_path / 'r.png'}",
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "284 members vs 284 non-members (balanced)" in result.stdout
    assert "| RMIA (online) | scores |" in result.stdout
    assert "reference models" in result.stderr  # the progress bar
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["n_members"] == report["n_non_members"] == 284
    assert len(report["attacks"]) == 8
    assert report["settings"]["dataset"] == "breast-cancer"
    assert report["privacy"] is None  # a non-private model claims nothing
    accuracy = report["utility"]["held_out"]["accuracy"]
    assert report["trade_off"].startswith(
        f"Trade-off: held-out accuracy {accuracy:.2f} at no ε claimed;"
    )
    assert report["trade_off"] in result.stdout
    assert report["checks"][0]["status"] == "skipped"
    one_run = report["one_run"]
    assert one_run["m"] == 284 and one_run["claimed_epsilon"] is None
    assert one_run["epsilon_lower_bound"] > 0  # an unpruned tree memorizes
    assert "One-run DP audit: app:overfit: audited epsilon >=" in result.stdout
    boundary = report["attacks"][3]
    assert boundary["name"] == "decision boundary (HopSkipJump)"
    assert boundary["details"]["most_queries_of_a_sample"] <= 60
    assert len(boundary["member_scores"]) == len(boundary["member_indices"]) == 284
    assert len(report["most_exposed_members"]["rows"]) == 10
    assert (tmp_path / "r.md").read_text() in result.stdout
    assert (tmp_path / "r.png").read_bytes().startswith(b"\x89PNG")


@pytest.mark.slow
def test_audit_runs_the_readme_command_on_the_readme_example(tmp_path):
    (tmp_path / "app.py").write_text(doc_block("supervised-example"))
    command = next(
        line
        for line in doc_lines()
        if line.startswith("anomed-anonymizer audit app:example_anon")
    )
    args = shlex.split(command.split("#")[0])[1:]
    result = run(*args, "--reference-models=2", f"--chdir={tmp_path}", timeout=300)
    assert result.returncode == 0, result.stderr
    assert "75 members vs 75 non-members (balanced)" in result.stdout
    assert "| LiRA (online) | scores |" in result.stdout
    assert "TPR at FPR 0.1%, 1.0%: n/a" in result.stdout
    # The README's DP model: fresh noise, its claim beside the one-run audit.
    assert "Claimed: ε = 1, δ = 0 (diffprivlib GaussianNB" in result.stdout
    assert "Check DP training is randomized: passed" in result.stdout
    assert "claimed epsilon 1.00 (delta 0): not contradicted" in result.stdout


def test_audit_of_something_that_is_not_an_anonymizer_is_one_line(tmp_path):
    (tmp_path / "app.py").write_text(AUDITED_APP)
    result = run("audit", "app:application", f"--chdir={tmp_path}")
    assert_one_line_error(result, "not an anonymizer", "app:example_anon")


def test_audit_usage_errors(tmp_path):
    assert run("audit").returncode == 2
    assert run("audit", "app:x", "--reference-models=3").returncode == 2
    result = run("audit", "app:x", "--boundary-queries=9")
    assert result.returncode == 2
    assert "--boundary-queries" in result.stderr and "at least 41" in result.stderr
    result = run("audit", "--url=http://127.0.0.1:9/predict")
    assert result.returncode == 2
    assert "--challenge" in result.stderr


@pytest.mark.slow
def test_audit_over_http_of_a_served_model(emulator, tmp_path):
    port = free_port()
    server = start_server(
        "anonymizer",
        [
            CLI,
            "serve",
            "anomed_anonymizer.examples.demo_app:application",
            f"--port={port}",
            "--workers=1",
        ],
        port,
        tmp_path,
        env={
            "CHALLENGE_HOST": emulator.host,
            "ANOMED_MODEL": "random-forest",
            "ANOMED_FEATURE_BOUNDS": "[[0, 0, 0, 0], [10, 10, 10, 10]]",
            "ANOMED_N_CLASSES": "3",
            "ANOMED_MODEL_FILE": str(tmp_path / "rf.pkl"),
        },
    )
    try:
        assert requests.post(f"{server.url}/fit", timeout=60).status_code == 201
        result = run(
            "audit",
            f"--url={server.url}/predict",
            f"--challenge={emulator.host}",
            f"--json={tmp_path / 'r.json'}",
            timeout=300,
        )
    finally:
        server.stop()
    assert result.returncode == 0, result.stderr
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["n_members"] == report["n_non_members"] == 11  # iris: 11 held out
    assert {a["threat_model"] for a in report["attacks"]} == {"label-only"}
    assert "Balanced from 105 members and 11 non-members" in result.stdout
    assert "verdict" in result.stdout.lower()
    # Utility and the served budget (a random forest: none), as in-process.
    accuracy = report["utility"]["held_out"]["accuracy"]
    assert 0.5 < accuracy <= 1.0
    assert f"Utility: held-out accuracy {accuracy:.2f}" in result.stdout
    assert report["privacy"]["epsilon"] is None
    assert report["settings"]["privacy_url"] == f"{server.url}/privacy"
    assert "Privacy budget: none served" in result.stdout
    assert report["trade_off"].startswith(
        f"Trade-off: held-out accuracy {accuracy:.2f} at no ε served;"
    )
    assert report["trade_off"] in result.stdout


# -- init ----------------------------------------------------------------------


def smoke(directory: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "test_smoke.py",
        ],
        cwd=directory,
        capture_output=True,
        text=True,
        timeout=600,
    )


def scaffold(tmp_path: Path, template: str) -> Path:
    target = tmp_path / f"my_{template}"
    result = run("init", str(target), f"--template={template}")
    assert result.returncode == 0, result.stderr
    return target


@pytest.mark.slow
@pytest.mark.parametrize(
    ("template", "smoke_tests"), [("supervised", "3 passed"), ("tabular", "2 passed")]
)
def test_init_scaffold_passes_its_own_smoke_test(tmp_path, template, smoke_tests):
    from anomed_anonymizer.cli.scaffold import pinned_requirements
    from anomed_anonymizer.cli.wheel import wheel_name

    target = scaffold(tmp_path, template)
    names = sorted(p.name for p in target.iterdir())
    attack = ["Dockerfile.attack"] if template == "supervised" else []
    assert names == [
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
    assert [p.name for p in (target / "wheels").iterdir()] == [wheel_name()]
    lines = [
        line
        for line in (target / "requirements.txt").read_text().splitlines()
        if not line.startswith("#")
    ]
    # The wheel init placed, then the pins the package ships (which CI
    # installs into a fresh environment), not this environment's versions.
    assert lines == [f"./wheels/{wheel_name()}", *pinned_requirements(template)]
    assert any(line.startswith("pytest==") for line in lines)
    result = smoke(target)
    assert result.returncode == 0, result.stdout + result.stderr
    assert smoke_tests in result.stdout


@pytest.mark.parametrize("template", ["supervised", "tabular", "torch"])
def test_pins_come_with_the_package_and_cover_what_the_template_imports(template):
    from anomed_anonymizer.cli.scaffold import pinned_requirements

    pins = dict(line.split("==") for line in pinned_requirements(template))
    needed = {"numpy", "pandas", "pyarrow", "falcon", "gunicorn", "requests", "pytest"}
    if template == "supervised":
        needed |= {"scikit-learn", "scipy", "diffprivlib"}
    if template == "tabular":
        needed |= {"scikit-learn", "scipy"}
    if template == "torch":
        needed |= {"torch", "opacus", "scikit-learn"}
        assert "+" not in pins["torch"]  # any index's build satisfies the pin
    assert needed <= set(pins)
    assert "anomed-anonymizer" not in pins


def test_the_wheel_init_places_holds_the_package_and_its_metadata(tmp_path):
    import zipfile
    from importlib import metadata

    from anomed_anonymizer.cli.wheel import build_wheel

    wheel = build_wheel(tmp_path)
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        version = metadata.version("anomed-anonymizer")
        dist_info = f"anomed_anonymizer-{version}.dist-info"
        meta = archive.read(f"{dist_info}/METADATA").decode()
        entry_points = archive.read(f"{dist_info}/entry_points.txt").decode()
    assert {
        "anomed_anonymizer/__init__.py",
        "anomed_anonymizer/cli/templates/tabular/test_smoke.py.tmpl",
        "anomed_anonymizer/cli/constraints/supervised.txt",
        f"{dist_info}/WHEEL",
        f"{dist_info}/RECORD",
    } <= names
    assert not any("__pycache__" in name for name in names)
    assert f"Version: {version}" in meta
    assert "anomed-anonymizer = anomed_anonymizer.cli:main" in entry_points


@pytest.mark.slow
def test_tabular_smoke_test_passes_with_mdav_swapped_in(tmp_path):
    """The scaffold's docstring invites swapping the anonymizer."""
    target = scaffold(tmp_path, "tabular")
    app = (target / "app.py").read_text()
    app = app.replace(
        "from anomed_anonymizer.tabular import MondrianKAnonymizer",
        "from anomed_anonymizer.tabular import MDAVMicroaggregator",
    ).replace(
        "MondrianKAnonymizer(quasi_identifiers=QUASI_IDENTIFIERS, k=K)",
        "MDAVMicroaggregator(k=K)",
    )
    assert "MDAVMicroaggregator(k=K)" in app
    (target / "app.py").write_text(app)
    result = smoke(target)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout


@pytest.mark.slow
def test_a_failing_smoke_test_shows_the_servers_answer_and_log(tmp_path):
    target = scaffold(tmp_path, "supervised")
    app = (target / "app.py").read_text().replace("N_FEATURES = 4", "N_FEATURES = 5")
    (target / "app.py").write_text(app)
    result = smoke(target)
    assert result.returncode == 1
    assert "answered 502" in result.stdout
    assert "expected shape (n_samples, 5)" in result.stdout  # the server's reason
    assert "--- anonymizer log" in result.stdout and "POST /fit" in result.stdout


@pytest.mark.parametrize("template", ["supervised", "tabular", "torch"])
def test_the_scaffold_app_without_challenge_host_says_so(tmp_path, template):
    target = scaffold(tmp_path, template)
    env = {k: v for k, v in os.environ.items() if k != "CHALLENGE_HOST"}
    result = run("serve", "app:application", "--chdir", str(target), env=env)
    assert_one_line_error(result, "CHALLENGE_HOST is not set", "HOST:PORT")


def test_init_refuses_a_non_empty_directory(tmp_path):
    (tmp_path / "existing.txt").write_text("keep me")
    result = run("init", str(tmp_path))
    assert_one_line_error(result, "not empty", "--force")
    assert (tmp_path / "existing.txt").read_text() == "keep me"


def test_init_unknown_template_is_a_usage_error(tmp_path):
    result = run("init", str(tmp_path / "x"), "--template=graph")
    assert result.returncode == 2


def test_emulate_challenge_keeps_zip_codes_of_a_csv_as_text(tmp_path):
    rows = ["zip,age,sex"] + [
        f"{zip_code},{age},{sex}"
        for zip_code, age, sex in [("01234", 30, "F"), ("10115", 41, "M")] * 10
    ]
    (tmp_path / "people.csv").write_text("\n".join(rows) + "\n")
    port = free_port()
    server = start_server(
        "emulator",
        [
            CLI,
            "emulate-challenge",
            "--kind=tabular",
            f"--dataset={tmp_path / 'people.csv'}",
            f"--port={port}",
            "--workers=1",
        ],
        port,
        tmp_path,
    )
    try:
        from anomed_anonymizer.wire import decode_table

        leaky = decode_table(
            requests.get(f"{server.url}/data/anonymizer/leaky", timeout=10).content
        )
    finally:
        server.stop()
    assert set(leaky["zip"]) == {"01234", "10115"}
    assert pd.api.types.is_integer_dtype(leaky["age"])


def test_emulator_without_scikit_learn_names_the_extra(tmp_path):
    (tmp_path / "sklearn.py").write_text(
        "raise ModuleNotFoundError(\"No module named 'sklearn'\", name='sklearn')\n"
    )
    env = {
        **os.environ,
        "PYTHONPATH": f"{tmp_path}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
    }
    result = run("emulate-challenge", f"--port={free_port()}", env=env)
    assert_one_line_error(result, "'emulator' extra", "anomed-anonymizer[emulator]")


# -- help ----------------------------------------------------------------------


def test_top_level_summaries_are_whole():
    out = run("--help").stdout
    commands = out.split("Commands:", 1)[1]
    from anomed_anonymizer.cli.main import main

    assert "..." not in commands, commands
    assert len(commands.strip().splitlines()) == len(main.commands)


@pytest.mark.parametrize(
    "command", ["serve", "emulate-challenge", "demo", "audit", "serve-attack", "init"]
)
def test_every_option_has_help(command):
    from anomed_anonymizer.cli.main import main

    options = [p for p in main.commands[command].params if isinstance(p, click.Option)]
    assert options
    assert [o.name for o in options if not o.help] == []


def test_serve_attack_help_lists_its_routes():
    out = run("serve-attack", "--help").stdout
    for route in ("GET  /", "POST /fit", "POST /evaluate?data_split=tuning|validation"):
        assert route in out


NAIVE_BAYES_APP = """
import os

from sklearn.naive_bayes import GaussianNB

import anomed_anonymizer as anon


def validate(feature_array):
    if feature_array.ndim != 2:
        raise ValueError("expected a 2-d feature array")


hostname = os.environ["CHALLENGE_HOST"]
application = anon.supervised_learning_anonymizer_server_factory(
    anonymizer_identifier="example_anonymizer",
    anonymizer_obj=anon.WrappedAnonymizer(
        GaussianNB(),
        serializer=anon.pickle_anonymizer,
        feature_array_validator=validate,
    ),
    model_filepath=os.environ["MODEL_FILE"],
    default_batch_size=64,
    training_data_url=f"http://{hostname}/data/anonymizer/training",
    tuning_data_url=f"http://{hostname}/data/anonymizer/tuning",
    validation_data_url=f"http://{hostname}/data/anonymizer/validation",
    utility_evaluation_url=f"http://{hostname}/utility/anonymizer",
    model_loader=anon.unpickle_anonymizer,
)
"""


@pytest.mark.parametrize(
    ("anonymizer", "challenge"),
    [
        ("127.0.0.1:{a}", "http://127.0.0.1:{c}/"),
        ("http://127.0.0.1:{a}", "127.0.0.1:{c}"),
    ],
    ids=["host-port-and-url", "url-and-host-port"],
)
def test_serve_attack_takes_host_port_or_url(emulator, tmp_path, anonymizer, challenge):
    (tmp_path / "nb_app.py").write_text(NAIVE_BAYES_APP)
    anonymizer_port = free_port()
    anonymizer_server = start_server(
        "anonymizer",
        [
            CLI,
            "serve",
            "nb_app:application",
            "--chdir",
            str(tmp_path),
            f"--port={anonymizer_port}",
            "--workers=1",
        ],
        anonymizer_port,
        tmp_path,
        env={"CHALLENGE_HOST": emulator.host, "MODEL_FILE": str(tmp_path / "m.pkl")},
    )
    port = free_port()
    try:
        attack = start_server(
            "attack",
            [
                CLI,
                "serve-attack",
                f"--anonymizer={anonymizer.format(a=anonymizer_port)}",
                f"--challenge={challenge.format(c=emulator.port)}",
                "--n-features=4",
                "--n-classes=3",
                f"--port={port}",
            ],
            port,
            tmp_path,
        )
        try:
            fit = requests.post(f"{anonymizer_server.url}/fit", timeout=60)
            assert fit.status_code == 201, fit.text
            response = requests.post(f"{attack.url}/fit", timeout=300)
            assert response.status_code == 201, response.text + attack.log()[-2000:]
        finally:
            attack.stop()
    finally:
        anonymizer_server.stop()
    log = attack.log()
    assert "ART_DATA_PATH" not in log  # ART's import-time INFO line
    assert "Warning" not in log


def test_serve_attack_refuses_an_address_that_is_neither():
    result = run(
        "serve-attack",
        "--anonymizer=anonymizer",
        "--challenge=c:1",
        "--n-features=4",
        "--n-classes=3",
    )
    assert result.returncode == 2
    assert "expected HOST:PORT" in result.stderr and "no port" in result.stderr


def test_the_audit_imports_quietly_without_pytorch(tmp_path):
    """ART warns "PyTorch not found" on import where torch is missing: run the
    import in an interpreter that sees every installed package but torch."""
    art = pytest.importorskip("art", reason="install the 'audit' extra")
    import anomed_anonymizer

    site = Path(art.__file__).resolve().parents[1]
    packages = tmp_path / "site-packages-without-torch"
    packages.mkdir()
    for entry in site.iterdir():
        if re.match(r"(torch|functorch|torchgen)([-_.]|$)", entry.name, re.I):
            continue
        (packages / entry.name).symlink_to(entry)
    source = Path(anomed_anonymizer.__file__).resolve().parents[1]
    code = (
        "import importlib.util, logging\n"
        "assert importlib.util.find_spec('torch') is None\n"
        "logging.basicConfig(level=logging.INFO)\n"
        "from anomed_anonymizer.cli.commands.serve_attack import _import_audit\n"
        "_import_audit()\n"
    )
    result = subprocess.run(
        [sys.executable, "-S", "-W", "default", "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": f"{source}{os.pathsep}{packages}"},
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""


@pytest.mark.slow
def test_serve_flags_reach_the_app_in_every_worker(emulator, tmp_path):
    # --refits and --max-body-bytes become the app's settings without being
    # written to the environment (the app sets neither itself).
    port = free_port()
    serve = [CLI, "serve", "versioned_app:application", "--chdir", str(OUR_APPS)]
    server = start_server(
        "anonymizer",
        [
            *serve,
            f"--port={port}",
            "--workers=2",
            "--refits=refuse",
            "--max-body-bytes=100000",
        ],
        port,
        tmp_path,
        env={"CHALLENGE_HOST": emulator.host, "MODEL_FILE": str(tmp_path / "m.pkl")},
    )
    try:
        assert requests.post(f"{server.url}/fit", timeout=120).status_code == 201
        for _ in range(4):  # whichever worker answers
            again = requests.post(f"{server.url}/fit", timeout=120)
            assert again.status_code == 409, again.text
        large = encode_named_arrays({"X": np.zeros((20_000, 4))}, compress=False)
        refused = requests.post(f"{server.url}/predict", data=large, timeout=60)
        assert refused.status_code == 413
        assert "ANOMED_CONTROL_TOKEN is not set" in server.log()
    finally:
        server.stop()
