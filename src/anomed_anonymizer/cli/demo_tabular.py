"""``anomed-anonymizer demo --kind tabular``: the tabular platform on this
machine, with an audit of every built-in anonymizer.

The emulator serves an Adult-like leaky table (less a held-out control set);
each built-in anonymizer -- Mondrian k = 5, 10, 25, MDAV and DP synthesis --
runs in turn as a real tabular anonymizer server: ``/fit`` pulls the table
and releases it, ``/evaluate`` has the challenge score the release, the
release is downloaded and audited (re-identification risk, Anonymeter's
attacks against the control set, reconstruction). One table compares them.
"""

from __future__ import annotations

import importlib.util
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click
import requests

from .._install import wheel_install_line
from .processes import ServerProcess, free_port, start_server

__all__ = ["CONFIGURATIONS", "TabularDemoResult", "run_tabular_demo"]

_APP = "anomed_anonymizer.examples.tabular_builtin:application"

#: (column title, environment of the example app).
CONFIGURATIONS: list[tuple[str, dict[str, str]]] = [
    ("Mondrian k=5", {"ANOMED_TABULAR_ANONYMIZER": "mondrian", "ANOMED_K": "5"}),
    ("Mondrian k=10", {"ANOMED_TABULAR_ANONYMIZER": "mondrian", "ANOMED_K": "10"}),
    ("Mondrian k=25", {"ANOMED_TABULAR_ANONYMIZER": "mondrian", "ANOMED_K": "25"}),
    ("MDAV k=5", {"ANOMED_TABULAR_ANONYMIZER": "mdav", "ANOMED_K": "5"}),
    (
        "DP synth eps=1",
        {"ANOMED_TABULAR_ANONYMIZER": "dp-synthesis", "ANOMED_EPSILON": "1.0"},
    ),
]

SYNTH_MISSING = (
    "DP synthesis skipped: smartnoise-synth is not importable here. It caps "
    "pandas below 3, so install it in its own environment "
    "(docs/getting-started.md, use synth): "
    "pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu "
    f"&& {wheel_install_line('synth,audit-table')}, then run the demo from there."
)


@dataclass
class TabularDemoResult:
    """The audits of the demo, by column title, and what was skipped."""

    audits: dict[str, Any] = field(default_factory=dict)
    scores: dict[str, dict[str, float]] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)


def run_tabular_demo(
    rows: int = 2000,
    seed: int = 42,
    n_attacks: int = 500,
    control_fraction: float = 0.5,
    configurations: list[tuple[str, dict[str, str]]] | None = None,
) -> TabularDemoResult:
    """Start the emulator, serve, fit, score and audit each anonymizer, print
    the comparison, stop every server.

    Parameters
    ----------
    rows : int
        Rows of the Adult-like table (the control set is taken from them).
    seed : int
        Seeds the table, the control split and the attacks.
    n_attacks : int
        Anonymeter's attacks per evaluation.
    control_fraction : float
        Share of the rows held out as Anonymeter's control set.
    configurations : list or None
        The anonymizers (title, environment); ``None``: :data:`CONFIGURATIONS`.

    Returns
    -------
    TabularDemoResult
    """
    from ..emulator import adult_like
    from ..table_audit import split_control
    from ..table_audit.attacks import ANONYMETER_MISSING, anonymeter_available

    configurations = CONFIGURATIONS if configurations is None else configurations
    work = Path(tempfile.mkdtemp(prefix="anomed-tabular-demo-"))
    original, control = split_control(
        adult_like(rows, seed=seed), control_fraction, seed
    )
    result = TabularDemoResult()
    if not anonymeter_available():
        result.skipped.append(f"Anonymeter's attacks skipped: {ANONYMETER_MISSING}")
    servers: list[ServerProcess] = []
    try:
        servers.append(_start_challenge(work, original, len(control), seed))
        for title, env in configurations:
            synthesis = env.get("ANOMED_TABULAR_ANONYMIZER") == "dp-synthesis"
            if synthesis and importlib.util.find_spec("snsynth") is None:
                result.skipped.append(SYNTH_MISSING)
                continue
            server = _serve_anonymizer(title, env, servers[0].host, work)
            servers.append(server)
            result.audits[title], result.scores[title] = _fit_score_audit(
                title, server.url, original, control, seed, n_attacks
            )
            server.stop()
        click.echo("")
        click.echo(format_comparison(result, len(original), len(control)))
        return result
    except RuntimeError as exc:
        logs = ", ".join(str(server.log_path) for server in servers)
        raise RuntimeError(f"{exc} (server logs: {logs or work})") from exc
    finally:
        for server in reversed(servers):
            server.stop()


def _start_challenge(work: Path, original, n_control: int, seed: int) -> ServerProcess:
    original.to_parquet(work / "leaky.parquet")
    port = free_port()
    click.echo(
        f"Starting the challenge emulator ({len(original)} Adult-like rows; "
        f"{n_control} more held out as the audit's control set) ..."
    )
    challenge = start_server(
        "challenge",
        _cli(
            "emulate-challenge",
            "--kind=tabular",
            f"--dataset={work / 'leaky.parquet'}",
            f"--seed={seed}",
            f"--port={port}",
            "--workers=1",
        ),
        port,
        work,
    )
    click.echo(f"  challenge   {challenge.url}")
    return challenge


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "anomed_anonymizer", *args]


