"""The ``anomed-anonymizer`` command line: demo, serve, emulate-challenge, init.

Exit codes: 0 success, 1 a failure the message explains, 2 a usage error,
130 interrupted. Errors are one line on stderr; ``--verbose`` adds the
traceback.
"""

from __future__ import annotations

import logging
import sys
import traceback
from pathlib import Path

import click

from .serving import ServeOptions, ensure_port_free, run_gunicorn

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
            help="[env ANOMED_SERVE_PORT]",
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
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


@main.command()
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
    "--chdir",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    default=Path("."),
    show_default=True,
    help="Import APP from this folder.",
)
@click.pass_context
def serve(ctx, app, host, port, workers, threads, timeout, chdir) -> None:
    """Serve APP (MODULE:VARIABLE, e.g. app:application) under gunicorn.

    Several workers share one model file; a /fit may train for as long as it
    needs; SIGTERM shuts down cleanly.
    """
    from gunicorn.errors import AppImportError
    from gunicorn.util import import_app

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
    options = ServeOptions(
        host=host,
        port=port,
        workers=workers,
        threads=threads,
        timeout=timeout,
        log_level="debug" if ctx.obj["verbose"] else "info",
    )
    _run(lambda: import_app(app), options, f"serving {app} ({workers} workers)")


@main.command("emulate-challenge")
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
    kind, dataset, target, sensitive, rows, seed, mia_length, host, port, workers
) -> None:
    """Run a local challenge, wire-identical to anomed-challenge's servers, on your
    own dummy data or an embedded default."""
    from .. import emulator

    options = ServeOptions(host=host, port=port, workers=workers, threads=2)
    try:
        if kind == "tabular":
            table = emulator.load_table(dataset or "adult", rows, seed)
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
    banner = (
        f"challenge: {data.name}, {len(data.X)} samples, {data.X.shape[1]} features, "
        f"{data.n_classes} classes, seed {seed}"
    )
    _run(lambda: emulator.supervised_challenge_app(mia), options, banner)


@main.command()
@click.option(
    "--dataset",
    default="iris",
    show_default=True,
    type=click.Choice(["iris", "breast-cancer", "wine", "digits"]),
    help="Embedded dataset the emulated challenge serves.",
)
@click.option(
    "--epsilon",
    type=click.FloatRange(min=0, min_open=True),
    default=1.0,
    show_default=True,
    help="Differential-privacy budget of the anonymizer.",
)
@click.option(
    "--model",
    type=click.Choice(["nb-dp", "mlp-dp"]),
    default="nb-dp",
    show_default=True,
    help="nb-dp: diffprivlib's Gaussian naive Bayes; mlp-dp: an MLP trained with "
    "DP-SGD (Opacus; needs the 'torch' extra). --epsilon is its target budget.",
)
@click.option("--seed", type=int, default=42, show_default=True)
@click.option(
    "--challenge",
    metavar="HOST:PORT",
    help="Use this running challenge instead of starting the emulator.",
)
@click.option(
    "--keep-running",
    is_flag=True,
    help="Leave the servers up (their URLs are printed) until Ctrl-C.",
)
def demo(dataset, epsilon, model, seed, challenge, keep_running) -> None:
    """Run challenge, DP anonymizer and membership-inference attack locally and
    print utility and privacy."""
    from .demo import run_demo

    try:
        run_demo(
            dataset=dataset,
            epsilon=epsilon,
            seed=seed,
            challenge=challenge,
            keep_running=keep_running,
            model=model,
        )
    except RuntimeError as exc:
        raise CommandError(str(exc)) from exc


@main.command("serve-attack")
@click.option(
    "--anonymizer",
    "anonymizer_url",
    required=True,
    metavar="URL",
    help="Base URL of the anonymizer under audit.",
)
@click.option(
    "--challenge",
    "challenge_url",
    required=True,
    metavar="URL",
    help="Base URL of the challenge.",
)
@click.option("--n-features", type=click.IntRange(1), required=True)
@click.option("--n-classes", type=click.IntRange(2), required=True)
@click.option("--anonymizer-id", default="example_anonymizer", show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(0, 65535), default=8002, show_default=True)
def serve_attack(
    anonymizer_url, challenge_url, n_features, n_classes, anonymizer_id, host, port
) -> None:
    """Serve a black-box membership-inference attack (ART) against an anonymizer,
    with the routes of an AnoMed deanonymizer: a privacy self-audit."""
    try:
        from ..audit import audit_server_factory
    except ImportError as exc:
        raise CommandError(
            f"the attack needs the 'audit' extra ({exc.name} is missing): "
            "pip install 'anomed-anonymizer[audit]'"
        ) from exc

    def load():
        return audit_server_factory(
            anonymizer_url,
            challenge_url,
            n_features,
            n_classes,
            anonymizer_identifier=anonymizer_id,
        )

    options = ServeOptions(host=host, port=port, workers=1, threads=1, timeout=600)
    _run(load, options, f"membership-inference attack on {anonymizer_url}")


@main.command()
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
    click.echo(f"next: cd {directory} && python -m pytest test_smoke.py")


def _run(load, options: ServeOptions, banner: str) -> None:
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
