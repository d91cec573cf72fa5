"""Test helpers for competitors: a real local challenge and an app client.

A pytest plugin (registered as ``anomed_anonymizer`` under the ``pytest11``
entry point, so installing the package enables it) with two fixtures:

``local_challenge``
    A supervised challenge serving Iris, a real web server on a free loopback
    port in a thread of the test process; it records what it received.
``make_local_challenge``
    A factory for challenges serving your arrays (classification or, with
    floating-point targets, regression scored by MSE and MAE) or your table
    (a tabular data-reconstruction challenge).

and :class:`AnonymizerClient`, which calls an anonymizer app's routes in
process (Falcon's test client) and fails with the server's own description.

Nothing heavy is imported until a fixture or helper is used, so the plugin
costs a pytest run that does not use it next to nothing (the emulator needs
the ``emulator`` extra: scikit-learn). Its checks raise ``AssertionError``
themselves, so pytest need not rewrite this module (PYTEST_DONT_REWRITE: no
warning where a test module imports it before listing it in
``pytest_plugins``).

Examples
--------
A user's ``test_app.py``, next to an ``app.py`` that builds ``application``
from ``CHALLENGE_HOST`` (as ``anomed-anonymizer init`` scaffolds it)::

    from anomed_anonymizer.testing import AnonymizerClient, load_app

    def test_my_model_fits_and_scores(local_challenge, tmp_path):
        app = load_app(
            "app:application",
            env={
                "CHALLENGE_HOST": local_challenge.host,
                "ANOMED_MODEL_FILE": str(tmp_path / "model.pkl"),
            },
        )
        client = AnonymizerClient(app)
        client.fit()
        score = client.evaluate("tuning")["evaluation"]
        assert score["accuracy"] > 0.5
        # what the challenge received: the prediction it scored
        (prediction,) = local_challenge.predictions
        assert prediction.dtype == local_challenge.training[1].dtype
"""

from __future__ import annotations

import contextlib
import importlib
import io
import os
import sys
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest

from ._install import install_hint

if TYPE_CHECKING:
    import falcon
    import falcon.testing
    import numpy as np
    import pandas as pd

__all__ = [
    "AnonymizerClient",
    "LocalChallenge",
    "ReceivedRequest",
    "load_app",
    "local_challenge",
    "local_challenge_server",
    "make_local_challenge",
    "serve_wsgi",
]


# --- serving a WSGI app in a thread ------------------------------------------


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass


class _ThreadingWSGIServer(WSGIServer):
    """One thread per request: an anonymizer may call the challenge while the
    challenge still answers another request."""

    daemon_threads = True

    def process_request(self, request, client_address) -> None:
        threading.Thread(
            target=self._handle, args=(request, client_address), daemon=True
        ).start()

    def _handle(self, request, client_address) -> None:
        try:
            self.finish_request(request, client_address)
        finally:
            self.shutdown_request(request)


@contextlib.contextmanager
def serve_wsgi(app: Callable) -> Iterator[str]:
    """Serve a WSGI app on a free loopback port in a daemon thread.

    Parameters
    ----------
    app : callable
        A WSGI application (a ``falcon.App``, for one).

    Yields
    ------
    str
        Its base URL, ``http://127.0.0.1:PORT``; the server stops when the
        block ends.

    Examples
    --------
    >>> import falcon, requests
    >>> with serve_wsgi(falcon.App()) as url:
    ...     requests.get(f"{url}/nothing", timeout=10).status_code
    404
    """
    server = make_server(
        "127.0.0.1",
        0,
        app,
        server_class=_ThreadingWSGIServer,
        handler_class=_QuietHandler,
    )
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=60)


# --- the recording local challenge --------------------------------------------


@dataclass(frozen=True)
class ReceivedRequest:
    """One request the local challenge received.

    Attributes
    ----------
    method : str
        ``GET``, ``POST``, ...
    path : str
        The path, without the query string.
    params : dict[str, str]
        The query parameters (the last value of a repeated one).
    body : bytes
        The request body as sent.
    status : int | None
        The status the challenge answered, ``None`` if it did not answer.
    """

    method: str
    path: str
    params: dict[str, str]
    body: bytes
    status: int | None = None

    @property
    def body_size(self) -> int:
        """Bytes in the request body."""
        return len(self.body)


