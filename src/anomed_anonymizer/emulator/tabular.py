"""A tabular data-reconstruction challenge: the routes of
``anomed_challenge.tabular_data_reconstruction_challenge_server_factory``,
with utility and privacy metrics defined here (upstream leaves them to the
challenge author).

Metrics, all in ``[0, 1]`` and row-aligned with the leaky table (computed by
:func:`anomed_anonymizer.tabular.metrics.score_release`, with the kernels the
anonymizers' reports use, so a built-in anonymizer's ``report_`` matches its
score exactly):

- scheme ``same``: ``marginal_tvd``, the mean total-variation distance between
  each column's distribution in the leaky and the anonymized table (numeric
  columns binned into the leaky table's deciles); ``utility = 1 - marginal_tvd``.
- scheme ``generalization``: ``ncp``, the normalized certainty penalty of the
  ``c_min``/``c_max`` ranges and ``c=<category>`` indicators over every cell
  of the leaky table; ``utility = 1 - ncp``.
- scheme ``microaggregation``: ``sse_sst``, the squared error of the numeric
  columns over their total sum of squares; ``utility = 1 - sse_sst``.
- reconstruction (``/utility/deanonymizer``): ``cell_accuracy`` and
  ``row_accuracy`` of the reconstructed table (numbers count as equal within
  1 % of the column's range).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field

import falcon
import numpy as np
import pandas as pd

from ..tabular._checks import column_kind
from ..tabular.metrics import score_release
from ..web import create_app, parquet_body, parquet_bytes, refuse_larger
from ..wire import PayloadError, encode_table
from .platform import (
    MAX_UPLOAD_BYTES,
    answer_with_score,
    malformed,
    score_forwarder,
    scored,
)

__all__ = ["ReconstructionChallenge", "tabular_challenge_app"]

_logger = logging.getLogger(__name__)


@dataclass
class ReconstructionChallenge:
    """Leaky table, attacker's background knowledge and the scoring.

    Parameters
    ----------
    leaky : pandas.DataFrame
        The table anonymizers protect.
    seed : int
        Seeds the background-knowledge sample.
    background_fraction : float
        Share of rows the attacker knows.
    sensitive : str | None
        A column the attacker does not know (dropped from the background).
    """

    leaky: pd.DataFrame
    seed: int = 42
    background_fraction: float = 0.2
    sensitive: str | None = None
    background: pd.DataFrame = field(init=False)

    def __post_init__(self) -> None:
        if self.leaky.empty:
            raise ValueError("the leaky table is empty")
        if self.sensitive is not None and self.sensitive not in self.leaky.columns:
            raise ValueError(
                f"the leaky table has no sensitive column {self.sensitive!r}"
            )
        sample = self.leaky.sample(
            frac=self.background_fraction, random_state=self.seed
        )
        if self.sensitive is not None:
            sample = sample.drop(columns=[self.sensitive])
        self.background = sample

    def evaluate_utility(
        self, anonymized: pd.DataFrame, scheme: str
    ) -> dict[str, float]:
        """Score a release (see the module's documentation).

        Raises
        ------
        ValueError
            If the release does not follow ``scheme`` or is not row-aligned.
        """
        return score_release(self.leaky, anonymized, scheme)

    def evaluate_privacy(self, reconstructed: pd.DataFrame) -> dict[str, float]:
        """Score a reconstruction attack's output against the leaky table."""
        if len(reconstructed) != len(self.leaky):
            raise ValueError(
                f"the reconstruction has {len(reconstructed)} rows, expected "
                f"{len(self.leaky)}"
            )
        matches = []
        for column in self.leaky.columns:
            truth = self.leaky[column].reset_index(drop=True)
            if column not in reconstructed.columns:
                matches.append(np.zeros(len(truth), dtype=bool))
                continue
            guess = reconstructed[column].reset_index(drop=True)
            if column_kind(truth) == "numeric":
                span = float(truth.max() - truth.min()) or 1.0
                values = pd.to_numeric(guess, errors="coerce").to_numpy(dtype=float)
                close = np.abs(values - truth.to_numpy(dtype=float)) <= 0.01 * span
                matches.append(np.nan_to_num(close, nan=False).astype(bool))
            else:
                matches.append((guess.astype(str) == truth.astype(str)).to_numpy())
        cells = np.column_stack(matches)
        return {
            "cell_accuracy": float(cells.mean()),
            "row_accuracy": float(cells.all(axis=1).mean()),
        }


class _Table:
    def __init__(self, table: pd.DataFrame) -> None:
        self._body = encode_table(table)

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.content_type = "application/octet-stream"
        resp.data = self._body


class _Scoring:
    """A route that scores an upload: the challenge, where its score is
    forwarded, and the largest upload it reads."""

    def __init__(
        self, challenge: ReconstructionChallenge, forward, max_upload_bytes: int
    ) -> None:
        self._challenge = challenge
        self._forward = forward
        self._max_upload_bytes = max_upload_bytes


class _AnonymizerUtility(_Scoring):
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        limit = self._max_upload_bytes
        refuse_larger(req.content_length, limit)
        # No part can be larger than the body: the app's multipart handler
        # buffers parts up to the same limit (see tabular_challenge_app).
        parts = {}
        for part in req.get_media():
            parts[part.name] = part.data if part.name == "anon_data" else part.text
        missing = [name for name in ("anon_data", "anon_scheme") if name not in parts]
        if missing:
            raise malformed(f"multipart parts missing: {', '.join(missing)}")
        table = parquet_bytes(parts["anon_data"], limit, invalid=_malformed)
        evaluation = scored(
            self._challenge.evaluate_utility, table, parts["anon_scheme"]
        )
        answer_with_score(req, resp, evaluation, self._forward)


class _DeanonymizerUtility(_Scoring):
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        table = parquet_body(req, self._max_upload_bytes, invalid=_malformed)
        evaluation = scored(self._challenge.evaluate_privacy, table)
        answer_with_score(req, resp, evaluation, self._forward)


def _malformed(exc: PayloadError) -> falcon.HTTPBadRequest:
    return malformed(str(exc))


def tabular_challenge_app(
    challenge: ReconstructionChallenge,
    anomed_host: str | None = None,
    *,
    max_upload_bytes: int = MAX_UPLOAD_BYTES,
) -> falcon.App:
    """Create the web app of a tabular data-reconstruction challenge.

    Routes: ``GET /``, ``GET /data/anonymizer/leaky``,
    ``GET /data/deanonymizer/background-knowledge`` (Parquet),
    ``POST /utility/anonymizer?anonymizer=ID`` (multipart ``anon_data`` +
    ``anon_scheme``), ``POST /utility/deanonymizer`` (Parquet). Uploads of
    more than ``max_upload_bytes`` (default 256 MiB), or tables that would
    take more once read, are refused with 413.
    """
    host = anomed_host if anomed_host is not None else os.environ.get("ANOMED_HOST")
    app = create_app("Challenge server is alive!")
    # Falcon buffers at most 1 MiB per multipart part by default (a larger
    # release would be a 400): allow parts as large as the upload bound.
    multipart = app.req_options.media_handlers[falcon.MEDIA_MULTIPART]
    multipart.parse_options.max_body_part_buffer_size = max_upload_bytes
    app.add_route("/data/anonymizer/leaky", _Table(challenge.leaky))
    app.add_route(
        "/data/deanonymizer/background-knowledge", _Table(challenge.background)
    )
    app.add_route(
        "/utility/anonymizer",
        _AnonymizerUtility(
            challenge, score_forwarder("anonymizer", host), max_upload_bytes
        ),
    )
    app.add_route(
        "/utility/deanonymizer",
        _DeanonymizerUtility(
            challenge, score_forwarder("deanonymizer", host), max_upload_bytes
        ),
    )
    return app
