"""What a served anonymizer says about its own privacy: ``GET /privacy``.

A black-box audit (``audit --url``) cannot look inside the model, but the
anonymizer server tells its budget at ``/privacy`` (beside ``/predict``); the
report puts it next to the attacks and the utility, as the in-process audit
does with the budget the fitted model reports.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import requests

__all__ = ["ServedPrivacy", "privacy_url", "served_privacy"]

#: The most bytes read of the ``/privacy`` answer (a few hundred are usual).
_MAX_BYTES = 64 * 1024
_FIELDS = ("mechanism", "epsilon", "delta", "accountant", "details")


@dataclass(frozen=True)
class ServedPrivacy:
    """The answer of ``GET /privacy``.

    Parameters
    ----------
    url : str
        What was asked.
    budget : dict | None
        The JSON served (``{"mechanism", "epsilon", "delta", "accountant",
        "details"}``, every field ``None`` for a model without a DP
        guarantee); ``None`` where nothing usable was served.
    problem : str | None
        Why nothing usable was served (e.g. ``404 Not Found``), ``None`` if
        the budget was read.
    """

    url: str
    budget: dict[str, Any] | None
    problem: str | None = None

    @property
    def summary(self) -> str:
        """``ε = 1, δ = 1e-05 (served)``, ``no ε served`` or ``no /privacy
        served``, for the trade-off line.

        Examples
        --------
        >>> ServedPrivacy("u", None, "404 Not Found").summary
        'no /privacy served'
        >>> ServedPrivacy("u", dict.fromkeys(_FIELDS)).summary
        'no ε served'
        >>> ServedPrivacy("u", {"epsilon": 1.0, "delta": 1e-5}).summary
        'ε = 1, δ = 1e-05 (served)'
        """
        if self.budget is None:
            return "no /privacy served"
        epsilon = self.budget.get("epsilon")
        if epsilon is None:
            return "no ε served"
        delta = self.budget.get("delta")
        delta_text = "" if delta is None else f", δ = {delta:.3g}"
        return f"ε = {epsilon:.3g}{delta_text} (served)"

    def line(self) -> str:
        """The report's bullet: the budget served, or why there is none."""
        if self.problem is not None:
            return (
                f"Privacy budget: none served (GET {self.url}: {self.problem}); "
                "the ε of this model is unknown."
            )
        assert self.budget is not None
        if self.budget.get("epsilon") is None:
            return (
                f"Privacy budget: none served (GET {self.url} answers every field "
                "null: the model claims no differential-privacy guarantee)."
            )
        mechanism = self.budget.get("mechanism") or "unnamed mechanism"
        accountant = self.budget.get("accountant") or "no accountant named"
        delta = self.budget.get("delta")
        delta_text = "" if delta is None else f", δ = {delta:.3g}"
        return (
            f"Privacy budget served (GET {self.url}): ε = "
            f"{self.budget['epsilon']:.3g}{delta_text} ({mechanism}, {accountant})."
        )


def privacy_url(predict_url: str) -> str:
    """The ``/privacy`` route beside a served ``/predict``.

    Examples
    --------
    >>> privacy_url("http://127.0.0.1:8000/predict")
    'http://127.0.0.1:8000/privacy'
    >>> privacy_url("http://host/anon/predict/")
    'http://host/anon/privacy'
    >>> privacy_url("http://host:80")
    'http://host:80/privacy'
    """
    base = predict_url.rstrip("/")
    if base.endswith("/predict"):
        base = base[: -len("/predict")]
    return f"{base}/privacy"


def served_privacy(predict_url: str, timeout: float = 30.0) -> ServedPrivacy:
    """Ask the server of ``predict_url`` for its budget (``GET /privacy``).

    Never raises for what the server does: a refused connection, a 404 (an
    anonymizer that does not serve the route), a body that is not the
    budget's JSON all come back as :attr:`ServedPrivacy.problem`.

    Parameters
    ----------
    predict_url : str
        The ``/predict`` under audit.
    timeout : float, optional
        Seconds to wait for the answer.

    Returns
    -------
    ServedPrivacy
    """
    url = privacy_url(predict_url)
    try:
        with requests.get(url, timeout=timeout, stream=True) as response:
            body = response.raw.read(_MAX_BYTES + 1, decode_content=True)
            status = f"{response.status_code} {response.reason}".strip()
            ok = response.ok
    except requests.RequestException as exc:
        return ServedPrivacy(url, None, f"no answer ({type(exc).__name__})")
    if not ok:
        return ServedPrivacy(url, None, status)
    if len(body) > _MAX_BYTES:
        return ServedPrivacy(url, None, f"an answer over {_MAX_BYTES} bytes")
    try:
        budget = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return ServedPrivacy(url, None, "an answer that is not JSON")
    if not isinstance(budget, dict) or not set(_FIELDS) <= budget.keys():
        return ServedPrivacy(
            url, None, f"JSON without the budget's fields {', '.join(_FIELDS)}"
        )
    for name in ("epsilon", "delta"):
        value = budget[name]
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, (int, float))
        ):
            return ServedPrivacy(url, None, f"a {name} that is not a number")
    return ServedPrivacy(url, budget)
