"""The ``anomed-anonymizer`` command line: demo, serve, emulate-challenge, init.

Exit codes: 0 success, 1 a failure the message explains, 2 a usage error,
130 interrupted. Errors are one line on stderr; ``--verbose`` adds the
traceback.
"""

from __future__ import annotations

import logging
import os
import sys
import traceback
import warnings
from pathlib import Path

import click

from ..runtime.serving import ServeOptions, ensure_port_free, run_gunicorn
from ..web import CONTROL_TOKEN_ENV, install_request_id_logging
from . import processes
from .addresses import ADDRESS
from .audit_table import audit_table_command

__all__ = ["CommandError", "main"]


class CommandError(click.ClickException):
    """A failure the user can act on: printed as one line, exit code 1."""

    def show(self, file=None) -> None:
        click.echo(f"error: {self.format_message()}", err=True)


class _Group(click.Group):
    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(130)
        except processes.Terminated as exc:
            click.echo(str(exc), err=True)
            sys.exit(exc.exit_code)
        except Exception as exc:  # every other failure becomes one line
            if ctx.obj and ctx.obj.get("verbose"):
                traceback.print_exc()
            raise CommandError(f"{type(exc).__name__}: {exc}") from exc


def _serve_options(function):
    options = [
        click.option(
            "--host",
            envvar="ANOMED_SERVE_HOST",
            default="127.0.0.1",
            show_default=True,
            help="Interface to bind [env ANOMED_SERVE_HOST].",
        ),
        click.option(
            "--port",
            envvar="ANOMED_SERVE_PORT",
            type=click.IntRange(0, 65535),
            default=8000,
            show_default=True,
            help="Port to listen on [env ANOMED_SERVE_PORT].",
        ),
        click.option(
            "--workers",
            envvar="ANOMED_SERVE_WORKERS",
            type=click.IntRange(1),
            default=2,
            show_default=True,
            help="Worker processes [env ANOMED_SERVE_WORKERS].",
        ),
    ]
    for option in reversed(options):
        function = option(function)
    return function


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--verbose", "-v", is_flag=True, help="Show tracebacks and debug logs.")
@click.version_option(package_name="anomed-anonymizer")
@click.pass_context
def main(ctx: click.Context, verbose: bool) -> None:
    """Build, serve and test AnoMed anonymizers locally."""
    ctx.obj = {"verbose": verbose}
    install_request_id_logging()
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s",
    )


main.add_command(audit_table_command)


@main.command(short_help="Serve your app under gunicorn.")
@click.argument("app")
@_serve_options
@click.option(
    "--threads",
    envvar="ANOMED_SERVE_THREADS",
    type=click.IntRange(1),
    default=1,
    show_default=True,
    help="Request threads per worker; raise it only for models whose predict is "
    "thread-safe [env ANOMED_SERVE_THREADS].",
)
@click.option(
    "--timeout",
    envvar="ANOMED_SERVE_TIMEOUT",
    type=click.IntRange(1),
    default=120,
    show_default=True,
    help="Seconds a worker may stay unresponsive; long /fit requests are "
    "not affected [env ANOMED_SERVE_TIMEOUT].",
)
@click.option(
    "--request-timeout",
    envvar="ANOMED_SERVE_REQUEST_TIMEOUT",
    type=click.FloatRange(min=0, min_open=True),
    default=30.0,
    show_default=True,
    help="Seconds a client may take to send a request line and headers, and "
    "again its body; slower clients are cut off, idle ones never hold a "
    "thread [env ANOMED_SERVE_REQUEST_TIMEOUT].",
)
@click.option(
    "--refits",
    envvar="ANOMED_REFIT",
    type=click.Choice(["allow", "refuse"], case_sensitive=False),
    default="allow",
    show_default=True,
    help="refuse: once a model is fitted (or a release published), POST /fit "
    "answers 409 unless it asks with ?refit=true, so that retries and strangers "
    "cannot spend a DP model's budget again [env ANOMED_REFIT].",
)
@click.option(
    "--max-body-bytes",
    envvar="ANOMED_SERVE_MAX_BODY_BYTES",
    type=click.IntRange(1),
    default=None,
    help="Largest request body the server reads (413 above), and the app's "
    "limit where it sets none itself; default 256 MiB "
    "[env ANOMED_SERVE_MAX_BODY_BYTES].",
)
@click.option(
    "--chdir",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    default=Path("."),
    show_default=True,
    help="Import APP from this folder.",
)
@click.pass_context
def serve(
    ctx,
    app,
    host,
    port,
    workers,
    threads,
    timeout,
    request_timeout,
    refits,
    max_body_bytes,
    chdir,
) -> None:
    """Serve APP (MODULE:VARIABLE, e.g. app:application) under gunicorn.

    Several workers share one model file; a /fit may train for as long as it
    needs; SIGTERM shuts down cleanly.
    """
    from gunicorn.errors import AppImportError
    from gunicorn.util import import_app

    from ..web import current_settings, use_settings

    # Before the app is loaded (here and in every worker, which inherits it):
    # what the factories use where the app passes no settings of its own.
    settings = current_settings().replace(
        refuse_refits=refits.lower() == "refuse", max_request_bytes=max_body_bytes
    )
    use_settings(settings)

    chdir = chdir.resolve()
    sys.path.insert(0, str(chdir))
    if ":" not in app:
        raise click.BadParameter(
            "expected MODULE:VARIABLE, e.g. app:application", param_hint="APP"
        )
    try:
        import_app(app)  # fail here, in one line, rather than in every worker
    except (AppImportError, ImportError, SyntaxError) as exc:
        if ctx.obj["verbose"]:
            traceback.print_exc()
        raise CommandError(
            f"cannot import {app!r} from {chdir}: {type(exc).__name__}: {exc}"
        ) from exc
    try:
        ensure_port_free(host, port)
    except OSError as exc:
        raise CommandError(str(exc)) from exc
    if not settings.control_token:
        logging.getLogger("anomed_anonymizer.cli").warning(
            "%s is not set: anyone who can reach this server can call /fit and "
            "/evaluate (each refit of a differentially private model spends its "
            "privacy budget again); set it to require 'Authorization: Bearer "
            "<token>' on those routes",
            CONTROL_TOKEN_ENV,
        )
    options = ServeOptions(
        host=host,
        port=port,
        workers=workers,
        threads=threads,
        timeout=timeout,
        request_timeout=request_timeout,
        max_body_bytes=max_body_bytes,
        log_level="debug" if ctx.obj["verbose"] else "info",
    )
    _run(lambda: import_app(app), options, f"serving {app} ({workers} workers)")


