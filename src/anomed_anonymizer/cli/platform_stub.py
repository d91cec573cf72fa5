"""A stand-in for the AnoMed platform in a local run (``anomed-anonymizer
platform-stub``): it receives the scores a challenge forwards to
``ANOMED_HOST`` and, as the platform does once a submission's containers run,
drives the anonymizer's ``/fit`` and ``/evaluate``, then each attack's.

Routes: ``GET /`` (the run so far: each step's status and answer, ``done``,
``ok``, the submissions received), ``GET /submissions``, and ``POST
/submissions/{kind}`` (what the challenge posts, 201).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import falcon
import requests

__all__ = ["PlatformStub", "Step"]

_logger = logging.getLogger("anomed_anonymizer.platform_stub")


@dataclass
class Step:
    """One request the stub sent, and what came back."""

    method: str
    url: str
    status: int | None = None
    seconds: float = 0.0
    answer: Any = None
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


@dataclass
class PlatformStub:
    """Drives anonymizers and attacks as the platform does; records scores.

    Parameters
    ----------
    anonymizers, attacks : sequence of str
        Base URLs (``http://anonymizer:80``); each gets ``POST /fit`` then
        ``POST /evaluate`` per split, the anonymizers first.
    splits : sequence of str | None
        The ``data_split`` of each ``/evaluate`` (``None``: one without, as a
        tabular anonymizer takes it).
    wait_s : float
        How long to wait for each server's ``GET /`` before giving up.
    timeout_s : float
        The read timeout of a ``/fit`` or ``/evaluate``.
    """

    anonymizers: Sequence[str] = ()
    attacks: Sequence[str] = ()
    splits: Sequence[str | None] = ("tuning", "validation")
    wait_s: float = 900.0
    timeout_s: float = 3600.0
    steps: list[Step] = field(default_factory=list)
    submissions: list[dict[str, Any]] = field(default_factory=list)
    done: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def ok(self) -> bool:
        """Every step answered 2xx (``False`` until the run is done)."""
        with self._lock:
            return self.done.is_set() and all(step.ok for step in self.steps)

    def state(self) -> dict[str, Any]:
        with self._lock:
            steps = [{**asdict(step), "ok": step.ok} for step in self.steps]
            submissions = list(self.submissions)
        done = self.done.is_set()
        return {
            "done": done,
            "ok": done and all(step["ok"] for step in steps),
            "steps": steps,
            "submissions": submissions,
        }

    # -- driving ---------------------------------------------------------------

    def drive(self) -> bool:
        """Wait for every server, then fit and evaluate each in turn; stop at
        the first failure. Returns whether every step succeeded."""
        try:
            for base in (*self.anonymizers, *self.attacks):
                if not self._wait_for(base):
                    return False
                if not self._send("POST", f"{base}/fit"):
                    return False
                for split in self.splits:
                    params = {} if split is None else {"data_split": split}
                    if not self._send("POST", f"{base}/evaluate", params):
                        return False
            return True
        finally:
            self.done.set()
            _logger.info("platform stub: run %s", "succeeded" if self.ok else "FAILED")

    def _wait_for(self, base: str) -> bool:
        deadline = time.monotonic() + self.wait_s
        last = ""
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{base}/", timeout=5).status_code == 200:
                    return True
            except requests.RequestException as exc:
                last = str(exc)
            time.sleep(1.0)
        self._record(
            Step("GET", f"{base}/", error=f"no answer in {self.wait_s:g} s: {last}")
        )
        return False

    def _send(self, method: str, url: str, params: dict | None = None) -> bool:
        step = Step(method, url + ("?" + _query(params) if params else ""))
        started = time.monotonic()
        try:
            response = requests.request(
                method, url, params=params, timeout=(10, self.timeout_s)
            )
        except requests.RequestException as exc:
            step.error = str(exc)
        else:
            step.status = response.status_code
            try:
                step.answer = response.json()
            except ValueError:
                step.answer = response.text[:2000]
        step.seconds = round(time.monotonic() - started, 3)
        self._record(step)
        return step.ok

    def _record(self, step: Step) -> None:
        with self._lock:
            self.steps.append(step)
        outcome = step.status if step.status is not None else step.error
        _logger.info(
            "platform stub: %s %s -> %s in %.1f s: %s",
            step.method,
            step.url,
            outcome,
            step.seconds,
            json.dumps(step.answer)[:500] if step.answer is not None else "",
        )

    # -- serving ---------------------------------------------------------------

    def app(self) -> falcon.App:
        """The platform's side: the run's state and the score submissions."""
        app = falcon.App()
        app.add_route("/", _State(self))
        app.add_route("/submissions", _Submissions(self))
        app.add_route("/submissions/{kind}", _Submissions(self))
        return app


def _query(params: dict) -> str:
    from urllib.parse import urlencode

    return urlencode(params)


class _State:
    def __init__(self, stub: PlatformStub) -> None:
        self._stub = stub

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = {"platform_stub": True, **self._stub.state()}


class _Submissions:
    def __init__(self, stub: PlatformStub) -> None:
        self._stub = stub

    def on_get(self, req, resp, kind: str | None = None) -> None:
        submissions = self._stub.state()["submissions"]
        resp.media = [s for s in submissions if kind is None or s["kind"] == kind]

    def on_post(self, req, resp, kind: str | None = None) -> None:
        if kind is None:
            raise falcon.HTTPMethodNotAllowed(["GET"])
        try:
            body = json.loads(req.bounded_stream.read(1024 * 1024) or b"null")
        except ValueError as exc:
            raise falcon.HTTPBadRequest(
                title="Malformed submission",
                description=f"the body must be JSON: {exc}",
            ) from exc
        if not isinstance(body, dict):
            raise falcon.HTTPBadRequest(
                title="Malformed submission",
                description="the body must be a JSON object of scores",
            )
        submission = {"kind": kind, **body}
        with self._stub._lock:
            self._stub.submissions.append(submission)
        _logger.info("platform stub: received %s: %s", kind, json.dumps(body)[:500])
        resp.status = falcon.HTTP_CREATED
        resp.media = submission