def _serve_anonymizer(
    title: str, env: dict[str, str], challenge: str, work: Path
) -> ServerProcess:
    port = free_port()
    name = title.lower().replace(" ", "-").replace("=", "")
    click.echo(f"Starting the anonymizer ({title}) ...")
    return start_server(
        name,
        _cli("serve", _APP, f"--port={port}", "--workers=1", "--timeout=1800"),
        port,
        work,
        env={
            **env,
            "CHALLENGE_HOST": challenge,
            "ANOMED_OUTPUT_DIR": str(work / name),
            # No ANOMED_SEED: DP synthesis must not draw from a public seed.
        },
    )


def _fit_score_audit(
    title: str, url: str, original, control, seed: int, n_attacks: int
):
    from ..emulator.adult import ADULT_QUASI_IDENTIFIERS, ADULT_SENSITIVE
    from ..table_audit import audit_release
    from ..wire import decode_table

    def step(label: str, action: Callable[[], Any]) -> Any:
        started = time.perf_counter()
        click.echo(f"  {label} ...", nl=False)
        value = action()
        click.echo(f" done ({time.perf_counter() - started:.1f} s)")
        return value

    fitted = step("fit (pull the leaky table, release it)", lambda: _post(f"{url}/fit"))
    score = step(
        "evaluate (the challenge scores the release)",
        lambda: _post(f"{url}/evaluate", params={"data_split": "tuning"})["evaluation"],
    )
    release = decode_table(_get(f"{url}/anon_data").content)
    audit = step(
        "audit the release",
        lambda: audit_release(
            original,
            release,
            fitted["scheme"],
            control=control,
            quasi_identifiers=list(ADULT_QUASI_IDENTIFIERS),
            sensitive=ADULT_SENSITIVE,
            n_attacks=n_attacks,
            seed=seed,
            anonymizer=title,
            progress=lambda message: None,  # the step line above says it
            contributions=False,  # the demo's table shows no per-column figures
        ),
    )
    figure = _scored_figure(score)
    audited = audit.utility["challenge_score"].get(figure) if figure else None
    if figure is not None and audited != score[figure]:
        raise RuntimeError(
            f"{title}: the audit's {figure} ({audited}) differs from the "
            f"challenge's ({score[figure]})"
        )
    return audit, score


def _scored_figure(score: dict[str, float]) -> str | None:
    return next((k for k in ("ncp", "sse_sst", "marginal_tvd") if k in score), None)


def _post(url: str, **kwargs: Any) -> dict[str, Any]:
    response = requests.post(url, timeout=1800, **kwargs)
    if response.status_code != 201:
        raise RuntimeError(
            f"POST {url} answered {response.status_code}: {response.text[:300]}"
        )
    return response.json()


def _get(url: str) -> requests.Response:
    response = requests.get(url, timeout=60)
    if response.status_code != 200:
        raise RuntimeError(
            f"GET {url} answered {response.status_code}: {response.text[:300]}"
        )
    return response


def format_comparison(result: TabularDemoResult, n_rows: int, n_control: int) -> str:
    """The side-by-side table of the demo: one column per anonymizer."""
    titles = list(result.audits)
    width = max([19, *(len(t) + 2 for t in titles)])

    def row(label: str, cell: Callable[[str], str] = lambda title: "") -> str:
        return f"{label:<30}" + "".join(f"{cell(t):>{width}}" for t in titles)

    def number(value: float | None) -> str:
        return "-" if value is None else f"{value:.3f}"

    def interval(title: str, name: str) -> str:
        attack = result.audits[title].attack(name)
        if attack is None:
            return "-"
        return f"{attack.risk:.2f} [{attack.ci[0]:.2f},{attack.ci[1]:.2f}]"

    lines = [
        f"Audit of each release ({n_rows} records released, {n_control} held out "
        "as control)",
        row("", lambda title: title),
        "-" * (30 + width * len(titles)),
        row("challenge utility score", lambda t: number(result.scores[t]["utility"])),
    ]
    for label, key in _UTILITY_ROWS:
        lines.append(row(label, lambda t, k=key: number(result.audits[t].utility[k])))
    lines.append(row("re-identification risk"))
    for model, measure in _RISK_ROWS:

        def risk(title: str, model: str = model, measure: str = measure) -> str:
            return number(getattr(getattr(result.audits[title].risk, model), measure))

        lines.append(row(f"  {model} {measure}", risk))
    lines.append(
        row(
            "  records at risk (prosecutor)",
            lambda t: f"{result.audits[t].risk.prosecutor.records_at_risk:.1%}",
        )
    )
    lines.append(row("attacks: risk [95% interval]"))
    names = [a.name for a in result.audits[titles[0]].attacks] if titles else []
    lines += [row(f"  {name}", lambda t, n=name: interval(t, n)) for name in names]
    lines += [
        "Risk: prosecutor/journalist/marketer as ARX defines them (1/class size; "
        "threshold 0.1). Attacks: Anonymeter's residual risk over the control set.",
        *result.skipped,
    ]
    return "\n".join(lines)


_UTILITY_ROWS = [
    ("  NCP", "ncp"),
    ("  SSE/SST", "sse_sst"),
    ("  mean marginal TVD", "mean_tvd"),
    ("  mean pairwise TVD", "mean_pairwise_tvd"),
]
_RISK_ROWS = [
    (model, measure)
    for model in ("prosecutor", "journalist", "marketer")
    for measure in ("highest", "average")
]