@main.command(
    "emulate-challenge", short_help="Run a local challenge on dummy or own data."
)
@click.option(
    "--kind",
    type=click.Choice(["supervised", "tabular"]),
    default="supervised",
    show_default=True,
    help="supervised: the MIA challenge (arrays); tabular: the data-"
    "reconstruction challenge (tables).",
)
@click.option(
    "--dataset",
    default=None,
    help="supervised: iris (default), breast-cancer, wine, digits or a "
    ".npz/.csv/.parquet file; tabular: adult (a synthetic Adult-like "
    "table, default) or a .csv/.parquet file.",
)
@click.option(
    "--target", help="Target column of a .csv/.parquet (target array of a .npz)."
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
@click.option(
    "--rows",
    type=click.IntRange(10),
    default=2000,
    show_default=True,
    help="tabular: rows of the synthetic Adult-like table.",
)
@click.option(
    "--seed",
    type=int,
    default=42,
    show_default=True,
    help="Seeds the splits and member partition (same in every worker).",
)
@click.option(
    "--mia-length",
    type=click.IntRange(1),
    default=None,
    help="Members (and non-members) per attack evaluation [default: as many "
    "as the data allows, at most 100].",
)
@_serve_options
def emulate_challenge(
    kind,
    dataset,
    target,
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
        from .. import emulator
    except ModuleNotFoundError as exc:
        raise _missing_extra(exc, "emulator", "the challenge emulator") from exc

    options = ServeOptions(host=host, port=port, workers=workers, threads=2)
    try:
        if kind == "tabular":
            columns = [c.strip() for c in text_columns.split(",") if c.strip()]
            table = emulator.load_table(dataset or "adult", rows, seed, columns)
            challenge = emulator.ReconstructionChallenge(
                table, seed=seed, sensitive=sensitive
            )
            banner = f"tabular challenge: {len(table)} rows x {table.shape[1]} columns"
            _run(lambda: emulator.tabular_challenge_app(challenge), options, banner)
            return
        data = emulator.load_dataset(dataset or "iris", target)
        mia = emulator.MIAChallenge(data, seed=seed, mia_evaluation_length=mia_length)
    except ValueError as exc:
        raise CommandError(str(exc)) from exc
    except ModuleNotFoundError as exc:
        raise _missing_extra(exc, "emulator", "the challenge emulator") from exc
    banner = (
        f"challenge: {data.name}, {len(data.X)} samples, {data.X.shape[1]} features, "
        f"{data.n_classes} classes, seed {seed}"
    )
    _run(lambda: emulator.supervised_challenge_app(mia), options, banner)


@main.command(short_help="Run challenge, anonymizer and attack locally.")
@click.option(
    "--dataset",
    default=None,
    help="Data of the emulated challenge: iris, breast-cancer, wine, digits or "
    "a .npz/.csv/.parquet file [default: breast-cancer]. With --challenge: the "
    "data it serves [default: the embedded dataset with as many features].",
)
@click.option("--target", help="Target column of a .csv/.parquet dataset.")
@click.option(
    "--epsilon",
    "epsilons",
    type=click.FloatRange(min=0, min_open=True),
    multiple=True,
    help="Privacy budget of a DP model shown beside the non-private baseline; "
    "repeat for several (e.g. --epsilon 0.1 --epsilon 1) [default: 1].",
)
@click.option(
    "--seed",
    type=int,
    default=42,
    show_default=True,
    help="Seeds the emulated challenge's splits, the baseline and the audit.",
)
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
@click.option(
    "--kind",
    type=click.Choice(["supervised", "tabular"]),
    default="supervised",
    show_default=True,
    help="tabular: the tabular challenge instead; serves and audits Mondrian "
    "k=5/10/25, MDAV and DP synthesis, and prints them side by side.",
)
@click.option(
    "--rows",
    type=click.IntRange(50),
    default=2000,
    show_default=True,
    help="tabular: rows of the Adult-like table.",
)
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
    kind,
    rows,
) -> None:
    """Show the privacy/utility trade-off: a non-private baseline and DP models,
    served, fitted, scored and audited locally (--kind tabular: the tabular
    anonymizers, audited side by side)."""
    from .demo import run_demo

    _quiet_request_logs(ctx)
    if kind == "tabular":
        _require("the tabular demo", "audit-table", "anonymeter", "sklearn")
    elif model == "mlp-dp":
        _require("the demo's mlp-dp", "demo,torch", "art", "sklearn", "torch", "opacus")
    else:
        _require("the demo", "demo", "diffprivlib", "art", "sklearn", "matplotlib")
    try:
        # SIGINT, SIGTERM and SIGHUP unwind the demo, whose finally stops
        # every server it started.
        with processes.stop_on_signals():
            if kind == "tabular":
                from .demo_tabular import run_tabular_demo

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
            )
    except RuntimeError as exc:
        raise CommandError(str(exc)) from exc


