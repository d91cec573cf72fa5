"""``anomed-anonymizer audit``: how much does an anonymizer leak (the work is
in :mod:`..audit`).
"""

from __future__ import annotations

import click

from ..._install import install_hint
from .._common import (
    CommandError,
    chdir_option,
    dataset_options,
    file_option,
    json_option,
    quiet_request_logs,
    seed_option,
    task_option,
)


@click.command(short_help="Attack your anonymizer: how much does it leak?")
@click.argument("anonymizer", metavar="MODULE:OBJECT", required=False)
@click.option(
    "--url",
    metavar="URL",
    help="Audit a served model instead: its http://HOST/predict (label-only "
    "attacks; needs --challenge, or --members and --non-members).",
)
@click.option(
    "--challenge",
    metavar="HOST:PORT|URL",
    help="With --url: the challenge whose training data the model was fitted on "
    "(members) and whose non-members it never saw.",
)
@click.option(
    "--members",
    metavar="FILE",
    help="With --url: .npz/.csv/.parquet of samples the model was trained on.",
)
@click.option(
    "--non-members",
    metavar="FILE",
    help="With --url: .npz/.csv/.parquet of samples it was not trained on.",
)
@dataset_options(
    "iris",
    "The population to audit on: iris, breast-cancer, wine, digits or a "
    ".npz/.csv/.parquet file; half of it trains the target.",
    "Target column of a .csv/.parquet (array of a .npz).",
)
@task_option(
    "What the model does; auto: a float (or multi-column) target is "
    "regression, attacked through its loss (loss threshold, ART on the loss, "
    "LiRA), the report giving MSE and MAE on held-out rows."
)
@click.option(
    "--attribute",
    metavar="COL_INDEX",
    type=click.IntRange(0),
    default=None,
    help="Then attack this feature column: attribute inference (query each "
    "candidate value, keep the best match to the true target) against an "
    "imputation baseline, on members and held-out rows; a table, and the "
    "'attribute_inference' key of --json.",
)
@click.option(
    "--reference-models",
    type=click.IntRange(0),
    default=16,
    show_default=True,
    help="Copies of the anonymizer refitted on random halves for LiRA and "
    "RMIA (even; 0 runs the label-only attacks only).",
)
@click.option(
    "--one-run-canaries",
    type=click.IntRange(0),
    default=None,
    help="Canaries of the one-run DP audit (one more training: 'audited "
    "epsilon >= x' beside the claimed epsilon); default min(1000, n/2), 0 "
    "skips it.",
)
@click.option(
    "--boundary-queries",
    type=click.IntRange(0),
    default=100,
    show_default=True,
    help="Most queries per sample of the decision-boundary attack (HopSkipJump; "
    "at least 41, 0 skips it).",
)
@click.option(
    "--n-jobs",
    type=int,
    default=1,
    show_default=True,
    help="Reference models trained in parallel (joblib; -1: every core).",
)
@seed_option(0, "Seeds the member split, every fit, the attacks and the intervals.")
@json_option
@click.option(
    "--scores",
    is_flag=True,
    help="Also write every sample's score and row, per attack, into --json.",
)
@file_option("--markdown", "markdown_path", "Write the Markdown summary here.")
@file_option(
    "--plot", "plot_path", "Draw every attack's ROC curve (log-log) into this PNG."
)
@chdir_option()
@click.pass_context
def audit(ctx, anonymizer, **options) -> None:
    """Measure how much an anonymizer leaks about its training data.

    MODULE:OBJECT is the unfitted anonymizer you give the server factory (e.g.
    app:example_anon). Half of the dataset trains a copy of it; label-only
    attacks (gap, ART's black-box attack as AnoMed's deanonymizer template
    runs it, noise robustness, distance to the decision boundary) and, if the
    model has predict_proba or decision_function, LiRA and RMIA on reference
    models try to tell the members from the other half. Prints every attack's
    AUC, TPR at low FPR, advantage and an epsilon lower bound, each with its
    confidence interval; the claimed DP budget, whether two fits differ (a DP
    model's must), and a one-run DP audit (audited epsilon >= x beside the
    claim). The JSON also names the most exposed training rows.

    A regressor (a float or multi-column target, or --task regression) is
    attacked through its loss instead: the loss-threshold attack and LiRA on
    the loss of reference models; the report adds its MSE and MAE on the
    held-out half.
    """
    from ...wire import ChallengeError
    from ..audit import AuditOptions, run_audit

    quiet_request_logs(ctx)
    if options["reference_models"] % 2:
        raise click.BadParameter("must be even", param_hint="--reference-models")
    try:
        from ...audit.boundary import min_boundary_queries

        if 0 < options["boundary_queries"] < min_boundary_queries():
            raise click.BadParameter(
                f"must be 0 (skip the attack) or at least {min_boundary_queries()}",
                param_hint="--boundary-queries",
            )
        run_audit(AuditOptions(anonymizer=anonymizer, **options))
    except ImportError as exc:
        raise CommandError(
            f"the audit needs the 'audit' extra ({exc.name} is missing): "
            f"{install_hint('audit')}"
        ) from exc
    except (ValueError, TypeError, ChallengeError) as exc:
        raise CommandError(str(exc)) from exc
