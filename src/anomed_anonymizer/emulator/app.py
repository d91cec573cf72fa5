"""The local challenge's web app: the routes, encodings and status codes of
``anomed_challenge.supervised_learning_MIA_challenge_server_factory``.

Where upstream answers a bare 500 (a prediction of the wrong dtype or shape),
this one answers 500 too, but with a JSON description that says what is wrong:
the status is the contract, the words are for the competitor.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable

import falcon
import numpy as np

from ..web import create_app, npz_body
from ..wire import (
    PayloadError,
    encode_named_arrays,
)
from .platform import (
    MAX_UPLOAD_BYTES,
    Forward,
    answer_with_score,
    malformed,
    score_forwarder,
    scored,
)
from .supervised import MIAChallenge, evaluate_membership_inference

__all__ = ["supervised_challenge_app"]

_logger = logging.getLogger(__name__)


class _Arrays:
    """GET: a fixed (or request-dependent) pair of arrays as ``.npz``."""

    def __init__(
        self, provide: Callable[[falcon.Request], tuple[np.ndarray, np.ndarray]]
    ):
        self._provide = provide

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        X, y = self._provide(req)
        resp.content_type = "application/octet-stream"
        resp.data = encode_named_arrays({"X": X, "y": y})


class _Utility:
    """POST: score an ``.npz`` ``prediction`` against a ground truth."""

    def __init__(
        self,
        ground_truth: Callable[[falcon.Request], np.ndarray],
        evaluate: Callable[[np.ndarray, np.ndarray], dict[str, float]],
        forward: Forward,
        max_upload_bytes: int,
    ) -> None:
        self._ground_truth = ground_truth
        self._evaluate = evaluate
        self._forward = forward
        self._max_upload_bytes = max_upload_bytes

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        prediction = npz_body(
            req, self._max_upload_bytes, required=("prediction",), invalid=_unusable
        )["prediction"]
        truth = self._ground_truth(req)
        evaluation = scored(
            self._evaluate,
            prediction,
            truth,
            explain=(
                f" (the ground truth has shape {truth.shape} and dtype "
                f"{truth.dtype}; predictions must match both exactly)"
            ),
        )
        answer_with_score(req, resp, evaluation, self._forward)


def _unusable(exc: PayloadError) -> falcon.HTTPBadRequest:
    _logger.warning("unusable prediction upload: %s", exc)
    return malformed("Expected a NumPy array with name 'prediction'.")


def supervised_challenge_app(
    challenge: MIAChallenge,
    anomed_host: str | None = None,
    *,
    max_upload_bytes: int = MAX_UPLOAD_BYTES,
) -> falcon.App:
    """Create the web app of a supervised-learning MIA challenge.

    Parameters
    ----------
    challenge : MIAChallenge
        Data and scoring.
    anomed_host : str | None, optional
        The platform to forward scores to (a host, meaning port 80, as the
        platform passes it, ``host:port`` or a URL); by default the
        ``ANOMED_HOST`` environment variable, and none if that is unset.
    max_upload_bytes : int, optional
        The largest prediction upload, and the most its archive may inflate
        to (413 above), by default 256 MiB.

    Returns
    -------
    falcon.App
        Routes ``GET /``, ``GET /data/anonymizer/{training,tuning,validation}``,
        ``GET /data/deanonymizer/{members,non-members}``,
        ``GET /data/attack-success-evaluation``, ``POST /utility/anonymizer``,
        ``POST /utility/deanonymizer``.
    """
    host = anomed_host if anomed_host is not None else os.environ.get("ANOMED_HOST")
    empty = np.array([])

    def attack_evaluation(req: falcon.Request):
        return challenge.attack_evaluation(
            anonymizer=req.get_param("anonymizer", required=True),
            deanonymizer=req.get_param("deanonymizer", required=True),
            data_split=req.get_param("data_split", required=True),
        )

    app = create_app("Challenge server is alive!")
    app.add_route("/data/anonymizer/training", _Arrays(lambda req: challenge.training))
    app.add_route(
        "/data/anonymizer/tuning", _Arrays(lambda req: (challenge.tuning[0], empty))
    )
    app.add_route(
        "/data/anonymizer/validation",
        _Arrays(lambda req: (challenge.validation[0], empty)),
    )
    app.add_route("/data/deanonymizer/members", _Arrays(lambda req: challenge.members))
    app.add_route(
        "/data/deanonymizer/non-members", _Arrays(lambda req: challenge.non_members)
    )
    app.add_route(
        "/data/attack-success-evaluation",
        _Arrays(lambda req: attack_evaluation(req)[0]),
    )
    app.add_route(
        "/utility/anonymizer",
        _Utility(
            lambda req: challenge.targets(req.get_param("data_split", required=True)),
            challenge.evaluate,
            score_forwarder("anonymizer", host),
            max_upload_bytes,
        ),
    )
    app.add_route(
        "/utility/deanonymizer",
        _Utility(
            lambda req: attack_evaluation(req)[1],
            evaluate_membership_inference,
            score_forwarder("deanonymizer", host),
            max_upload_bytes,
        ),
    )
    return app