@main.command(short_help="Attack your anonymizer: how much does it leak?")
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
@click.option(
    "--dataset",
    default="iris",
    show_default=True,
    help="The population to audit on: iris, breast-cancer, wine, digits or a "
    ".npz/.csv/.parquet file; half of it trains the target.",
)
@click.option("--target", help="Target column of a .csv/.parquet (array of a .npz).")
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
@click.option(
    "--seed",
    type=int,
    default=0,
    show_default=True,
    help="Seeds the member split, every fit, the attacks and the intervals.",
)
@click.option(
    "--json",
    "json_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the JSON report here.",
)
@click.option(
    "--scores",
    is_flag=True,
    help="Also write every sample's score and row, per attack, into --json.",
)
@click.option(
    "--markdown",
    "markdown_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the Markdown summary here.",
)
@click.option(
    "--plot",
    "plot_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Draw every attack's ROC curve (log-log) into this PNG.",
)
@click.option(
    "--chdir",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    default=Path("."),
    show_default=True,
    help="Import MODULE from this folder.",
)
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
    """
    from ..wire import ChallengeError
    from .audit import AuditOptions, run_audit

    _quiet_request_logs(ctx)
    if options["reference_models"] % 2:
        raise click.BadParameter("must be even", param_hint="--reference-models")
    try:
        from ..audit.boundary import min_boundary_queries

        if 0 < options["boundary_queries"] < min_boundary_queries():
            raise click.BadParameter(
                f"must be 0 (skip the attack) or at least {min_boundary_queries()}",
                param_hint="--boundary-queries",
            )
        run_audit(AuditOptions(anonymizer=anonymizer, **options))
    except ImportError as exc:
        raise CommandError(
            f"the audit needs the 'audit' extra ({exc.name} is missing): "
            "pip install 'anomed-anonymizer[audit]'"
        ) from exc
    except (ValueError, TypeError, ChallengeError) as exc:
        raise CommandError(str(exc)) from exc


@main.command(
    "serve-attack", short_help="Serve a membership-inference attack (self-audit)."
)
@click.option(
    "--anonymizer",
    "anonymizer_address",
    required=True,
    type=ADDRESS,
    metavar="HOST:PORT|URL",
    help="The anonymizer under attack (its /predict is queried).",
)
@click.option(
    "--challenge",
    "challenge_address",
    required=True,
    type=ADDRESS,
    metavar="HOST:PORT|URL",
    help="The challenge serving members, non-members and the evaluation sets.",
)
@click.option(
    "--n-features",
    type=click.IntRange(1),
    required=True,
    help="Features per sample the anonymizer expects.",
)
@click.option(
    "--n-classes",
    type=click.IntRange(2),
    required=True,
    help="Classes the anonymizer predicts (labels 0..n-1).",
)
@click.option(
    "--anonymizer-id",
    default="example_anonymizer",
    show_default=True,
    help="The anonymizer's identifier at the challenge (picks the evaluation set).",
)
@click.option(
    "--host", default="127.0.0.1", show_default=True, help="Interface to bind."
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8002,
    show_default=True,
    help="Port to bind.",
)
def serve_attack(
    anonymizer_address,
    challenge_address,
    n_features,
    n_classes,
    anonymizer_id,
    host,
    port,
) -> None:
    """Serve ART's black-box membership-inference attack against an anonymizer,
    as an AnoMed deanonymizer: a privacy self-audit.

    \b
    Routes:
      GET  /                     alive
      POST /fit                  pull members and non-members from the
                                 challenge, balance them, train the attack
                                 on the anonymizer's /predict
      POST /evaluate?data_split=tuning|validation
                                 attack the challenge's evaluation set; the
                                 challenge scores it (acc, tpr, fpr)

    For an audit with confidence intervals, run `anomed-anonymizer audit`.
    """
    audit_server_factory = _import_audit()

    def load():
        return audit_server_factory(
            anonymizer_address.url,
            challenge_address.url,
            n_features,
            n_classes,
            anonymizer_identifier=anonymizer_id,
        )

    options = ServeOptions(host=host, port=port, workers=1, threads=1, timeout=600)
    _run(load, options, f"membership-inference attack on {anonymizer_address.url}")


def _import_audit():
    """The audit's app factory, imported without ART's import-time chatter
    (an INFO line about its data path; "PyTorch not found" without torch)."""
    logging.getLogger("art").setLevel(logging.WARNING)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", module=r"art(\.|$)")
            warnings.filterwarnings("ignore", message="PyTorch not found")
            from ..audit import audit_server_factory
    except ModuleNotFoundError as exc:
        raise _missing_extra(exc, "audit", "the attack") from exc
    return audit_server_factory


@main.command(short_help="Scaffold a submission (app, tests, Dockerfile).")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--template",
    type=click.Choice(["supervised", "tabular", "torch"]),
    default="supervised",
    show_default=True,
    help="supervised: DP naive Bayes; tabular: k-anonymity; torch: a DP-SGD MLP.",
)
@click.option("--force", is_flag=True, help="Write into a non-empty directory.")
def init(directory, template, force) -> None:
    """Scaffold a submission in DIRECTORY: app.py, pinned requirements.txt,
    Dockerfile, README for attackers and a smoke test."""
    from .scaffold import scaffold

    try:
        written = scaffold(directory, template, force=force)
    except (FileExistsError, ValueError) as exc:
        raise CommandError(str(exc)) from exc
    click.echo(f"created {len(written)} files in {directory}:")
    for path in written:
        click.echo(f"  {path.relative_to(directory)}")
    click.echo(
        f"next: cd {directory} && pip install -r requirements.txt "
        "&& python -m pytest test_smoke.py"
    )


def _quiet_request_logs(ctx: click.Context) -> None:
    """Commands that print a table need no line per HTTP request (--verbose
    brings them back), nor ART's configuration notes."""
    if not ctx.obj.get("verbose"):
        for name in ("anomed_anonymizer.wire", "art"):
            logging.getLogger(name).setLevel(logging.WARNING)


