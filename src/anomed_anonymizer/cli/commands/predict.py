"""``anomed-anonymizer predict``: ask a served anonymizer's ``/predict`` for
the predictions of features in a CSV or ``.npz`` file, without writing Python.
"""

from __future__ import annotations

import csv
import json
import re
import zipfile
from pathlib import Path
from typing import IO

import click
import numpy as np

from ...wire import PeerClient, PeerError, PeerRejectedError, encode_named_arrays
from ...wire.predict import predict_url, remote_predict
from .._common import CommandError, quiet_request_logs
from ..addresses import ADDRESS

__all__ = ["format_rows", "predict", "read_features"]


@click.command(short_help="Predict with a served anonymizer (CSV or .npz in).")
@click.argument("address", type=ADDRESS, metavar="URL")
@click.option(
    "--csv",
    "csv_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Features as CSV: a header row, numeric columns only.",
)
@click.option(
    "--npz",
    "npz_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Features as .npz: the 2-d array 'X'.",
)
@click.option(
    "--batch-size",
    type=click.IntRange(1),
    default=None,
    help="Rows per request (and the server's batch_size) [default: as many as "
    "fit in 8 MiB per request; the server's own batch size].",
)
@click.option(
    "--output",
    "-o",
    default="-",
    show_default=True,
    metavar="FILE.csv|FILE.npz|-",
    help="Where the predictions go: '-' prints them (one row per line), a .csv "
    "gets columns 'prediction' (or 'prediction_0'..), a .npz the array "
    "'prediction' as /predict answers it.",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=60.0,
    show_default=True,
    help="Seconds to wait for each answer.",
)
@click.pass_context
def predict(ctx, address, csv_file, npz_file, batch_size, output, timeout) -> None:
    """POST the features to URL's /predict and write its predictions.

    URL is the anonymizer: http://HOST:PORT, HOST:PORT, or the full
    http://HOST:PORT/predict. Give the features with --csv or --npz; they are
    sent as float64, in requests of bounded size.

    \b
    Examples:
      anomed-anonymizer predict 127.0.0.1:8000 --csv features.csv
      anomed-anonymizer predict http://127.0.0.1:8000/predict --npz x.npz -o y.csv
    """
    if (csv_file is None) == (npz_file is None):
        raise click.UsageError("give the features with exactly one of --csv and --npz")
    suffix = "" if output == "-" else Path(output).suffix.lower()
    if suffix not in ("", ".csv", ".npz"):
        raise click.BadParameter(
            f"{output!r}: write '-', a .csv or a .npz file", param_hint="'--output'"
        )
    quiet_request_logs(ctx)
    X = read_features(csv_file, "csv") if csv_file else read_features(npz_file, "npz")
    url = predict_url(address.url)
    client = PeerClient(
        download_timeout=timeout, upload_timeout=timeout, peer="the anonymizer"
    )
    try:
        prediction = remote_predict(
            url,
            X,
            client=client,
            rows=batch_size,
            params=None if batch_size is None else {"batch_size": batch_size},
        )
    except PeerRejectedError as exc:
        raise CommandError(_rejection(url, exc)) from exc
    except PeerError as exc:
        raise CommandError(str(exc)) from exc
    try:
        if suffix == ".npz":
            Path(output).write_bytes(encode_named_arrays({"prediction": prediction}))
        elif suffix == ".csv":
            with open(output, "w", newline="") as file:
                _write_csv(prediction, file)
    except OSError as exc:
        raise CommandError(f"--output {output}: {exc.strerror or exc}") from exc
    if not suffix:
        for line in format_rows(prediction):
            click.echo(line)


