"""Asking a served anonymizer's ``POST /predict``, in chunks of bounded size:
what the self-audit's attacks and the ``predict`` command share (nothing here
needs more than NumPy and requests)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from .http import PeerClient, PeerProtocolError

__all__ = ["REQUEST_BYTES", "predict_url", "remote_predict"]

#: Bytes of features per ``/predict`` request by default: bounded bodies, few
#: requests.
REQUEST_BYTES = 8 << 20


def predict_url(base_url: str) -> str:
    """``base_url`` with ``/predict`` appended, unless it already ends in it.

    Examples
    --------
    >>> predict_url("http://127.0.0.1:8000")
    'http://127.0.0.1:8000/predict'
    >>> predict_url("http://127.0.0.1:8000/predict/")
    'http://127.0.0.1:8000/predict'
    """
    url = base_url.rstrip("/")
    return url if url.endswith("/predict") else f"{url}/predict"


def remote_predict(
    url: str,
    X: np.ndarray,
    *,
    client: PeerClient | None = None,
    rows: int | None = None,
    params: Mapping[str, Any] | None = None,
) -> np.ndarray:
    """POST ``X`` to ``url`` (a ``/predict``) in chunks; their predictions,
    concatenated.

    Parameters
    ----------
    url : str
        ``http://HOST/predict`` of the served anonymizer.
    X : np.ndarray
        The features, one row per sample.
    client : PeerClient | None, optional
        The client to use; by default a new one with 60 s timeouts.
    rows : int | None, optional
        Rows per request; by default as many as fit in :data:`REQUEST_BYTES`.
    params : Mapping[str, Any] | None, optional
        Query parameters of every request (e.g. ``{"batch_size": 64}``).

    Returns
    -------
    np.ndarray
        One prediction per row of ``X``: shape ``(len(X),)`` or
        ``(len(X), ...)``, as the anonymizer answers.

    Raises
    ------
    PeerUnavailableError, PeerRejectedError
        If ``/predict`` is unreachable or answers with an error status.
    PeerProtocolError
        If an answer is no ``.npz`` with ``prediction``, or its rows do not
        match the request's (or the chunks' shapes differ).
    """
    client = client or PeerClient(download_timeout=60.0, upload_timeout=60.0)
    X = np.asarray(X)
    if rows is None:
        rows = max(1, REQUEST_BYTES // max(1, X[:1].nbytes))
    answers: list[np.ndarray] = []
    for start in range(0, len(X), rows):
        chunk = X[start : start + rows]
        answer = client.exchange_named_arrays(
            url, {"X": chunk}, required=("prediction",), params=params
        )
        prediction = np.asarray(answer["prediction"])
        if prediction.ndim == 0 or len(prediction) != len(chunk):
            raise PeerProtocolError(
                f"{url} answered {len(chunk)} rows with a prediction of shape "
                f"{prediction.shape}; expected one prediction per row",
                url,
            )
        if answers and prediction.shape[1:] != answers[0].shape[1:]:
            raise PeerProtocolError(
                f"{url} answered rows {start}.. with predictions of shape "
                f"{prediction.shape[1:]} each, the rows before with "
                f"{answers[0].shape[1:]}",
                url,
            )
        answers.append(prediction)
    return np.concatenate(answers) if answers else np.empty(0)
