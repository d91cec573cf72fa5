"""The small vocabulary of failures every part of the package speaks.

Each class names what went wrong from the caller's point of view, not where:
a store that is not written yet and an attack that is not fitted yet are both
:class:`NotReadyError`. The web layer maps each class to one HTTP status in one
place (:mod:`anomed_anonymizer.web.errors`), so the same failure gets the same
status in every server:

=============================  ======  ====================================
class                          status  meaning
=============================  ======  ====================================
:class:`InvalidInputError`          400     the client's request is unusable
:class:`TooLargeError`              413     ... because it is too large
:class:`NotReadyError`              503     nothing fitted (or released) yet
:class:`BusyError`                  503     another request holds the writer
:class:`UpstreamError`         502     a peer answered unusably, or sent
                                       data our model rejects
:class:`UpstreamUnavailableError`   503     a peer could not be reached in time
:class:`InvalidOutputError`         500     our model produced what cannot be
                                       served
=============================  ======  ====================================

This module imports nothing: every layer may raise these.
"""

from __future__ import annotations

__all__ = [
    "AnomedError",
    "BusyError",
    "InvalidInputError",
    "InvalidOutputError",
    "NotReadyError",
    "TooLargeError",
    "UpstreamError",
    "UpstreamUnavailableError",
]


class AnomedError(Exception):
    """Base of the vocabulary.

    Parameters
    ----------
    *args : object
        The message (what failed and what to do about it) and any details.
    title : str | None, optional
        A short title for the JSON error body; by default the class's.
    """

    title = "Error"

    def __init__(self, *args: object, title: str | None = None) -> None:
        super().__init__(*args)
        if title is not None:
            self.title = title


class InvalidInputError(AnomedError, ValueError):
    """The client's input cannot be used (HTTP 400)."""

    title = "Invalid input"


class TooLargeError(InvalidInputError):
    """The client's input exceeds a size limit (HTTP 413)."""

    title = "Too large"


class NotReadyError(AnomedError, RuntimeError):
    """Nothing has been fitted or released yet (HTTP 503)."""

    title = "Not ready"


class BusyError(AnomedError, RuntimeError):
    """Another request, in any worker process, holds the single writer
    (HTTP 503 with ``Retry-After``)."""

    title = "BusyError"


class UpstreamError(AnomedError):
    """A peer (the challenge, or an anonymizer under attack) answered, but not
    usably: an unexpected status, a payload off the protocol, or data that the
    model rejects (HTTP 502)."""

    title = "Bad upstream answer"


class UpstreamUnavailableError(UpstreamError):
    """A peer could not be reached, or did not answer in time (HTTP 503)."""

    title = "Upstream unavailable"


class InvalidOutputError(AnomedError, RuntimeError):
    """The user's model or anonymizer returned something that cannot be
    served (HTTP 500 naming what is wrong)."""

    title = "Invalid output"
