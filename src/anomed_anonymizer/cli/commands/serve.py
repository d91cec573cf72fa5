"""``anomed-anonymizer serve``: your app under gunicorn, on the runtime of
:mod:`anomed_anonymizer.runtime` (the flags become its settings).
"""

from __future__ import annotations

import sys
import traceback

import click

from ...runtime.serving import ServeOptions
from ...web import CONTROL_TOKEN_ENV, DEBUG_ENV, DEBUG_WARNING
from .._common import CommandError, chdir_option, run_server, serve_options


@click.command(short_help="Serve your app under gunicorn.")
@click.argument("app")
@serve_options
@click.option(
    "--threads",
    show_envvar=True,
    type=click.IntRange(1),
    default=1,
    show_default=True,
    help="Request threads per worker; raise it only for models whose predict is "
    "thread-safe.",
)
@click.option(
    "--timeout",
    show_envvar=True,
    type=click.IntRange(1),
    default=120,
    show_default=True,
    help="Seconds a worker may stay unresponsive; long /fit requests are not affected.",
)
@click.option(
    "--request-timeout",
    show_envvar=True,
    type=click.FloatRange(min=0, min_open=True),
    default=30.0,
    show_default=True,
    help="Seconds a client may take to send a request line and headers, and "
    "again its body; slower clients are cut off, idle ones never hold a "
    "thread.",
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
    show_envvar=True,
    type=click.IntRange(1),
    default=None,
    help="Largest request body the server reads (413 above), and the app's "
    "limit where it sets none itself; default 256 MiB.",
)
@click.option(
    "--debug",
    envvar=DEBUG_ENV,
    is_flag=True,
    default=False,
    help="Local work only: error answers add the exception's type and message "
    "and the failing URL; never use it on the platform [env ANOMED_DEBUG].",
)
@chdir_option("APP")
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
    debug,
    chdir,
) -> None:
    """Serve APP (MODULE:VARIABLE, e.g. app:application) under gunicorn.

    Several workers share one model file; a /fit may train for as long as it
    needs; SIGTERM shuts down cleanly.
    """
    from gunicorn.errors import AppImportError
    from gunicorn.util import import_app

    from ...web import current_settings, use_settings

    # Before the app is loaded (here and in every worker, which inherits it):
    # what the factories use where the app passes no settings of its own.
    settings = current_settings().replace(
        refuse_refits=refits.lower() == "refuse",
        max_request_bytes=max_body_bytes,
        debug=True if debug else None,
    )
    use_settings(settings)

    chdir = chdir.resolve()
    sys.path.insert(0, str(chdir))
    if ":" not in app:
        raise click.BadParameter(
            "expected MODULE:VARIABLE, e.g. app:application", param_hint="APP"
        )
    _refuse_call_syntax(app)
    try:
        loaded = import_app(app)  # fail here, in one line, not in every worker
    except (AppImportError, ImportError, SyntaxError) as exc:
        if ctx.obj["verbose"]:
            traceback.print_exc()
        if "must be callable" in str(exc):
            raise CommandError(_not_an_app(app)) from exc
        raise CommandError(
            f"cannot import {app!r} from {chdir}: {type(exc).__name__}: {exc}"
        ) from exc
    if _looks_like_an_anonymizer(loaded):
        raise CommandError(_not_an_app(app))
    warnings: tuple[str, ...] = (DEBUG_WARNING,) if settings.debug else ()
    if not settings.control_token:
        warnings += (
            f"{CONTROL_TOKEN_ENV} is not set: anyone who can reach this server can "
            "call /fit and /evaluate (each refit of a differentially private model "
            "spends its privacy budget again); set it to require 'Authorization: "
            "Bearer <token>' on those routes",
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
    banner = f"serving {app} ({workers} workers)"
    run_server(lambda: import_app(app), options, banner, warnings)


_PASS_THE_APP = (
    "pass the object the factory returns, e.g. app:application "
    "(application = supervised_learning_anonymizer_server_factory(...))"
)


def _refuse_call_syntax(app: str) -> None:
    """``app:application()``: the variable is named, not called."""
    if "(" in app.partition(":")[2]:
        raise CommandError(
            f"{app!r} calls the object; {_PASS_THE_APP}, without parentheses"
        )


def _looks_like_an_anonymizer(obj: object) -> bool:
    """An anonymizer (``fit``/``predict`` or ``anonymize``) rather than the
    WSGI app a factory made of it."""
    import falcon

    if isinstance(obj, falcon.App):
        return False
    return callable(getattr(obj, "anonymize", None)) or (
        callable(getattr(obj, "fit", None)) and callable(getattr(obj, "predict", None))
    )


def _not_an_app(app: str) -> str:
    return f"{app!r} is not a WSGI app (an anonymizer?); {_PASS_THE_APP}"
