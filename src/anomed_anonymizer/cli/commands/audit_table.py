"""``anomed-anonymizer audit-table MODULE:OBJECT``: audit a table anonymizer
before submitting it (see :mod:`anomed_anonymizer.table_audit`)."""

from __future__ import annotations

import time
import traceback
from pathlib import Path
from typing import Any

import click

from .._common import (
    CommandError,
    chdir_option,
    file_option,
    json_option,
    load_object,
    rows_option,
    seed_option,
)

__all__ = ["audit_table_command"]


def _columns(values: tuple[str, ...]) -> list[str] | None:
    """Repeated options and comma-separated lists, flattened."""
    columns = [c.strip() for value in values for c in value.split(",") if c.strip()]
    return columns or None


@click.command(
    "audit-table", short_help="Attack your table anonymizer's release: what leaks?"
)
@click.argument("anonymizer", metavar="MODULE:OBJECT")
@click.option(
    "--dataset",
    default="adult",
    show_default=True,
    help="The leaky table: adult (the emulator's synthetic Adult-like table) or a "
    ".csv/.parquet file.",
)
@rows_option(20, "adult: rows of the table (as emulate-challenge --rows).")
@click.option(
    "--quasi-identifiers",
    "-q",
    multiple=True,
    metavar="COLS",
    help="Columns an attacker knows, comma-separated or repeated [default: the "
    "anonymizer's quasi_identifiers; for adult: age, sex, race, education, "
    "marital-status].",
)
@click.option(
    "--sensitive",
    metavar="COL",
    help="The column attackers try to recover [default: the anonymizer's "
    "sensitive_column; for adult: income].",
)
@json_option
@file_option("--html", "html_path", "Write the HTML page (tables and plots) here.")
@click.option(
    "--control-fraction",
    type=click.FloatRange(0, 0.9),
    default=0.5,
    show_default=True,
    help="Share of the rows held out of the anonymizer as Anonymeter's control "
    "set (and part of the journalist's population).",
)
@click.option(
    "--threshold",
    type=click.FloatRange(0, 1, min_open=True),
    default=0.1,
    show_default=True,
    help="A record whose re-identification risk exceeds this is at risk.",
)
@click.option(
    "--n-attacks",
    type=click.IntRange(1),
    default=500,
    show_default=True,
    help="Anonymeter's attacks per evaluation (more: tighter intervals, slower).",
)
@click.option(
    "--link-columns",
    metavar="COLS",
    help="Linkability: the first table's columns (comma-separated); the second "
    "holds every other column but the sensitive one [default: the "
    "quasi-identifiers].",
)
@click.option(
    "--no-attacks",
    is_flag=True,
    help="Skip Anonymeter's attacks (the slow part); risk, reconstruction and "
    "utility still run.",
)
@click.option(
    "--search-k",
    type=click.IntRange(0),
    default=3,
    show_default=True,
    help="Where a risk is not wholly below the threshold and the anonymizer "
    "has a k: audit up to this many larger k on the same records and name the "
    "first that brings each risk under (0: don't).",
)
@seed_option(42)
@chdir_option()
@click.pass_context
def audit_table_command(
    ctx: click.Context,
    anonymizer: str,
    dataset: str,
    rows: int,
    quasi_identifiers: tuple[str, ...],
    sensitive: str | None,
    json_path: Path | None,
    html_path: Path | None,
    control_fraction: float,
    threshold: float,
    n_attacks: int,
    link_columns: str | None,
    no_attacks: bool,
    search_k: int,
    seed: int,
    chdir: Path,
) -> None:
    """Audit the table anonymizer MODULE:OBJECT (an unfitted instance, e.g.
    app:anonymizer) before you submit it.

    Holds out control records, anonymizes the rest and reports, side by side:
    re-identification risk (prosecutor, journalist, marketer), Anonymeter's
    singling-out, linkability and inference attacks and a reconstruction of
    the sensitive column (risks with 95% intervals), and utility as the
    challenge scores it. Prints one table; --json and --html write the report.
    """
    from ...emulator import load_table
    from ...emulator.adult import ADULT_QUASI_IDENTIFIERS, ADULT_SENSITIVE
    from ...table_audit import audit_table

    if ":" not in anonymizer:
        raise click.BadParameter(
            "expected MODULE:OBJECT, e.g. app:anonymizer", param_hint="ANONYMIZER"
        )
    try:
        obj = load_object(anonymizer, chdir)
    except ValueError as exc:
        if ctx.obj and ctx.obj.get("verbose"):
            traceback.print_exc()
        raise CommandError(str(exc)) from exc
    try:
        table = load_table(dataset, rows, seed)
    except (ValueError, OSError) as exc:
        raise CommandError(str(exc)) from exc
    qis = _columns(quasi_identifiers)
    if dataset == "adult":
        if qis is None and getattr(obj, "quasi_identifiers", None) is None:
            qis = list(ADULT_QUASI_IDENTIFIERS)
        if sensitive is None and getattr(obj, "sensitive_column", None) is None:
            sensitive = ADULT_SENSITIVE
    options: dict[str, Any] = {
        "threshold": threshold,
        "n_attacks": n_attacks,
        "attacks": not no_attacks,
        "search_k": search_k,
    }
    if link_columns:
        first = _columns((link_columns,)) or []
        options["linkability_columns"] = (
            first,
            [c for c in table.columns if c not in set(first) and c != sensitive],
        )

    started = time.perf_counter()

    def progress(message: str) -> None:
        elapsed = time.perf_counter() - started
        click.echo(f"[{elapsed:6.1f} s] {message} ...", err=True)

    try:
        audit = audit_table(
            obj,
            table,
            quasi_identifiers=qis,
            sensitive=sensitive,
            control_fraction=control_fraction,
            seed=seed,
            progress=progress,
            **options,
        )
    except (TypeError, ValueError) as exc:
        raise CommandError(str(exc)) from exc
    click.echo(audit.format_table())
    for path, write in ((json_path, audit.write_json), (html_path, audit.write_html)):
        if path is not None:
            click.echo(f"wrote {write(path)}")
