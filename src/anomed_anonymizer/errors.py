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
:class:`ConflictError`              409     the request would replace what
                                       the operator chose to keep (a refit
                                       of a fitted model, when refused)
:class:`UpstreamError`         502     a peer answered unusably, or sent
                                       data our model rejects
:class:`UpstreamUnavailableError`   503     a peer could not be reached in time
:class:`InvalidOutputError`         500     our model produced what cannot be
                                       served
:class:`VerificationError`          500     what was saved does not read back;
                                       the previous version is kept
:class:`LockUnavailableError`       500     the writer's lock file cannot be
                                       created (not a writer at work)
=============================  ======  ====================================

What a client reads and what an operator reads differ: the message of an
error (``str(error)``) is for the log and may name URLs, file paths or a
peer's own error text; :attr:`AnomedError.public_message` is what the answer
says. Errors about the client's own input keep their message public, so that
it names what to fix; errors whose message holds the server's details set a
public message without them.

This module imports nothing: every layer may raise these.
"""

from __future__ import annotations

__all__ = [
    "AnomedError",
    "BusyError",
    "ConflictError",
    "InvalidInputError",
    "InvalidOutputError",
    "LockUnavailableError",
    "NotReadyError",
    "TooLargeError",
    "UpstreamError",
    "UpstreamUnavailableError",
    "VerificationError",
]


class AnomedError(Exception):
    """Base of the vocabulary.

    Parameters
    ----------
    *args : object
        The message (what failed and what to do about it) and any details.
    title : str | None, optional
        A short title for the JSON error body; by default the class's.
    public : str | None, optional
        What the client may read, when the message holds what only the
        operator should (URLs, paths, a peer's answer); by default the class's
        :attr:`public_message`.

    Attributes
    ----------
    public_message : str | None
        The client's description of the failure; ``None``: the message itself.
    """

    title = "Error"
    public_message: str | None = None

    def __init__(
        self, *args: object, title: str | None = None, public: str | None = None
    ) -> None:
        super().__init__(*args)
        if title is not None:
            self.title = title
        if public is not None:
            self.public_message = public

    def for_client(self) -> str:
        """What an answer may say about this failure (see :attr:`public_message`)."""
        return self.public_message if self.public_message is not None else str(self)


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


class ConflictError(AnomedError, RuntimeError):
    """The request would replace what the server was told to keep, such as
    a fitted model when refits are refused (HTTP 409)."""

    title = "Conflict"


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


class VerificationError(AnomedError, RuntimeError):
    """What was saved cannot be read back, so it did not replace the previous
    version (HTTP 500). The message names the file and the reader's error."""

    title = "Verification failed"
    public_message = (
        "what was saved cannot be read back, so the previous version is kept"
    )


class LockUnavailableError(AnomedError, OSError):
    """The writer's lock file cannot be created or opened (permissions, a
    missing or read-only directory): nobody holds it, and nobody can (HTTP 500,
    not a "busy" 503). The message names the file."""

    title = "Lock unavailable"
    public_message = (
        "the server cannot create its lock file (a permission or disk problem, "
        "not a fit in progress)"
    )