def read_features(path: Path, kind: str) -> np.ndarray:
    """The features in ``path`` as a 2-d float64 array.

    Parameters
    ----------
    path : Path
        A CSV file with a header row and numeric columns (``kind="csv"``), or
        an ``.npz`` file holding the array ``X`` (``kind="npz"``).
    kind : str
        ``"csv"`` or ``"npz"``.

    Raises
    ------
    CommandError
        If the file cannot be read, a CSV has non-numeric columns (named), or
        ``X`` is missing, not numeric or not 2-d.
    """
    option = f"--{kind}"
    try:
        X = _read_csv(path, option) if kind == "csv" else _read_npz(path, option)
    except OSError as exc:
        raise CommandError(f"{option} {path}: {exc.strerror or exc}") from exc
    if X.ndim != 2:
        raise CommandError(
            f"{option} {path}: 'X' has shape {X.shape}; give a 2-d array "
            "(rows, features)"
        )
    if len(X) == 0:
        raise CommandError(f"{option} {path}: no rows to predict")
    return X


def _read_csv(path: Path, option: str) -> np.ndarray:
    import pandas as pd

    try:
        table = pd.read_csv(path)
    except (pd.errors.EmptyDataError, pd.errors.ParserError) as exc:
        raise CommandError(f"{option} {path}: not a readable CSV: {exc}") from exc
    except UnicodeDecodeError as exc:
        raise CommandError(f"{option} {path}: not a text CSV file: {exc}") from exc
    numeric = table.select_dtypes(include=["number", "bool"]).columns
    others = [str(column) for column in table.columns if column not in numeric]
    if others:
        raise CommandError(
            f"{option} {path}: non-numeric column(s) {', '.join(map(repr, others))}"
            "; give numeric features only (encode categories, drop the target)"
        )
    return table.to_numpy(dtype=np.float64)


def _read_npz(path: Path, option: str) -> np.ndarray:
    try:
        with np.load(path, allow_pickle=False) as archive:
            if not isinstance(archive, np.lib.npyio.NpzFile):
                raise CommandError(f"{option} {path}: not an .npz archive")
            if "X" not in archive.files:
                names = ", ".join(map(repr, archive.files)) or "none"
                raise CommandError(
                    f"{option} {path}: no array 'X' (it holds {names}); save the "
                    "features as X, e.g. numpy.savez(path, X=features)"
                )
            X = archive["X"]
    except (ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise CommandError(
            f"{option} {path}: not a usable .npz archive ({exc})"
        ) from exc
    try:
        return np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise CommandError(
            f"{option} {path}: 'X' (dtype {X.dtype}) is not numeric: {exc}"
        ) from exc


def format_rows(prediction: np.ndarray) -> list[str]:
    """One line per prediction: the value, or a ``(n, k)`` row's values
    comma-separated (more dimensions are flattened per row).

    Examples
    --------
    >>> format_rows(np.array([1, 0]))
    ['1', '0']
    >>> format_rows(np.array([[0.5, 2.0]]))
    ['0.5,2.0']
    """
    rows = prediction.reshape(len(prediction), -1) if prediction.ndim > 1 else None
    # str() of a Python float is its shortest round-tripping repr.
    if rows is None:
        return [str(value) for value in prediction.tolist()]
    return [",".join(map(str, row)) for row in rows.tolist()]


def _write_csv(prediction: np.ndarray, file: IO[str]) -> None:
    writer = csv.writer(file, lineterminator="\n")
    if prediction.ndim == 1:
        writer.writerow(["prediction"])
        writer.writerows([value] for value in prediction.tolist())
        return
    rows = prediction.reshape(len(prediction), -1)
    writer.writerow([f"prediction_{i}" for i in range(rows.shape[1])])
    writer.writerows(rows.tolist())


def _rejection(url: str, exc: PeerRejectedError) -> str:
    """The server's JSON error in a line: its status, title and description."""
    try:
        body = json.loads(exc.body_excerpt)
    except ValueError:  # not JSON, or cut off: the description as far as read
        cut = _DESCRIPTION.search(exc.body_excerpt)
        body = {"description": f"{_unescape(cut.group(1))}..."} if cut else None
    if isinstance(body, dict) and body.get("description"):
        title = f"{body['title']}: " if body.get("title") else ""
        return f"{url} answered {exc.status}: {title}{body['description']}"
    return str(exc)


_DESCRIPTION = re.compile(r'"description"\s*:\s*"((?:[^"\\]|\\.)*)')


def _unescape(text: str) -> str:
    try:
        return json.loads(f'"{text.rstrip(chr(92))}"')
    except ValueError:
        return text
