"""``anomed-anonymizer demo``: challenge, models and attacks on this machine
(the work is in :mod:`..demo` and :mod:`..demo_tabular`).
"""

from __future__ import annotations

from pathlib import Path

import click

from .. import processes
from .._common import (
    CommandError,
    dataset_options,
    kind_option,
    quiet_request_logs,
    require,
    rows_option,
    seed_option,
    task_option,
)


@click.command(short_help="Run challenge, anonymizer and attack locally.")
@dataset_options(
    None,
    "Data of the emulated challenge: iris, breast-cancer, wine, digits or "
    "a .npz/.csv/.parquet file [default: breast-cancer]. With --challenge: the "
    "data it serves [default: the embedded dataset with as many features].",
    "Target column of a .csv/.parquet dataset.",
)
@click.option(
    "--epsilon",
    "epsilons",
    type=click.FloatRange(min=0, min_open=True),
    multiple=True,
    help="Privacy budget of a DP model shown beside the non-private baseline; "
    "repeat for several (e.g. --epsilon 0.1 --epsilon 1) [default: 1].",
)
@seed_option(42, "Seeds the emulated challenge's splits, the baseline and the audit.")
@click.option(
    "--model",
    type=click.Choice(["nb-dp", "mlp-dp"]),
    default="nb-dp",
    show_default=True,
    help="The DP model beside the baseline: nb-dp, diffprivlib's Gaussian naive "
    "Bayes; mlp-dp, an MLP trained with DP-SGD (Opacus; needs the 'torch' "
    "extra). --epsilon is its target budget.",
)
@click.option(
    "--challenge",
    metavar="HOST:PORT|URL",
    help="Use this running challenge instead of starting the emulator.",
)
@click.option(
    "--plot",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("anomed-demo-roc.png"),
    show_default=True,
    help="Where to draw the ROC curves (log-log) of the audits.",
)
@click.option(
    "--keep-running",
    is_flag=True,
    help="Leave the servers up (their URLs and logs are printed) until Ctrl-C.",
)
@task_option(
    "supervised: regression shows an MLP without DP beside DP-SGD MLPs on "
    "a regression challenge, scored by MSE/MAE and audited with the "
    "loss-threshold attack [default: regression for diabetes, linnerud and "
    "glucose (the default with --task regression), else classification].",
    auto=False,
)
@kind_option(
    "tabular: the tabular challenge instead; serves and audits Mondrian "
    "k=5/10/25, MDAV and DP synthesis, and prints them side by side."
)
@rows_option(50, "tabular: rows of the Adult-like table.")
@click.pass_context
def demo(
    ctx,
    dataset,
    target,
    epsilons,
    model,
    seed,
    challenge,
    plot,
    keep_running,
    task,
    kind,
    rows,
) -> None:
    """Show the privacy/utility trade-off: a non-private baseline and DP models,
    served, fitted, scored and audited locally (--kind tabular: the tabular
    anonymizers, audited side by side)."""
    from ..demo import run_demo

    quiet_request_logs(ctx)
    if task is None:
        try:
            from ...emulator import datasets
        except ModuleNotFoundError:  # require() below names the extra
            regression = False
        else:
            regression = dataset in datasets.REGRESSION_DATASETS
        task = "regression" if regression else "classification"
    if task == "regression" and ctx.get_parameter_source("model").name != "DEFAULT":
        raise CommandError(
            "--model chooses a classifier; --task regression shows MLPs with "
            "and without DP-SGD (drop --model)"
        )
    if kind == "tabular":
        require("the tabular demo", "audit-table", "anonymeter", "sklearn")
    elif task == "regression":
        require("the regression demo", "demo,torch", "sklearn", "torch", "opacus")
    elif model == "mlp-dp":
        require("the demo's mlp-dp", "demo,torch", "art", "sklearn", "torch", "opacus")
    else:
        require("the demo", "demo", "diffprivlib", "art", "sklearn", "matplotlib")
    try:
        # SIGINT, SIGTERM and SIGHUP unwind the demo, whose finally stops
        # every server it started.
        with processes.stop_on_signals():
            if kind == "tabular":
                from ..demo_tabular import run_tabular_demo

                run_tabular_demo(rows=rows, seed=seed)
                return
            run_demo(
                dataset=dataset,
                epsilons=epsilons or (1.0,),
                seed=seed,
                challenge=challenge,
                keep_running=keep_running,
                target=target,
                plot=plot,
                model=model,
                task=task,
            )
    except RuntimeError as exc:
        raise CommandError(str(exc)) from exc
