"""``anomed-anonymizer demo``: the privacy/utility trade-off, on this machine.

A challenge (our emulator, or a running one), a non-private baseline (a
random forest) and a differentially private model at each chosen epsilon
(the README's naive Bayes, or a DP-SGD MLP) run as real HTTP servers on free
loopback ports. The demo fits
every model through the challenge, has the challenge score its utility, then
audits each served ``/predict`` with the label-only attacks of
:mod:`anomed_anonymizer.audit`: the model's training samples (members)
against as many samples it never saw, every figure with its interval. A
model with ``predict_proba`` is also attacked through its scores (the
confidence attack of Yeom et al. 2018, on the model file its server wrote
at ``/fit``): the non-private forest memorises its members, and that attack
finds it; the DP models' ε caps what any attack can find.

``task="regression"`` does the same for a regression challenge (glucose
curves by default): a non-private MLP beside DP-SGD MLPs
(:mod:`anomed_anonymizer.examples.demo_regression`), scored by MSE and MAE,
audited with the loss-threshold attack.
"""

from __future__ import annotations

import math
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click
import numpy as np
import requests

from .audit import base_url
from .processes import ServerProcess, free_port, start_server, stop_servers

__all__ = [
    "MODELS",
    "DemoError",
    "DemoResult",
    "ModelSpec",
    "format_budget",
    "format_table",
    "run_demo",
]

_DEMO_APP = "anomed_anonymizer.examples.demo_app:application"
_REGRESSION_APP = "anomed_anonymizer.examples.demo_regression:application"

#: What the demo can show: a classification or a regression challenge.
TASKS = ("classification", "regression")

#: The DP models the demo can serve: (app, description, model file suffix,
#: environment).
MODELS = {
    "nb-dp": (_DEMO_APP, "DP naive Bayes", ".pkl", {"ANOMED_MODEL": "dp-naive-bayes"}),
    "mlp-dp": (
        "anomed_anonymizer.examples.dp_mlp:application",
        "DP-SGD MLP",
        ".pt",
        {},
    ),
}


class DemoError(RuntimeError):
    """A step failed; ``server`` is the one whose log explains it."""

    def __init__(self, message: str, server: ServerProcess | None = None) -> None:
        super().__init__(message)
        self.server = server


@dataclass(frozen=True)
class ModelSpec:
    """One anonymizer the demo serves: ``key`` names its server, log and
    model file."""

    key: str
    label: str
    env: dict[str, str]
    app: str = _DEMO_APP
    suffix: str = ".pkl"


@dataclass
class Task:
    """What the demo knows about the challenge's data."""

    name: str
    bounds: tuple[list[float], list[float]]
    n_classes: int
    members: tuple[np.ndarray, np.ndarray]
    non_members: tuple[np.ndarray, np.ndarray]
    kind: str = "classification"
    #: A regression's public (centre, scale) of the targets.
    target_scale: tuple[float, float] = (0.0, 1.0)


@dataclass
class DemoResult:
    """Utility per model and split, the audit and the budget each model
    reported at ``/fit``, the servers."""

    utility: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)
    budgets: dict[str, dict[str, Any]] = field(default_factory=dict)
    reports: dict[str, Any] = field(default_factory=dict)
    servers: dict[str, str] = field(default_factory=dict)
    plot: Path | None = None


def model_specs(
    epsilons: Sequence[float],
    seed: int,
    model: str = "nb-dp",
    task: str = "classification",
) -> list:
    """The non-private baseline, then the DP ``model`` at each epsilon (for a
    regression: an MLP without DP, then DP-SGD MLPs)."""
    if task == "regression":
        return [
            ModelSpec(
                "baseline",
                "MLP, no DP",
                {"ANOMED_MODEL": "mlp", "ANOMED_SEED": str(seed)},
                _REGRESSION_APP,
                ".pt",
            ),
            *(
                ModelSpec(
                    f"dp-epsilon-{epsilon:g}",
                    f"DP-SGD MLP, ε={epsilon:g}",
                    {"ANOMED_MODEL": "mlp-dp", "ANOMED_EPSILON": str(epsilon)},
                    _REGRESSION_APP,
                    ".pt",
                )
                for epsilon in epsilons
            ),
        ]
    if model not in MODELS:
        raise ValueError(f"model must be one of {', '.join(MODELS)}, not {model!r}")
    app, description, suffix, env = MODELS[model]
    specs = [
        ModelSpec(
            "baseline",
            "random forest, no DP",
            {"ANOMED_MODEL": "random-forest", "ANOMED_SEED": str(seed)},
        )
    ]
    for epsilon in epsilons:
        specs.append(
            ModelSpec(
                f"dp-epsilon-{epsilon:g}",
                f"{description}, ε={epsilon:g}",
                {**env, "ANOMED_EPSILON": str(epsilon)},
                app,
                suffix,
            )
        )
    return specs


