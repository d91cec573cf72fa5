"""A scriptable stand-in challenge for route unit tests.

Interop with the real challenge is proven in ``tests/interop``; here we need a
challenge that can also misbehave on demand (fail, stall, send garbage).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import falcon
import numpy as np
import pytest

from anomed_anonymizer.testing import serve_wsgi
from anomed_anonymizer.wire import decode_named_arrays, encode_named_arrays


@dataclass
class FakeChallenge:
    """Serves iris-like arrays and records what is posted for scoring."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_eval: np.ndarray
    y_eval: np.ndarray
    url: str = ""
    posted: list = field(default_factory=list)
    # Misbehaviours, switched on by tests: route suffix -> (status, body) or
    # (status, body, headers)
    overrides: dict = field(default_factory=dict)
    # Cleared while the challenge stalls: requests then wait, unanswered.
    answering: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self.answering.set()

    @contextlib.contextmanager
    def stalling(self) -> Iterator[None]:
        """Within the block, the challenge answers nothing."""
        self.answering.clear()
        try:
            yield
        finally:
            self.answering.set()

    def app(self) -> falcon.App:
        app = falcon.App()
        challenge = self

        class Data:
            def on_get(self, req, resp, split):
                challenge._misbehave(f"data/{split}", resp)
                if resp.complete:
                    return
                if split == "training":
                    arrays = {"X": challenge.X_train, "y": challenge.y_train}
                else:
                    arrays = {"X": challenge.X_eval, "y": np.array([])}
                resp.content_type = "application/octet-stream"
                resp.data = encode_named_arrays(arrays)

        class Utility:
            def on_post(self, req, resp):
                challenge._misbehave("utility", resp, req)
                if resp.complete:
                    return
                prediction = decode_named_arrays(
                    req.bounded_stream.read(), required=["prediction"]
                )["prediction"]
                challenge.posted.append((dict(req.params), prediction))
                accuracy = float(np.mean(prediction == challenge.y_eval))
                resp.status = falcon.HTTP_CREATED
                resp.media = {"accuracy": accuracy}

        app.add_route("/data/anonymizer/{split}", Data())
        app.add_route("/utility/anonymizer", Utility())
        return app

    def _misbehave(
        self, route: str, resp: falcon.Response, req: falcon.Request | None = None
    ) -> None:
        self.answering.wait(60)
        if route in self.overrides:
            if req is not None:
                # Read what was sent: a server that closes with the request
                # unread resets the connection, and the client may lose the
                # answer (seen with a 200 KB one).
                req.bounded_stream.read()
            status, body, *headers = self.overrides[route]
            resp.status = status
            resp.data = body
            for name, value in (headers[0] if headers else {}).items():
                resp.set_header(name, value)
            resp.complete = True


def serve_in_thread(app):
    """Serve a WSGI app on a free loopback port; yields its base URL (the
    plugin's :func:`anomed_anonymizer.testing.serve_wsgi`)."""
    return serve_wsgi(app)


@pytest.fixture
def fake_challenge():
    rng = np.random.default_rng(0)
    X = rng.uniform(0, 5, size=(60, 4))
    y = (X[:, 0] > 2.5).astype(np.int64)
    challenge = FakeChallenge(X[:40], y[:40], X[40:], y[40:])
    with serve_in_thread(challenge.app()) as url:
        challenge.url = url
        yield challenge
