"""``anomed-anonymizer audit``: how much does an anonymizer leak?

In process (``MODULE:OBJECT``, an unfitted anonymizer, plus a dataset) every
attack runs, the score-based ones on reference models trained in parallel;
against a served ``/predict`` (``--url``) the label-only attacks run on
members and non-members from a challenge or from files.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from ._common import load_object
from .addresses import parse_address

__all__ = ["AuditOptions", "base_url", "load_anonymizer", "run_audit"]


@dataclass
class AuditOptions:
    """What the ``audit`` command was asked to do."""

    anonymizer: str | None = None
    url: str | None = None
    challenge: str | None = None
    members: str | None = None
    non_members: str | None = None
    dataset: str = "iris"
    target: str | None = None
    reference_models: int = 16
    one_run_canaries: int | None = None
    boundary_queries: int = 100
    n_jobs: int = 1
    seed: int = 0
    json_path: Path | None = None
    scores: bool = False
    markdown_path: Path | None = None
    plot_path: Path | None = None
    chdir: Path = Path(".")
    task: str = "auto"
    attribute: int | None = None


def base_url(address: str) -> str:
    """``http://HOST:PORT`` from ``HOST:PORT`` or a URL (a trailing slash goes).

    Raises
    ------
    ValueError
        If ``address`` is neither (see :func:`.addresses.parse_address`).

    Examples
    --------
    >>> base_url("127.0.0.1:8000"), base_url("http://challenge:80/")
    ('http://127.0.0.1:8000', 'http://challenge:80')
    """
    return parse_address(address).url


def load_anonymizer(spec: str, chdir: Path) -> Any:
    """Import ``MODULE:OBJECT`` (from ``chdir``) and check it is an anonymizer.

    Raises
    ------
    ValueError
        If the spec is malformed, the import fails, the object is missing, or
        it is not an object with ``fit`` and ``predict`` (e.g. the app).
    """
    obj = load_object(spec, chdir, example="app:example_anon")
    if not (
        callable(getattr(obj, "fit", None)) and callable(getattr(obj, "predict", None))
    ):
        raise ValueError(
            f"{spec} is a {type(obj).__name__}, not an anonymizer: pass the "
            "unfitted SupervisedLearningAnonymizer you give the server factory "
            "(e.g. app:example_anon, not app:application)"
        )
    return obj


def run_audit(options: AuditOptions) -> int:
    """Run the audit, print the summary, write the files; the exit code."""
    from ..audit import MembershipAudit

    audit = MembershipAudit(
        reference_models=options.reference_models,
        one_run_canaries=options.one_run_canaries,
        boundary_queries=options.boundary_queries,
        n_jobs=options.n_jobs,
        seed=options.seed,
        task=options.task,
    )
    started = time.perf_counter()
    run = _black_box if options.url else _in_process
    report = run(audit, options)
    report.settings["wall_seconds"] = round(time.perf_counter() - started, 1)
    click.echo(report.to_markdown())
    attribute = None
    if options.attribute is not None:
        from .attribute import add_to_json, run_attribute

        attribute = run_attribute(audit, options)
    if options.json_path:
        report.to_json(options.json_path, include_scores=options.scores)
        if attribute is not None:
            add_to_json(options.json_path, attribute)
        click.echo(f"JSON report: {options.json_path}")
    if options.markdown_path:
        options.markdown_path.write_text(report.to_markdown())
        click.echo(f"Markdown summary: {options.markdown_path}")
    if options.plot_path:
        report.plot_roc(options.plot_path)
        click.echo(f"ROC plot: {options.plot_path}")
    return 0


def _in_process(audit, options: AuditOptions):
    from ..audit.regression import resolve_task
    from ..emulator import load_dataset

    if not options.anonymizer:
        raise click.UsageError("give MODULE:OBJECT (an unfitted anonymizer) or --url")
    anonymizer = load_anonymizer(options.anonymizer, options.chdir)
    data = load_dataset(options.dataset, options.target)
    if resolve_task(data.y, options.task) == "regression":
        outputs = 1 if data.y.ndim == 1 else data.y.shape[1]
        targets = f"regression, {outputs} output{'s' if outputs > 1 else ''}"
    else:
        targets = f"{data.n_classes} classes"
    click.echo(
        f"auditing {options.anonymizer} on {data.name}: {len(data.X)} samples, "
        f"{data.X.shape[1]} features, {targets}",
        err=True,
    )
    with _progress(options.reference_models) as advance:
        report = audit.run(
            anonymizer, data.X, data.y, name=options.anonymizer, progress=advance
        )
    report.settings["dataset"] = data.name
    return report


def _black_box(audit, options: AuditOptions):
    if options.anonymizer:
        raise click.UsageError("give either MODULE:OBJECT or --url, not both")
    if options.challenge:
        members, non_members = _from_challenge(base_url(options.challenge))
    elif options.members and options.non_members:
        from ..emulator import load_dataset

        members = load_dataset(options.members, options.target)
        non_members = load_dataset(options.non_members, options.target)
        members, non_members = (members.X, members.y), (non_members.X, non_members.y)
    else:
        raise click.UsageError(
            "--url needs the samples to attack: --challenge HOST:PORT, or "
            "--members FILE and --non-members FILE"
        )
    click.echo(
        f"auditing {options.url}: {len(members[0])} members, "
        f"{len(non_members[0])} non-members",
        err=True,
    )
    return audit.run_black_box(options.url, *members, *non_members)


def _from_challenge(challenge: str) -> tuple[tuple, tuple]:
    """The served model's training data (members) and the challenge's
    non-members."""
    from ..wire import ChallengeClient

    client = ChallengeClient(download_timeout=60, upload_timeout=60)
    training = client.fetch_named_arrays(
        f"{challenge}/data/anonymizer/training", required=("X", "y")
    )
    non_members = client.fetch_named_arrays(
        f"{challenge}/data/deanonymizer/non-members", required=("X", "y")
    )
    return (training["X"], training["y"]), (non_members["X"], non_members["y"])


@contextlib.contextmanager
def _progress(total: int) -> Iterator[Callable[[int], None] | None]:
    """A progress bar on stderr while reference models train."""
    if total <= 0:
        yield None
        return
    with click.progressbar(
        length=total,
        label="reference models",
        file=sys.stderr,
        show_pos=True,
        show_eta=True,
    ) as bar:
        yield bar.update