def run_demo(
    dataset: str | None = None,
    epsilons: Sequence[float] = (1.0,),
    seed: int = 42,
    challenge: str | None = None,
    keep_running: bool = False,
    target: str | None = None,
    plot: Path | None = Path("anomed-demo-roc.png"),
    model: str = "nb-dp",
    task: str = "classification",
) -> DemoResult:
    """Start the servers, fit, evaluate and audit every model, print the table.

    Parameters
    ----------
    dataset : str | None
        Embedded dataset or file the emulated challenge serves (default
        breast-cancer); with ``challenge``, the data it serves (default: the
        embedded dataset of the same number of features).
    epsilons : Sequence[float]
        Privacy budgets of the DP models shown beside the baseline.
    seed : int
        Seeds the emulated challenge, the baseline and the audit.
    challenge : str | None
        ``HOST:PORT`` or URL of a running challenge instead of the emulator.
    keep_running : bool
        Leave the servers (and their logs) up until Ctrl-C.
    target : str | None
        Target column of a ``.csv``/``.parquet`` dataset.
    plot : pathlib.Path | None
        Where to draw the ROC curves (PNG); ``None`` draws none.
    model : str
        The DP model shown beside the baseline, a key of :data:`MODELS`
        (classification only).
    task : str
        ``"classification"`` or ``"regression"`` (default dataset: the
        glucose curves; MLPs with and without DP-SGD).

    Returns
    -------
    DemoResult

    Raises
    ------
    DemoError
        If a server or step fails; the message names the log to read (the
        temporary folder is then kept).
    """
    work = Path(tempfile.mkdtemp(prefix="anomed-demo-"))
    servers: list[ServerProcess] = []
    keep_logs = keep_running
    try:
        if task not in TASKS:
            raise ValueError(f"task must be one of {', '.join(TASKS)}, not {task!r}")
        specs = model_specs(epsilons, seed, model, task)
        result = _run(
            dataset, specs, seed, challenge, target, plot, work, servers, task
        )
        if keep_running:
            _wait_for_ctrl_c(result, servers, work)
        return result
    except (RuntimeError, ValueError) as exc:
        keep_logs = True
        raise DemoError(_with_log(exc, servers, work)) from exc
    finally:
        stop_servers(servers, timeout=5.0)
        if not keep_logs:
            shutil.rmtree(work, ignore_errors=True)


def _run(
    dataset, specs, seed, challenge, target, plot, work, servers, kind
) -> DemoResult:
    result = DemoResult()
    if challenge is None:
        dataset = dataset or ("glucose" if kind == "regression" else "breast-cancer")
        servers.append(_start_emulator(dataset, target, seed, work, kind))
        challenge_url = servers[-1].url
    else:
        challenge_url = base_url(challenge)
        _check_reachable(challenge_url)
    task = _learn_task(
        challenge_url, dataset, target, seed, emulated=challenge is None, kind=kind
    )
    anonymizers = {}
    for spec in specs:
        click.echo(f"Starting the anonymizer: {spec.label} ...")
        servers.append(_start_anonymizer(spec, task, challenge_url, work))
        anonymizers[spec.label] = servers[-1]
    result.servers = {"challenge": challenge_url}
    result.servers.update({spec.key: anonymizers[spec.label].url for spec in specs})
    for name, url in result.servers.items():
        click.echo(f"  {name:<18} {url}")
    envs = {
        spec.key: _anonymizer_env(spec, task, challenge_url, work) for spec in specs
    }
    _run_steps(_steps(specs, anonymizers, task, seed, result, envs))
    click.echo("")
    epsilons = [float(spec.env["ANOMED_EPSILON"]) for spec in specs[1:]]
    click.echo(format_table(result, task, epsilons))
    for label, budget in result.budgets.items():
        click.echo(f"{label}: {format_budget(budget)}")
    if plot is not None:
        result.plot = _plot(result, plot, task.kind)
        click.echo(f"\nROC curves (log-log): {result.plot}")
    click.echo(_next_steps(task))
    return result