@dataclass
class LocalChallenge:
    """A challenge served in the test process, and what it received.

    Made by the ``local_challenge`` and ``make_local_challenge`` fixtures;
    it serves until the test ends.

    Attributes
    ----------
    kind : str
        ``"supervised"`` (arrays, membership inference) or ``"tabular"``
        (a leaky table, data reconstruction).
    challenge : MIAChallenge | ReconstructionChallenge
        The emulator's challenge: its splits (``.training``, ``.tuning``,
        ``.validation``) or its ``.leaky`` table, and its scoring.
    url : str
        The base URL, ``http://127.0.0.1:PORT``.
    received : list[ReceivedRequest]
        Every request, in the order they arrived.
    predictions : list[numpy.ndarray]
        The ``prediction`` arrays posted to ``/utility/anonymizer`` of a
        supervised challenge, decoded (in the order they arrived; one that
        does not decode is left out).
    """

    kind: str
    challenge: Any
    url: str = ""
    received: list[ReceivedRequest] = field(default_factory=list)
    predictions: list[np.ndarray] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def host(self) -> str:
        """``127.0.0.1:PORT``, what ``CHALLENGE_HOST`` takes."""
        return self.url.removeprefix("http://")

    @property
    def training(self) -> tuple[np.ndarray, np.ndarray]:
        """``(X, y)`` a supervised challenge serves for training (the dtype and
        trailing shape of ``y`` are what predictions must have)."""
        return self._supervised().training

    @property
    def tuning(self) -> tuple[np.ndarray, np.ndarray]:
        """``(X, y)`` of the tuning split (the challenge serves only ``X``)."""
        return self._supervised().tuning

    @property
    def table(self) -> pd.DataFrame:
        """The leaky table of a tabular challenge."""
        if self.kind != "tabular":
            raise AttributeError("a supervised challenge serves arrays, not a table")
        return self.challenge.leaky

    def requests_to(
        self, path: str, method: str | None = None
    ) -> list[ReceivedRequest]:
        """The requests received on ``path`` (and ``method``, if given)."""
        with self._lock:
            return [
                r
                for r in self.received
                if r.path == path and (method is None or r.method == method.upper())
            ]

    def _supervised(self):
        if self.kind != "supervised":
            raise AttributeError("a tabular challenge serves a table: use .table")
        return self.challenge

    def _recording(self, app: Callable) -> Callable:
        """``app``, wrapped to record each request before answering it."""
        from urllib.parse import parse_qsl

        challenge = self

        def recorded(environ, start_response):
            try:
                length = int(environ.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            body = environ["wsgi.input"].read(length) if length > 0 else b""
            environ["wsgi.input"] = io.BytesIO(body)
            answered: list[int] = []

            def recording_start_response(status, headers, exc_info=None):
                answered.append(int(status.split(" ", 1)[0]))
                return start_response(status, headers, exc_info)

            try:
                return app(environ, recording_start_response)
            finally:
                challenge._record(
                    ReceivedRequest(
                        method=environ["REQUEST_METHOD"].upper(),
                        path=environ.get("PATH_INFO", ""),
                        params=dict(parse_qsl(environ.get("QUERY_STRING", ""))),
                        body=body,
                        status=answered[0] if answered else None,
                    )
                )

        return recorded

    def _record(self, request: ReceivedRequest) -> None:
        prediction = None
        if (
            self.kind == "supervised"
            and request.method == "POST"
            and request.path == "/utility/anonymizer"
        ):
            from .wire import PayloadError, decode_named_arrays

            with contextlib.suppress(PayloadError):
                arrays = decode_named_arrays(request.body, required=["prediction"])
                prediction = arrays["prediction"]
        with self._lock:
            self.received.append(request)
            if prediction is not None:
                self.predictions.append(prediction)


def _challenge_of(
    X: Any,
    y: Any,
    table: Any,
    dataset: Any,
    target: str | None,
    seed: int,
    options: dict[str, Any],
) -> tuple[str, Any, Callable]:
    try:
        from . import emulator
    except ImportError as exc:  # scikit-learn is the emulator extra
        raise ImportError(
            f"the local challenge needs the emulator extra ({exc}): "
            f"{install_hint('emulator')}"
        ) from exc
    if table is not None:
        if X is not None or y is not None or dataset is not None:
            raise TypeError("give either table=... or X/y (or dataset=...), not both")
        import pandas as pd

        if isinstance(table, str):
            table = emulator.load_table(table, seed=seed)
        if not isinstance(table, pd.DataFrame):
            raise TypeError(
                f"table must be a pandas DataFrame, 'adult' or a path, got "
                f"{type(table).__name__}"
            )
        challenge = emulator.ReconstructionChallenge(table, seed=seed, **options)
        return "tabular", challenge, emulator.tabular_challenge_app
    if (X is None) != (y is None):
        raise TypeError("give both X and y (or neither, for the default dataset)")
    if X is not None:
        if dataset is not None:
            raise TypeError("give either X/y or dataset=..., not both")
        import numpy as np

        data = emulator.Dataset("local", np.asarray(X), np.asarray(y))
    elif isinstance(dataset, emulator.Dataset):
        data = dataset
    else:
        data = emulator.load_dataset(dataset or "iris", target)
    # As many attack-evaluation rows as the data allows (at most 100): the
    # fixed default of 5 refuses small test data.
    options.setdefault("mia_evaluation_length", None)
    challenge = emulator.MIAChallenge(data, seed=seed, **options)
    return "supervised", challenge, emulator.supervised_challenge_app


@contextlib.contextmanager
def local_challenge_server(
    X: Any = None,
    y: Any = None,
    *,
    table: Any = None,
    dataset: Any = None,
    target: str | None = None,
    seed: int = 42,
    **options: Any,
) -> Iterator[LocalChallenge]:
    """Serve a recording local challenge for the block (what the fixtures use).

    See ``make_local_challenge`` for the parameters.
    """
    kind, challenge, app_of = _challenge_of(X, y, table, dataset, target, seed, options)
    local = LocalChallenge(kind=kind, challenge=challenge)
    # anomed_host="": scores go nowhere, whatever ANOMED_HOST says.
    app = app_of(challenge, anomed_host="")
    with serve_wsgi(local._recording(app)) as url:
        local.url = url
        yield local


@pytest.fixture
def make_local_challenge() -> Iterator[Callable[..., LocalChallenge]]:
    """A factory of local challenges, each served until the test ends.

    ``make_local_challenge(X=None, y=None, *, table=None, dataset=None,
    target=None, seed=42, **options) -> LocalChallenge``

    - ``X``, ``y``: arrays served by a supervised challenge (split into
      training, tuning and validation as the platform splits them).
      Floating-point ``y`` makes it a regression scored by MSE and MAE;
      other targets a classification scored by accuracy.
    - ``dataset``: instead of arrays, an embedded dataset's name (``"iris"``,
      ``"diabetes"``, ``"glucose"``, ...; see
      :data:`anomed_anonymizer.emulator.EMBEDDED_DATASETS`), a file, or an
      :class:`anomed_anonymizer.emulator.Dataset`. Neither: Iris.
    - ``target``: the target column of a ``dataset`` file (``.csv``,
      ``.parquet``, ``.npz``).
    - ``table``: a pandas DataFrame (or ``"adult"``, a synthetic Adult-like
      table) makes it a tabular data-reconstruction challenge instead.
    - ``seed``: seeds the splits.
    - ``options``: passed on to
      :class:`~anomed_anonymizer.emulator.MIAChallenge` (e.g.
      ``evaluator=``, ``mia_evaluation_length=``, by default as many as
      the data allows, at most 100) or
      :class:`~anomed_anonymizer.emulator.ReconstructionChallenge` (e.g.
      ``sensitive=``).

    Examples
    --------
    ::

        def test_regression(make_local_challenge):
            X = np.random.default_rng(0).normal(size=(100, 3))
            challenge = make_local_challenge(X=X, y=X @ [1.0, 2.0, 3.0])
            ...  # CHALLENGE_HOST=challenge.host
    """
    with contextlib.ExitStack() as stack:

        def make(*args: Any, **kwargs: Any) -> LocalChallenge:
            return stack.enter_context(local_challenge_server(*args, **kwargs))

        yield make


@pytest.fixture
def local_challenge(make_local_challenge) -> LocalChallenge:
    """A supervised challenge serving Iris (seed 42), recording what it received.

    Examples
    --------
    ::

        def test_served_host(local_challenge, monkeypatch):
            monkeypatch.setenv("CHALLENGE_HOST", local_challenge.host)
            ...
            assert local_challenge.requests_to("/data/anonymizer/training")
    """
    return make_local_challenge()


# --- loading and calling the user's app ---------------------------------------


def load_app(
    spec: str = "app:application",
    *,
    directory: str | os.PathLike[str] = ".",
    env: Mapping[str, str] | None = None,
) -> Any:
    """Import a fresh copy of the user's app, with ``env`` set while it imports.

    Apps read ``CHALLENGE_HOST`` (and their model file) when they are
    imported; this sets those variables for the import only, and imports the
    module anew each call (a module imported before is dropped from
    ``sys.modules`` first), so each test gets an app bound to its challenge.

    Parameters
    ----------
    spec : str, optional
        ``MODULE:OBJECT``, by default ``"app:application"``.
    directory : path, optional
        Where the module lies, by default the working directory.
    env : Mapping[str, str] | None, optional
        Environment variables to set during the import (restored after).

    Returns
    -------
    object
        The object, e.g. the ``falcon.App``.

    Raises
    ------
    ValueError
        If ``spec`` is not ``MODULE:OBJECT``, or the module has no such object.
    """
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise ValueError(f"expected MODULE:OBJECT (e.g. app:application), got {spec!r}")
    saved = {name: os.environ.get(name) for name in env or {}}
    folder = str(Path(directory).resolve())
    sys.path.insert(0, folder)
    try:
        os.environ.update(env or {})
        for name in [m for m in sys.modules if m.split(".")[0] == module_name]:
            del sys.modules[name]
        value: Any = importlib.import_module(module_name)
    finally:
        sys.path.remove(folder)
        for name, old in saved.items():
            if old is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = old
    for part in attribute.split("."):
        if not hasattr(value, part):
            raise ValueError(f"module {module_name!r} has no attribute {attribute!r}")
        value = getattr(value, part)
    return value


class AnonymizerClient:
    """Call an anonymizer app's routes in process, checking each answer.

    Wraps :class:`falcon.testing.TestClient`. Each call that gets a status
    outside 2xx raises an ``AssertionError`` naming the request, the status
    and the server's JSON ``description`` (or the start of its body), so a
    failing test says what the server objected to.

    Parameters
    ----------
    app : falcon.App
        The app, e.g. ``supervised_learning_anonymizer_server_factory(...)``.
    headers : Mapping[str, str] | None, optional
        Headers sent with every request (e.g. an ``Authorization`` for a
        control token).

    Attributes
    ----------
    test_client : falcon.testing.TestClient
        For any other request (its answers are not checked).

    Examples
    --------
    ::

        def test_fit_evaluate_predict(local_challenge, tmp_path):
            client = AnonymizerClient(make_app(local_challenge.url, tmp_path))
            client.fit()
            assert 0 <= client.evaluate("tuning")["evaluation"]["accuracy"] <= 1
            prediction = client.predict(local_challenge.training[0][:5])
            assert prediction.shape == (5,)
    """

    def __init__(self, app: falcon.App, headers: Mapping[str, str] | None = None):
        import falcon.testing

        self.test_client = falcon.testing.TestClient(app, headers=dict(headers or {}))

    def request(self, method: str, path: str, **kwargs: Any) -> falcon.testing.Result:
        """Send a request and return its answer, raising ``AssertionError``
        unless it is 2xx (keywords as ``TestClient.simulate_request``)."""
        result = self.test_client.simulate_request(method, path, **kwargs)
        if not 200 <= result.status_code < 300:
            raise AssertionError(
                f"{method} {path} answered {result.status}: {_description(result)}"
            )
        return result

    def fit(self, *, refit: bool | None = None) -> dict[str, Any]:
        """``POST /fit``; the JSON answer (``refit`` sets ``?refit=``)."""
        params = {} if refit is None else {"refit": str(refit).lower()}
        return self.request("POST", "/fit", params=params).json

    def evaluate(self, split: str | None = "tuning") -> dict[str, Any]:
        """``POST /evaluate?data_split=split`` (``split=None`` for a tabular
        app, which takes none); the JSON answer, with the challenge's score
        under ``"evaluation"``."""
        params = {} if split is None else {"data_split": split}
        return self.request("POST", "/evaluate", params=params).json

    def predict(self, X: Any, batch_size: int | None = None) -> np.ndarray:
        """``POST /predict`` with ``X`` as ``.npz``; the decoded prediction."""
        import numpy as np

        from .wire import decode_named_arrays, encode_named_arrays

        params = {} if batch_size is None else {"batch_size": str(batch_size)}
        result = self.request(
            "POST",
            "/predict",
            params=params,
            body=encode_named_arrays({"X": np.asarray(X)}),
            headers={"Content-Type": "application/octet-stream"},
        )
        return decode_named_arrays(result.content, required=["prediction"])[
            "prediction"
        ]

    def privacy(self) -> dict[str, Any]:
        """``GET /privacy``: the privacy guarantee the app reports."""
        return self.request("GET", "/privacy").json

    def anon_data(self) -> pd.DataFrame:
        """``GET /anon_data`` of a tabular app: the release, decoded."""
        import pandas as pd

        return pd.read_parquet(io.BytesIO(self.request("GET", "/anon_data").content))

    def anon_data_scheme(self) -> str:
        """``GET /anon_data_scheme`` of a tabular app: the release's scheme."""
        return self.request("GET", "/anon_data_scheme").json["scheme"]


def _description(result: falcon.testing.Result) -> str:
    try:
        body = result.json
    except ValueError:
        body = None
    if isinstance(body, dict) and body.get("description"):
        title = body.get("title")
        return f"{title}: {body['description']}" if title else str(body["description"])
    return result.text[:2000] or "(no body)"
