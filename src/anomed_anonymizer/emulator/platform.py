"""What every scoring route of the emulated challenge does with a score:
compute it (an evaluator's ``ValueError`` is upstream's bare 500, ours has a
JSON body saying why), forward it to the AnoMed platform as the real
challenge does, and answer 201 with it."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import falcon
import requests

from ..wire.addresses import peer_url

__all__ = [
    "MAX_UPLOAD_BYTES",
    "answer_with_score",
    "malformed",
    "score_forwarder",
    "scored",
]

Forward = Callable[[falcon.Request, dict[str, float]], None]

MAX_UPLOAD_BYTES = 256 * 1024 * 1024
"""The default bound of an upload to a scoring route: its body, and what it
inflates to (413 above)."""


def malformed(description: str) -> falcon.HTTPBadRequest:
    """The 400 upstream answers an unusable upload with."""
    return falcon.HTTPBadRequest(title="Malformed request.", description=description)


def scored(
    evaluate: Callable[..., dict[str, float]], *args: Any, explain: str = ""
) -> dict[str, float]:
    """``evaluate(*args)``, its ``ValueError`` answered as a JSON 500 (with
    ``explain`` appended to the reason)."""
    try:
        return evaluate(*args)
    except ValueError as exc:
        raise falcon.HTTPInternalServerError(
            title="Evaluation failed", description=f"{exc}{explain}"
        ) from exc


def answer_with_score(
    req: falcon.Request,
    resp: falcon.Response,
    evaluation: dict[str, float],
    forward: Forward,
) -> None:
    """Forward ``evaluation`` to the platform and answer 201 with it."""
    forward(req, evaluation)
    resp.status = falcon.HTTP_CREATED
    resp.text = json.dumps(evaluation)


_logger = logging.getLogger(__name__)


def score_forwarder(kind: str, anomed_host: str | None) -> Forward:
    """Forward scores to the platform at ``ANOMED_HOST``, when one is set: a
    host (the platform's form, port 80), ``HOST:PORT`` or a URL.

    Raises
    ------
    ValueError
        If ``anomed_host`` is none of these (at start, not at the first score).
    """
    base = peer_url("ANOMED_HOST", {"ANOMED_HOST": anomed_host}) if anomed_host else ""

    def forward(req: falcon.Request, evaluation: dict[str, float]) -> None:
        if not base:
            return
        url = f"{base}/submissions/{kind}-evaluation-results"
        payload = {"secret": "", **dict(req.params), **evaluation}
        try:
            requests.post(url, json=payload, timeout=10)
        except requests.RequestException as exc:
            _logger.warning("could not forward the %s score to %s: %s", kind, url, exc)

    return forward