def _start_emulator(
    dataset: str,
    target: str | None,
    seed: int,
    work: Path,
    kind: str = "classification",
) -> ServerProcess:
    click.echo(f"Starting the challenge emulator ({dataset}) ...")
    port = free_port()
    argv = _cli(
        "emulate-challenge",
        f"--dataset={dataset}",
        f"--task={kind}",
        f"--seed={seed}",
        f"--port={port}",
        "--workers=1",
        *([f"--target={target}"] if target else []),
    )
    return start_server("challenge", argv, port, work)


def _start_anonymizer(
    spec: ModelSpec, task: Task, challenge_url: str, work: Path
) -> ServerProcess:
    port = free_port()
    env = _anonymizer_env(spec, task, challenge_url, work)
    argv = _cli("serve", spec.app, f"--port={port}", "--workers=1")
    return start_server(spec.key, argv, port, work, env=env)


def _anonymizer_env(
    spec: ModelSpec, task: Task, challenge_url: str, work: Path
) -> dict[str, str]:
    """The environment the anonymizer's app reads (its server's, and the
    demo's while it loads the model file the server wrote)."""
    import json

    return {
        "CHALLENGE_HOST": challenge_url.split("://", 1)[1],
        "ANOMED_FEATURE_BOUNDS": json.dumps(task.bounds),
        "ANOMED_N_CLASSES": str(task.n_classes),
        "ANOMED_TARGET_SCALE": json.dumps(list(task.target_scale)),
        "ANOMED_MODEL_FILE": str(work / f"{spec.key}{spec.suffix}"),
        # Small networks train fastest on one thread per worker; more threads
        # than cores slow torch down many times over.
        "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1"),
        **spec.env,
    }


def _cli(*args: str) -> list[str]:
    import sys

    return [sys.executable, "-m", "anomed_anonymizer", *args]


def _check_reachable(url: str) -> None:
    try:
        requests.get(f"{url}/", timeout=5)
    except requests.RequestException as exc:
        raise DemoError(
            f"the challenge at {url} is unreachable ({type(exc).__name__}); start "
            "one with `anomed-anonymizer emulate-challenge` or check --challenge"
        ) from exc


# -- what the challenge serves ---------------------------------------------------


def _learn_task(
    challenge_url: str,
    dataset: str | None,
    target: str | None,
    seed: int,
    emulated: bool,
    kind: str = "classification",
) -> Task:
    """Members (the training data the models get) and as many non-members,
    plus the public feature bounds (and a regression's target scale) the DP
    model needs."""
    from ..emulator import MIAChallenge
    from ..wire import ChallengeClient, ChallengeError

    client = ChallengeClient(download_timeout=60, upload_timeout=60)
    try:
        training = client.fetch_named_arrays(
            f"{challenge_url}/data/anonymizer/training", required=("X", "y")
        )
        data = _public_dataset(
            dataset, target, training["X"].shape[1], challenge_url, kind
        )
        if emulated:  # our emulator: every held-out sample is a known non-member
            mia = MIAChallenge(data, seed=seed)
            held_out = [
                np.concatenate(parts)
                for parts in zip(mia.tuning, mia.validation, strict=True)
            ]
        else:
            served = client.fetch_named_arrays(
                f"{challenge_url}/data/deanonymizer/non-members", required=("X", "y")
            )
            held_out = [served["X"], served["y"]]
    except ChallengeError as exc:
        raise DemoError(f"the challenge at {challenge_url} failed: {exc}") from exc
    members = (training["X"], training["y"])
    if kind == "regression":
        y = np.asarray(data.y, dtype=np.float64)
        # The public dataset's spread, as its bounds: learning (y - mean) / std.
        scale = (float(y.mean()), float(y.std()) or 1.0)
        return Task(data.name, data.bounds, 0, members, tuple(held_out), kind, scale)
    return Task(data.name, data.bounds, data.n_classes, members, tuple(held_out))


