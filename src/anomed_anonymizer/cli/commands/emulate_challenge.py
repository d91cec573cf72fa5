"""``anomed-anonymizer emulate-challenge``: a local challenge, wire-identical
to anomed-challenge's servers.
"""

from __future__ import annotations

import click

from ...runtime.serving import ServeOptions
from ...scoring import (
    DEFAULT_REGRESSION_METRICS,
    REGRESSION_METRICS,
    regression_evaluator,
)
from .._common import (
    CommandError,
    dataset_options,
    kind_option,
    missing_extra,
    rows_option,
    run_server,
    seed_option,
    serve_options,
    task_option,
)


@click.command(
    "emulate-challenge", short_help="Run a local challenge on dummy or own data."
)
@kind_option(
    "supervised: the MIA challenge (arrays); tabular: the data-"
    "reconstruction challenge (tables)."
)
@dataset_options(
    None,
    "supervised: iris (default; glucose with --task regression), "
    "breast-cancer, wine, digits; regression: diabetes (1 output), linnerud "
    "(3), glucose (synthetic post-meal glucose curves, 12 outputs); or a "
    ".npz/.csv/.parquet file; tabular: adult (a synthetic Adult-like "
    "table, default) or a .csv/.parquet file.",
    "Target column of a .csv/.parquet, or several separated by commas "
    "for a multi-output target (target array of a .npz).",
)
@task_option(
    "supervised: what the challenge scores. auto: regression for "
    "floating-point targets, else classification (strict accuracy)."
)
@click.option(
    "--metric",
    "metrics",
    multiple=True,
    type=click.Choice(list(REGRESSION_METRICS)),
    help="regression: a metric of the anonymizer's utility; repeat for "
    "several [default: mse and mae].",
)
@click.option("--sensitive", help="tabular: a column the attacker's background lacks.")
@click.option(
    "--text-columns",
    metavar="COL[,COL...]",
    default="",
    help="Columns of a .csv to keep as text. Without it, a column of numbers "
    "stays text only if a value has a leading zero (01234) or a leading + "
    "(identifiers such as zip codes or phone numbers).",
)
@rows_option(10, "tabular: rows of the synthetic Adult-like table.")
@seed_option(42, "Seeds the splits and member partition (same in every worker).")
@click.option(
    "--mia-length",
    type=click.IntRange(1),
    default=None,
    help="Members (and non-members) per attack evaluation [default: as many "
    "as the data allows, at most 100].",
)
@serve_options
def emulate_challenge(
    kind,
    dataset,
    target,
    task,
    metrics,
    sensitive,
    text_columns,
    rows,
    seed,
    mia_length,
    host,
    port,
    workers,
) -> None:
    """Run a local challenge, wire-identical to anomed-challenge's servers, on your
    own dummy data or an embedded default."""
    try:
        from ... import emulator
    except ModuleNotFoundError as exc:
        raise missing_extra(exc, "emulator", "the challenge emulator") from exc

    options = ServeOptions(host=host, port=port, workers=workers, threads=2)
    if kind == "tabular" and (task != "auto" or metrics):
        raise CommandError(
            "--task and --metric are for --kind supervised; a tabular challenge "
            "scores the reconstruction of its table"
        )
    try:
        if kind == "tabular":
            columns = [c.strip() for c in text_columns.split(",") if c.strip()]
            table = emulator.load_table(dataset or "adult", rows, seed, columns)
            challenge = emulator.ReconstructionChallenge(
                table, seed=seed, sensitive=sensitive
            )
            banner = f"tabular challenge: {len(table)} rows x {table.shape[1]} columns"
            run_server(
                lambda: emulator.tabular_challenge_app(challenge), options, banner
            )
            return
        default = "glucose" if task == "regression" else "iris"
        data = emulator.load_dataset(dataset or default, target)
        if task != "auto":
            data = data.as_task(task)
        if metrics and data.task != "regression":
            raise CommandError(
                f"--metric scores a regression, but {data.name} is a "
                "classification (its targets are not floating-point); add "
                "--task regression to score its targets as numbers"
            )
        evaluator = regression_evaluator(metrics) if metrics else None
        mia = emulator.MIAChallenge(
            data, seed=seed, mia_evaluation_length=mia_length, evaluator=evaluator
        )
    except ValueError as exc:
        raise CommandError(str(exc)) from exc
    except ModuleNotFoundError as exc:
        raise missing_extra(exc, "emulator", "the challenge emulator") from exc
    if data.task == "regression":
        scored_by = ", ".join(metrics or DEFAULT_REGRESSION_METRICS)
        what = f"regression, {data.n_outputs} output(s), scored by {scored_by}"
    else:
        what = f"{data.n_classes} classes, scored by strict accuracy"
    banner = (
        f"challenge: {data.name}, {len(data.X)} samples, {data.X.shape[1]} features, "
        f"{what}, seed {seed}"
    )
    run_server(lambda: emulator.supervised_challenge_app(mia), options, banner)