def _require(what: str, extra: str, *modules: str) -> None:
    """Fail in one line, naming the extra to install, if a module is missing."""
    import importlib.util

    for module in modules:
        if importlib.util.find_spec(module) is None:
            raise _missing_extra(ModuleNotFoundError(name=module), extra, what)


def _missing_extra(exc: ModuleNotFoundError, extra: str, what: str) -> CommandError:
    return CommandError(
        f"{what} needs the '{extra}' extra ({exc.name} is missing): "
        f"pip install 'anomed-anonymizer[{extra}]'"
    )


def _run(load, options: ServeOptions, banner: str) -> None:
    parent = os.environ.pop(processes.PARENT_PID_ENV, "")
    if parent.isdigit() and not processes.PARENT_DEATH_SIGNAL:
        # Started by start_server where the kernel offers no parent-death
        # signal: watch the parent instead.
        processes.exit_when_parent_dies(int(parent))
    try:
        ensure_port_free(options.host, options.port)
        click.echo(f"{banner} on http://{options.host}:{options.port}", err=True)
        run_gunicorn(load, options)
    except OSError as exc:
        raise CommandError(str(exc)) from exc
    except SystemExit as exc:
        if exc.code not in (0, None):
            raise CommandError(
                f"gunicorn stopped with exit code {exc.code}; see the log above"
            ) from exc


if __name__ == "__main__":  # pragma: no cover
    main()
