"""``anomed-anonymizer demo``: the whole platform on this machine.

A challenge (our emulator), the README's differentially private anonymizer
and a membership-inference attack run as real HTTP servers on free loopback
ports; the demo drives fit -> evaluate -> attack and prints utility and
privacy side by side.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click
import requests

from .processes import ServerProcess, free_port, start_server

__all__ = ["MODELS", "DemoResult", "run_demo"]

# The anonymizers the demo can serve: (app, description, model file name).
MODELS = {
    "nb-dp": (
        "anomed_anonymizer.examples.dp_naive_bayes:application",
        "DP Gaussian naive Bayes",
        "anonymizer.pkl",
    ),
    "mlp-dp": (
        "anomed_anonymizer.examples.dp_mlp:application",
        "DP-SGD MLP, Opacus",
        "anonymizer.pt",
    ),
}


@dataclass
class DemoResult:
    """What the demo measured, per data split."""

    utility: dict[str, dict[str, float]] = field(default_factory=dict)
    privacy: dict[str, dict[str, float]] = field(default_factory=dict)
    servers: dict[str, str] = field(default_factory=dict)
    budget: dict[str, Any] = field(default_factory=dict)


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "anomed_anonymizer", *args]


def _post(url: str, timeout: float = 600, **kwargs: Any) -> dict[str, Any]:
    response = requests.post(url, timeout=timeout, **kwargs)
    if response.status_code != 201:
        try:
            detail = response.json().get("description", response.text)
        except ValueError:
            detail = response.text[:300]
        raise RuntimeError(f"POST {url} answered {response.status_code}: {detail}")
    return response.json()


def run_demo(
    dataset: str = "iris",
    epsilon: float = 1.0,
    seed: int = 42,
    challenge: str | None = None,
    keep_running: bool = False,
    model: str = "nb-dp",
) -> DemoResult:
    """Start the servers, run the steps, print the table, stop the servers.

    Parameters
    ----------
    dataset : str
        Embedded dataset of the emulated challenge.
    epsilon : float
        Differential-privacy budget of the anonymizer.
    seed : int
        Seed of the emulated challenge.
    challenge : str | None
        ``host:port`` of a running challenge to use instead of the emulator.
    keep_running : bool
        Leave the servers up until Ctrl-C.
    model : str
        The anonymizer, a key of :data:`MODELS`.

    Returns
    -------
    DemoResult
        Utility (accuracy) and privacy (attack accuracy, TPR, FPR) per split.
    """
    from ..emulator import load_dataset

    data = load_dataset(dataset)
    app, description, model_file = MODELS[model]
    work = Path(tempfile.mkdtemp(prefix="anomed-demo-"))
    servers: list[ServerProcess] = []
    result = DemoResult()
    try:
        if challenge is None:
            port = free_port()
            click.echo(f"Starting the challenge emulator ({data.name}) ...")
            servers.append(
                start_server(
                    "challenge",
                    _cli(
                        "emulate-challenge",
                        f"--dataset={dataset}",
                        f"--seed={seed}",
                        f"--port={port}",
                        "--workers=1",
                    ),
                    port,
                    work,
                )
            )
            challenge = servers[-1].host
        else:
            _check_reachable(f"http://{challenge}/")
        lower, upper = data.bounds
        port = free_port()
        click.echo(f"Starting the anonymizer ({description}, epsilon={epsilon}) ...")
        servers.append(
            start_server(
                "anonymizer",
                _cli(
                    "serve",
                    app,
                    f"--port={port}",
                    "--workers=2",
                ),
                port,
                work,
                env={
                    "CHALLENGE_HOST": challenge,
                    "ANOMED_EPSILON": str(epsilon),
                    "ANOMED_FEATURE_BOUNDS": json.dumps([lower, upper]),
                    "ANOMED_N_CLASSES": str(data.n_classes),
                    "ANOMED_MODEL_FILE": str(work / model_file),
                    # Small networks train fastest on one thread per worker;
                    # more threads than cores slow torch down many times over.
                    "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1"),
                },
            )
        )
        anonymizer = servers[-1].url
        port = free_port()
        click.echo("Starting the membership-inference attack ...")
        servers.append(
            start_server(
                "attack",
                _cli(
                    "serve-attack",
                    f"--anonymizer={anonymizer}",
                    f"--challenge=http://{challenge}",
                    f"--n-features={data.X.shape[1]}",
                    f"--n-classes={data.n_classes}",
                    f"--port={port}",
                ),
                port,
                work,
            )
        )
        attack = servers[-1].url
        result.servers = {
            "challenge": f"http://{challenge}",
            "anonymizer": anonymizer,
            "attack": attack,
        }
        for name, url in result.servers.items():
            click.echo(f"  {name:<11} {url}")
        steps: list[tuple[str, Callable[[], None]]] = [
            (
                "fit the anonymizer",
                lambda: result.budget.update(_post(f"{anonymizer}/fit")["privacy"]),
            ),
        ]
        for split in ("tuning", "validation"):
            steps.append(
                (
                    f"evaluate utility on {split} data",
                    _store(result.utility, split, f"{anonymizer}/evaluate", split),
                )
            )
        steps.append(
            ("fit the attack (queries /predict)", lambda: _post(f"{attack}/fit"))
        )
        for split in ("tuning", "validation"):
            steps.append(
                (
                    f"attack the {split} evaluation set",
                    _store(result.privacy, split, f"{attack}/evaluate", split),
                )
            )
        for number, (title, step) in enumerate(steps, 1):
            started = time.perf_counter()
            click.echo(f"[{number}/{len(steps)}] {title} ...", nl=False)
            step()
            click.echo(f" done ({time.perf_counter() - started:.1f} s)")
        click.echo("")
        click.echo(format_table(result, data.name, epsilon))
        click.echo(format_budget(result.budget))
        if keep_running:
            click.echo("\nServers keep running (Ctrl-C stops them):")
            for name, url in result.servers.items():
                click.echo(f"  {name:<11} {url}")
            click.echo(f"Logs: {work}")
            while all(server.process.poll() is None for server in servers):
                time.sleep(1)
        return result
    except RuntimeError as exc:
        logs = ", ".join(str(server.log_path) for server in servers)
        raise RuntimeError(f"{exc} (server logs: {logs or work})") from exc
    finally:
        for server in reversed(servers):
            server.stop()


def _store(table: dict, split: str, url: str, data_split: str) -> Callable[[], None]:
    def step() -> None:
        table[split] = _post(url, params={"data_split": data_split})["evaluation"]

    return step


def _check_reachable(url: str) -> None:
    try:
        requests.get(url, timeout=5)
    except requests.RequestException as exc:
        reason = type(exc).__name__
        raise RuntimeError(
            f"the challenge at {url} is unreachable ({reason}); start one with "
            "`anomed-anonymizer emulate-challenge` or check --challenge"
        ) from exc


def format_table(result: DemoResult, dataset: str, epsilon: float) -> str:
    """The demo's summary: utility and privacy per split."""
    rows = [
        ("utility", "accuracy", result.utility, "accuracy"),
        ("privacy", "attack accuracy", result.privacy, "acc"),
        ("", "attack TPR", result.privacy, "tpr"),
        ("", "attack FPR", result.privacy, "fpr"),
    ]
    lines = [
        f"Results for {dataset}, epsilon = {epsilon}",
        f"{'':9}{'metric':<17}{'tuning':>10}{'validation':>12}",
        "-" * 48,
    ]
    for group, label, source, key in rows:
        values = [source.get(split, {}).get(key) for split in ("tuning", "validation")]
        cells = [f"{v:.3f}" if isinstance(v, (int, float)) else "-" for v in values]
        lines.append(f"{group:<9}{label:<17}{cells[0]:>10}{cells[1]:>12}")
    lines.append(
        "Attack accuracy near 0.5 means the attack cannot tell members from "
        "non-members."
    )
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
