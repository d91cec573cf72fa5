"""What the commands share: the one-line error, the group that turns every
failure into one, the options several commands take (each written once: its
type, default and help), the one ``MODULE:OBJECT`` loader, and serving an app
under gunicorn."""

from __future__ import annotations

import importlib
import importlib.util
import logging
import os
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from .._install import install_hint
from ..runtime.serving import ServeOptions, ensure_port_free, run_gunicorn
from . import processes

F = TypeVar("F", bound=Callable[..., Any])

__all__ = [
    "CommandError",
    "Group",
    "chdir_option",
    "dataset_options",
    "file_option",
    "host_option",
    "json_option",
    "kind_option",
    "load_object",
    "missing_extra",
    "port_option",
    "quiet_request_logs",
    "require",
    "rows_option",
    "run_server",
    "seed_option",
    "serve_options",
    "stack",
    "task_option",
]


class CommandError(click.ClickException):
    """A failure the user can act on: printed as one line, exit code 1."""

    def show(self, file=None) -> None:
        click.echo(f"error: {self.format_message()}", err=True)


class Group(click.Group):
    """Every failure a command does not handle becomes one line (``--verbose``:
    its traceback too); Ctrl-C exits 130, SIGTERM/SIGHUP their codes."""

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


def stack(*decorators: Callable[[F], F]) -> Callable[[F], F]:
    """One decorator of several, applied as if written in this order above a
    function (the first outermost, as click lists the options in --help)."""

    def apply(function: F) -> F:
        for decorator in reversed(decorators):
            function = decorator(function)
        return function

    return apply


def host_option(show_envvar: bool = False) -> Callable[[F], F]:
    """``--host``: the interface to bind, 127.0.0.1 unless told."""
    return click.option(
        "--host",
        show_envvar=show_envvar,
        default="127.0.0.1",
        show_default=True,
        help="Interface to bind.",
    )


def port_option(
    default: int, help: str = "Port to listen on.", show_envvar: bool = False
) -> Callable[[F], F]:
    """``--port``: 0 to 65535."""
    return click.option(
        "--port",
        show_envvar=show_envvar,
        type=click.IntRange(0, 65535),
        default=default,
        show_default=True,
        help=help,
    )


serve_options = stack(
    host_option(show_envvar=True),
    port_option(8000, show_envvar=True),
    click.option(
        "--workers",
        show_envvar=True,
        type=click.IntRange(1),
        default=2,
        show_default=True,
        help="Worker processes.",
    ),
)
"""``--host``, ``--port`` and ``--workers``, for every command that serves
under gunicorn."""


def chdir_option(what: str = "MODULE") -> Callable[[F], F]:
    """``--chdir``: the folder ``what`` is imported from (default: here)."""
    return click.option(
        "--chdir",
        type=click.Path(file_okay=False, exists=True, path_type=Path),
        default=Path("."),
        show_default=True,
        help=f"Import {what} from this folder.",
    )


def file_option(flag: str, dest: str, help: str, **kwargs: Any) -> Callable[[F], F]:
    """An output file (``--json``, ``--html``, ``--plot``, ...), a ``Path``
    parameter named ``dest``."""
    return click.option(
        flag, dest, type=click.Path(dir_okay=False, path_type=Path), help=help, **kwargs
    )


json_option = file_option("--json", "json_path", "Write the JSON report here.")
"""``--json``: where the command writes its JSON report."""


def seed_option(default: int, help: str | None = None) -> Callable[[F], F]:
    """``--seed``: an integer, shown with its default."""
    return click.option(
        "--seed", type=int, default=default, show_default=True, help=help
    )


def rows_option(minimum: int, help: str) -> Callable[[F], F]:
    """``--rows``: rows of the synthetic Adult-like table (2000 unless told;
    at least ``minimum``, what the command's audit or split needs)."""
    return click.option(
        "--rows",
        type=click.IntRange(minimum),
        default=2000,
        show_default=True,
        help=help,
    )