def _public_dataset(
    dataset: str | None,
    target: str | None,
    n_features: int,
    url: str,
    kind: str = "classification",
):
    """The dataset whose public bounds fit what the challenge serves."""
    from ..emulator import EMBEDDED_DATASETS, REGRESSION_DATASETS, load_dataset

    if dataset is not None:
        data = load_dataset(dataset, target)
        if kind == "regression":
            data = data.as_task("regression")
        if data.X.shape[1] != n_features:
            raise DemoError(
                f"the challenge at {url} serves {n_features} features, but "
                f"{data.name} has {data.X.shape[1]}: pass the --dataset it serves"
            )
        return data
    candidates = (
        REGRESSION_DATASETS
        if kind == "regression"
        else [n for n in EMBEDDED_DATASETS if n not in REGRESSION_DATASETS]
    )
    for name in candidates:
        data = load_dataset(name)
        if data.X.shape[1] == n_features:
            click.echo(
                f"The challenge serves {n_features} features: taking {name}'s bounds."
            )
            return data
    raise DemoError(
        f"the challenge at {url} serves {n_features} features, which matches no "
        f"embedded dataset ({', '.join(candidates)}): pass --dataset FILE "
        "(with --target COL for a table) holding its data; the DP model takes its "
        "feature bounds from it"
    )


# -- the steps -----------------------------------------------------------------


def _steps(
    specs, anonymizers, task: Task, seed: int, result: DemoResult, envs: dict
) -> list:
    steps: list[tuple[str, Callable[[], None]]] = []
    for spec in specs:
        server = anonymizers[spec.label]
        utility = result.utility.setdefault(spec.label, {})
        steps.append((f"{spec.label}: fit", _fitter(server, spec, result)))
        for split in ("tuning", "validation"):
            steps.append(
                (
                    f"{spec.label}: utility on {split} data",
                    _evaluator(server, split, utility),
                )
            )
        steps.append(
            (
                f"{spec.label}: audit /predict",
                _auditor(server, spec, task, seed, result, envs[spec.key]),
            )
        )
    return steps


def _run_steps(steps: list[tuple[str, Callable[[], None]]]) -> None:
    for number, (title, step) in enumerate(steps, 1):
        started = time.perf_counter()
        click.echo(f"[{number}/{len(steps)}] {title} ...", nl=False)
        step()
        click.echo(f" done ({time.perf_counter() - started:.1f} s)")


def _post(server: ServerProcess, route: str, **kwargs: Any) -> dict[str, Any]:
    url = f"{server.url}{route}"
    try:
        response = requests.post(url, timeout=600, **kwargs)
    except requests.RequestException as exc:
        raise DemoError(f"POST {url} failed: {type(exc).__name__}", server) from exc
    if response.status_code != 201:
        try:
            detail = response.json().get("description", response.text)
        except ValueError:
            detail = response.text[:300]
        raise DemoError(f"POST {url} answered {response.status_code}: {detail}", server)
    return response.json()


def _fitter(server: ServerProcess, spec: ModelSpec, result: DemoResult):
    def step() -> None:
        answer = _post(server, "/fit")
        result.budgets[spec.label] = answer.get("privacy") or {}

    return step


def _evaluator(server: ServerProcess, split: str, table: dict) -> Callable[[], None]:
    def step() -> None:
        table[split] = _post(server, "/evaluate", params={"data_split": split})[
            "evaluation"
        ]

    return step


def _auditor(
    server, spec: ModelSpec, task: Task, seed: int, result: DemoResult, env: dict
):
    def step() -> None:
        from ..audit import MembershipAudit
        from ..wire import ChallengeError

        audit = MembershipAudit(reference_models=0, seed=seed)
        try:
            report = audit.run_black_box(
                f"{server.url}/predict",
                *task.members,
                *task.non_members,
                name=spec.label,
            )
        except ChallengeError as exc:
            raise DemoError(f"auditing {spec.label} failed: {exc}", server) from exc
        if task.kind == "classification":
            report = _with_score_attack(report, audit, task, env)
        result.reports[spec.label] = report

    return step


#: The score-based attack the demo adds for a model with ``predict_proba``.
SCORE_ATTACK = "confidence (scores)"


