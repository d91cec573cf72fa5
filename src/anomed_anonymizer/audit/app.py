"""A deanonymizer-compatible web app around :class:`ARTBlackBoxAttack`: the
routes of ``anomed_deanonymizer.supervised_learning_MIA_server_factory``.

Unlike the upstream template, the attack is trained on *balanced* members and
non-members (each class equally often in both): the challenge serves several
times more members than non-members, and an attack trained on that learns to
answer "member" for everything.
"""

from __future__ import annotations

import threading

import falcon
import numpy as np

from ..errors import NotReadyError as NotFittedError
from ..web import AliveResource, RequestLogger, register_error_handlers
from ..wire import ChallengeClient
from .label_only import ARTBlackBoxAttack
from .splits import balance
from .targets import RemotePredictor

__all__ = ["audit_server_factory"]


class _AttackResource:
    def __init__(
        self,
        attack: ARTBlackBoxAttack,
        challenge_url: str,
        anonymizer_identifier: str,
        deanonymizer_identifier: str,
        client: ChallengeClient,
    ) -> None:
        self._attack = attack
        self._challenge = challenge_url.rstrip("/")
        self._ids = {
            "anonymizer": anonymizer_identifier,
            "deanonymizer": deanonymizer_identifier,
        }
        self._client = client
        self._fitted = False
        self._lock = threading.Lock()

    def on_post_fit(self, req: falcon.Request, resp: falcon.Response) -> None:
        members = self._client.fetch_named_arrays(
            f"{self._challenge}/data/deanonymizer/members", required=("X", "y")
        )
        non_members = self._client.fetch_named_arrays(
            f"{self._challenge}/data/deanonymizer/non-members", required=("X", "y")
        )
        X_m, y_m, X_n, y_n = balance(
            members["X"], members["y"], non_members["X"], non_members["y"]
        )
        if len(X_m) < 2:
            raise falcon.HTTPBadGateway(
                title="Unusable training data",
                description=(
                    f"the challenge served {len(members['X'])} members and "
                    f"{len(non_members['X'])} non-members, but fewer than 2 of "
                    "each share a label: the attack cannot be trained"
                ),
            )
        with self._lock:
            self._attack.fit(X_m, y_m, X_n, y_n)
            self._fitted = True
        resp.status = falcon.HTTP_CREATED
        resp.media = {"message": "Fitting has been completed successfully."}

    def on_post_evaluate(self, req: falcon.Request, resp: falcon.Response) -> None:
        data_split = req.get_param("data_split", required=True)
        if data_split not in ("tuning", "validation"):
            raise falcon.HTTPInvalidParam(
                "it must be tuning or validation", "data_split"
            )
        if not self._fitted:
            raise NotFittedError("this attack is not fitted yet: POST /fit first")
        params = {**self._ids, "data_split": data_split}
        data = self._client.fetch_named_arrays(
            f"{self._challenge}/data/attack-success-evaluation",
            required=("X", "y"),
            params=params,
        )
        memberships = self._attack.infer_memberships(data["X"], data["y"])
        evaluation = self._client.post_named_arrays(
            f"{self._challenge}/utility/deanonymizer",
            {"prediction": memberships},
            params=params,
        )
        resp.status = falcon.HTTP_CREATED
        resp.media = {
            "message": (
                f"The deanonymizer has been evaluated based on {data_split} data."
            ),
            "evaluation": evaluation,
        }


def audit_server_factory(
    anonymizer_url: str,
    challenge_url: str,
    n_features: int,
    n_classes: int,
    anonymizer_identifier: str = "example_anonymizer",
    deanonymizer_identifier: str = "membership_inference_audit",
    timeout: float = 60.0,
) -> falcon.App:
    """Create a membership-inference attack server against an anonymizer.

    Routes: ``GET /``, ``POST /fit`` (pull members and non-members from the
    challenge, subsample the larger set to the smaller's size, query the
    anonymizer, train the attack) and
    ``POST /evaluate?data_split=tuning|validation`` (infer memberships of the
    challenge's evaluation set and have the challenge score them). The fitted
    attack lives in memory: serve it with one worker.

    Parameters
    ----------
    anonymizer_url : str
        Base URL of the anonymizer under audit (its ``/predict`` is queried).
    challenge_url : str
        Base URL of the challenge.
    n_features, n_classes : int
        Shape of the task.
    anonymizer_identifier, deanonymizer_identifier : str, optional
        Names the challenge uses to pick the evaluation set.
    timeout : float, optional
        Seconds to wait for each request.

    Returns
    -------
    falcon.App
        The WSGI app.
    """
    predictor = RemotePredictor(
        f"{anonymizer_url.rstrip('/')}/predict", timeout=timeout
    )
    attack = ARTBlackBoxAttack(predictor, n_features, np.arange(n_classes))
    client = ChallengeClient(download_timeout=timeout, upload_timeout=timeout)
    resource = _AttackResource(
        attack, challenge_url, anonymizer_identifier, deanonymizer_identifier, client
    )
    app = falcon.App(middleware=[RequestLogger()])
    register_error_handlers(app)
    app.add_route("/", AliveResource("Deanonymizer server is alive!"))
    app.add_route("/fit", resource, suffix="fit")
    app.add_route("/evaluate", resource, suffix="evaluate")
    return app