def dataset_options(
    default: str | None, dataset_help: str, target_help: str
) -> Callable[[F], F]:
    """``--dataset`` (an embedded name or a file) and ``--target`` (its
    target column or array)."""
    return stack(
        click.option(
            "--dataset",
            default=default,
            show_default=default is not None,
            help=dataset_help,
        ),
        click.option("--target", help=target_help),
    )


def kind_option(help: str) -> Callable[[F], F]:
    """``--kind``: the supervised (MIA) challenge, the default, or the tabular
    one."""
    return click.option(
        "--kind",
        type=click.Choice(["supervised", "tabular"]),
        default="supervised",
        show_default=True,
        help=help,
    )


def task_option(
    help: str, auto: bool = True, show_default: bool = True
) -> Callable[[F], F]:
    """``--task``: classification or regression (and ``auto``, the default,
    where the command can tell from the target)."""
    choices = ["classification", "regression"]
    return click.option(
        "--task",
        type=click.Choice(["auto", *choices] if auto else choices),
        default="auto" if auto else None,
        show_default=auto and show_default,
        help=help,
    )


def quiet_request_logs(ctx: click.Context) -> None:
    """Commands that print a table need no line per HTTP request (--verbose
    brings them back), nor ART's configuration notes."""
    if not ctx.obj.get("verbose"):
        for name in ("anomed_anonymizer.wire", "art"):
            logging.getLogger(name).setLevel(logging.WARNING)


def require(what: str, extra: str, *modules: str) -> None:
    """Fail in one line, naming the extra to install, if a module is missing."""
    for module in modules:
        if importlib.util.find_spec(module) is None:
            raise missing_extra(ModuleNotFoundError(name=module), extra, what)


def missing_extra(exc: ModuleNotFoundError, extra: str, what: str) -> CommandError:
    return CommandError(
        f"{what} needs the '{extra}' extra ({exc.name} is missing): "
        f"{install_hint(extra)}"
    )


def run_server(
    load, options: ServeOptions, banner: str, warnings: tuple[str, ...] = ()
) -> None:
    """Serve what ``load()`` returns under gunicorn: the port checked once,
    then ``warnings`` logged and ``banner`` printed; a failure is one line."""
    parent = os.environ.pop(processes.PARENT_PID_ENV, "")
    if parent.isdigit() and not processes.PARENT_DEATH_SIGNAL:
        # Started by start_server where the kernel offers no parent-death
        # signal: watch the parent instead.
        processes.exit_when_parent_dies(int(parent))
    try:
        # The one check: before the banner, so that a taken port is one line.
        ensure_port_free(options.host, options.port)
        for warning in warnings:
            logging.getLogger("anomed_anonymizer.cli").warning("%s", warning)
        click.echo(f"{banner} on http://{options.host}:{options.port}", err=True)
        run_gunicorn(load, options)
    except OSError as exc:
        raise CommandError(str(exc)) from exc
    except SystemExit as exc:
        if exc.code not in (0, None):
            raise CommandError(
                f"gunicorn stopped with exit code {exc.code}; see the log above"
            ) from exc


def load_object(spec: str, directory: Path, example: str = "app:anonymizer") -> Any:
    """Import ``MODULE:OBJECT`` (``OBJECT`` may be dotted) from ``directory``,
    leaving ``sys.path`` as it was.

    Raises
    ------
    ValueError
        If ``spec`` is not of that form, the import fails (the message names
        the exception), or the module has no such object.
    """
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise ValueError(f"expected MODULE:OBJECT (e.g. {example}), got {spec!r}")
    directory = directory.resolve()
    sys.path.insert(0, str(directory))
    try:
        value: Any = importlib.import_module(module_name)
    except Exception as exc:
        raise ValueError(
            f"cannot import {spec!r} from {directory}: {type(exc).__name__}: {exc}"
        ) from exc
    finally:
        sys.path.remove(str(directory))
    for part in attribute.split("."):
        if not hasattr(value, part):
            raise ValueError(f"module {module_name!r} has no attribute {attribute!r}")
        value = getattr(value, part)
    return value