def _with_score_attack(report, audit, task: Task, env: dict[str, str]):
    """``report`` with the confidence attack (Yeom et al. 2018: members get
    a higher probability of their true label) on the same balanced rows, if
    the model file the server wrote at ``/fit`` is a pickle with
    ``predict_proba``; Holm's correction then covers it too. Otherwise
    ``report`` with a note saying why the attack did not run."""
    import dataclasses

    from ..audit.metrics import evaluate_scores
    from ..audit.report import AttackResult
    from ..audit.targets import probability_model, true_label_probability

    path = Path(env["ANOMED_MODEL_FILE"])
    model = None
    if path.suffix == ".pkl" and path.is_file():
        model = _load_own_model(path, env)
    if model is None or probability_model(model) is None:
        note = "Scores: no predict_proba in the model file, label-only attacks only."
        return dataclasses.replace(report, notes=[*report.notes, note])
    first = report.attacks[0]
    (X_m, y_m), (X_n, y_n) = task.members, task.non_members
    keep_m, keep_n = first.member_indices, first.non_member_indices
    member = true_label_probability(model, X_m[keep_m], y_m[keep_m])
    non_member = true_label_probability(model, X_n[keep_n], y_n[keep_n])
    metrics = evaluate_scores(
        member,
        non_member,
        confidence=audit.confidence,
        n_bootstrap=audit.n_bootstrap,
        delta=audit.delta,
        seed=audit.seed,
    )
    attack = AttackResult(
        SCORE_ATTACK,
        "scores",
        metrics,
        member,
        non_member,
        {"score": "probability of the true label (Yeom et al. 2018)"},
        member_indices=keep_m,
        non_member_indices=keep_n,
    )
    note = (
        "Scores: the confidence attack reads predict_proba of the model file "
        "the server wrote at /fit (an attacker with scores; /predict gives "
        "labels only)."
    )
    return dataclasses.replace(
        report, attacks=[*report.attacks, attack], notes=[*report.notes, note]
    )


def _load_own_model(path: Path, env: dict[str, str]) -> Any:
    """Unpickle the model file that the demo's own server wrote into the
    demo's private temporary folder (never a file from elsewhere), with the
    server's environment, which the app module reads when it is imported."""
    from ..models.persistence import unpickle_anonymizer

    saved = {key: os.environ.get(key) for key in env}
    os.environ.update(env)
    try:
        return unpickle_anonymizer(path)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


# -- what the demo prints ---------------------------------------------------------


def format_table(result: DemoResult, task: Task, epsilons: Sequence[float] = ()) -> str:
    """Utility and the label-only audit, one block of rows per model."""
    reports = list(result.reports.values())
    n = reports[0].n_members if reports else 0
    metric = "MSE/MAE (val.)" if task.kind == "regression" else "accuracy"
    lines = [
        f"Results for {task.name}: each model audited on {n} of its training "
        f"samples vs {n} samples it never saw (95% intervals)",
        f"{'model':<24}{metric:>14}  {'attack':<32}{'AUC [95% CI]':<20}"
        f"{'TPR@1%FPR':<11}{'advantage [95% CI]':<21}{'ε ≥':<6}verdict",
        "-" * 138,
    ]
    for label, report in result.reports.items():
        accuracy = _utility(result.utility.get(label, {}), task.kind)
        for index, attack in enumerate(report.attacks):
            lines.append(
                _table_row(
                    label if index == 0 else "", accuracy if index == 0 else "", attack
                )
            )
    lines.append("Why each verdict:")
    for label, report in result.reports.items():
        lines.append(f"  {label}: {report.verdict}; {_bound(result, label)}")
        for attack in report.attacks:
            lines.append(
                f"    {attack.name}: {attack.verdict}, because {attack.verdict_reason}"
            )
        scored = any(a.threat_model == "scores" for a in report.attacks)
        if task.kind == "classification" and not scored:
            lines.append("    no score-based attack: the model has no predict_proba")
    lines.append(_table_footer(n, epsilons, task.kind))
    return "\n".join(lines)


def _bound(result: DemoResult, label: str) -> str:
    """What the model's privacy budget guarantees, beside what was measured."""
    epsilon = result.budgets.get(label, {}).get("epsilon")
    if epsilon is None:
        return "no privacy guarantee bounds what an attack can find"
    cap = 1 / (1 + math.exp(-float(epsilon)))
    return (
        f"ε = {float(epsilon):.3g} caps any attack's AUC at {cap:.2f}, whatever "
        "these samples can resolve (a guarantee, not a measurement)"
    )


def _utility(utility: dict[str, dict[str, float]], kind: str = "classification") -> str:
    if kind == "regression":  # validation MSE and MAE
        validation = utility.get("validation", {})
        values = [(validation.get("mse"), 1), (validation.get("mae"), 2)]
    else:
        values = [
            (utility.get(split, {}).get("accuracy"), 2)
            for split in ("tuning", "validation")
        ]
    return "/".join(
        f"{v:.{places}f}" if isinstance(v, int | float) else "-" for v, places in values
    )


