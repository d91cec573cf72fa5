"""Warnings, at construction, about challenge URLs that cannot be right: a
host of ``None`` (an unset ``CHALLENGE_HOST`` formatted into the URL), a
scheme given twice (``CHALLENGE_HOST=http://host``), or the validation (or
tuning) split served by the training route."""

from __future__ import annotations

import logging
import re
import urllib.parse
import warnings
from collections.abc import Mapping

__all__ = ["SuspiciousURLWarning", "suspicious_urls", "warn_about_urls"]

_logger = logging.getLogger(__name__)

_SCHEME_TWICE = re.compile(r"^[a-z][a-z0-9+.-]*://[a-z][a-z0-9+.-]*:/", re.I)
_SAME_AS_TRAINING = ("tuning_data_url", "validation_data_url")


class SuspiciousURLWarning(UserWarning):
    """A factory's URL that looks like a configuration mistake."""


def suspicious_urls(urls: Mapping[str, str]) -> list[str]:
    """What looks wrong in a factory's ``urls`` (argument name -> URL).

    Examples
    --------
    >>> suspicious_urls({"training_data_url": "http://None/data"})[0][:40]
    "training_data_url is 'http://None/data':"
    """
    problems = []
    for role, url in urls.items():
        text = str(url)
        if _SCHEME_TWICE.match(text):
            problems.append(
                f"{role} is {text!r}: it names the scheme twice; set CHALLENGE_HOST "
                "to the host (and port) only, e.g. challenge:8000, not http://..."
            )
            continue
        host = urllib.parse.urlsplit(text).hostname
        if host is None or host.lower() in ("", "none", "null"):
            problems.append(
                f"{role} is {text!r}: it has no usable host (is CHALLENGE_HOST "
                "unset?); set CHALLENGE_HOST to the challenge's host, e.g. "
                "challenge:8000"
            )
    training = urls.get("training_data_url")
    for role in _SAME_AS_TRAINING:
        if training is not None and urls.get(role) == training:
            problems.append(
                f"{role} is the same URL as training_data_url ({training!r}): "
                f"it should be the challenge's {role.split('_')[0]} route"
            )
    return problems


def warn_about_urls(urls: Mapping[str, str]) -> None:
    """Warn (:class:`SuspiciousURLWarning`, and a log line) about each
    problem :func:`suspicious_urls` finds; the server is still built."""
    for problem in suspicious_urls(urls):
        _logger.warning("%s", problem)
        warnings.warn(problem, SuspiciousURLWarning, stacklevel=3)
