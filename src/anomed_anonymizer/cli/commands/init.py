"""``anomed-anonymizer init``: scaffold a submission (the templates are in
:mod:`..scaffold`).
"""

from __future__ import annotations

from pathlib import Path

import click

from .._common import CommandError


@click.command(short_help="Scaffold a submission (app, tests, Dockerfile).")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--template",
    type=click.Choice(["supervised", "tabular", "torch", "torch-regression"]),
    default="supervised",
    show_default=True,
    help="supervised: DP naive Bayes; tabular: k-anonymity; torch: a DP-SGD "
    "MLP classifier; torch-regression: a DP-SGD MLP for a regression "
    "challenge (one or several outputs, e.g. glucose curves).",
)
@click.option("--force", is_flag=True, help="Write into a non-empty directory.")
def init(directory, template, force) -> None:
    """Scaffold a submission in DIRECTORY: app.py, pinned requirements.txt,
    Dockerfile, README for attackers and a smoke test."""
    from ..scaffold import scaffold

    try:
        written = scaffold(directory, template, force=force)
    except (FileExistsError, ValueError) as exc:
        raise CommandError(str(exc)) from exc
    click.echo(f"created {len(written)} files in {directory}:")
    for path in written:
        click.echo(f"  {path.relative_to(directory)}")
    # torch's CPU build: without its index pip fetches a multi-GB CUDA build.
    index = (
        " --extra-index-url https://download.pytorch.org/whl/cpu"
        if template.startswith("torch")
        else ""
    )
    click.echo(
        f"next: cd {directory} && pip install -r requirements.txt{index} "
        "&& python -m pytest test_smoke.py"
    )