def _table_row(label: str, accuracy: str, attack) -> str:
    m = attack.metrics
    tpr = m.tpr_at_fpr[0.01]
    auc = f"{m.auc:.2f} [{m.auc_ci[0]:.2f}, {m.auc_ci[1]:.2f}]"
    advantage = (
        f"{m.advantage:+.2f} [{m.advantage_ci[0]:+.2f}, {m.advantage_ci[1]:+.2f}]"
    )
    return (
        f"{label:<24}{accuracy:>14}  {attack.name:<32}{auc:<20}"
        f"{'n/a' if tpr is None else f'{tpr:.3f}':<11}{advantage:<21}"
        f"{m.epsilon_lower_bound:<6.2f}{attack.verdict}"
    )


def _table_footer(
    n: int, epsilons: Sequence[float], kind: str = "classification"
) -> str:
    ceilings = ", ".join(f"ε={e:g}: {1 / (1 + math.exp(-e)):.2f}" for e in epsilons)
    utility = (
        "MSE/MAE: the challenge's mean squared and mean absolute error on its "
        "validation data (lower is better). loss threshold: members' "
        "predictions lie closer to their targets (Yeom et al. 2018)."
        if kind == "regression"
        else "accuracy: the challenge's score on its tuning/validation data."
    )
    lines = [
        f"{utility} advantage: TPR - FPR, not accuracy, so an attack that calls "
        "everyone a member scores 0.",
        "verdict, corrected for the attacks tried per model (Holm): leaks = AUC "
        "above 0.5 (one-sided test); signal with flipped sign = the AUC interval "
        "lies below 0.5 (members score lower: a signal, not privacy); no leak "
        "found = every AUC interval stays below 0.55; inconclusive = too few "
        "samples to tell, or an attack that scored everyone alike.",
    ]
    if ceilings:
        lines.append(
            f"ε-DP caps any attack's AUC at e^ε/(1+e^ε) ({ceilings}); a δ > 0 "
            "loosens the cap by about δ."
        )
    if n < 100:
        lines.append(f"TPR@1%FPR: n/a, {n} non-members cannot resolve an FPR of 1 %.")
    return "\n".join(lines)


def format_budget(budget: dict[str, Any]) -> str:
    """One line: the privacy budget the anonymizer reported at ``/fit``."""
    if budget.get("epsilon") is None:
        return "Privacy budget: none reported (no differential-privacy guarantee)."
    return (
        f"Privacy budget spent: epsilon = {budget['epsilon']:.4g}, delta = "
        f"{budget['delta']:.3g} ({budget['mechanism']}, accountant: "
        f"{budget['accountant']})"
    )


def _plot(result: DemoResult, path: Path, kind: str = "classification") -> Path:
    from ..audit import plot_roc

    strongest = {label: [r.strongest().name] for label, r in result.reports.items()}
    return plot_roc(
        result.reports,
        path,
        title=(
            "Loss-threshold attack per model"
            if kind == "regression"
            else "Strongest attack per model"
        ),
        attacks=strongest,
    )


def _next_steps(task: Task) -> str:
    if task.kind == "regression":
        return (
            "\nNext:\n"
            "  anomed-anonymizer init my_anonymizer --template torch-regression\n"
            "      scaffold a DP-SGD regression submission (app.py, Dockerfile, "
            "smoke test)\n"
            f"  anomed-anonymizer audit app:anonymizer --dataset {task.name} "
            "--plot roc.png\n"
            "      audit your unfitted regressor in process: the loss-threshold "
            "attack and LiRA on the loss with reference models"
        )
    return (
        "\nNext:\n"
        "  anomed-anonymizer init my_anonymizer\n"
        "      scaffold a submission (app.py, Dockerfile, smoke test)\n"
        f"  anomed-anonymizer audit app:example_anon --dataset {task.name} "
        "--plot roc.png\n"
        "      audit your unfitted anonymizer in process on data of its task: the\n"
        "      label-only attacks, plus LiRA and RMIA if it has predict_proba"
    )


def _with_log(exc: BaseException, servers: list[ServerProcess], work: Path) -> str:
    server = getattr(exc, "server", None)
    if server is not None:
        return f"{exc} (log of {server.name}: {server.log_path})"
    if "log ends" in str(exc):  # start_server already quoted the failing log
        return f"{exc}\n(logs: {work})"
    return f"{exc} (server logs: {work})"


def _wait_for_ctrl_c(
    result: DemoResult, servers: list[ServerProcess], work: Path
) -> None:
    click.echo("\nServers keep running (Ctrl-C stops them):")
    for name, url in result.servers.items():
        click.echo(f"  {name:<18} {url}")
    click.echo(f"Logs: {work}")
    while all(server.process.poll() is None for server in servers):
        time.sleep(1)
