"""Exceptions raised while encoding or decoding wire payloads."""

from __future__ import annotations

from ..errors import InvalidInputError, TooLargeError

__all__ = ["MissingArrayError", "PayloadError", "PayloadTooLargeError"]


class PayloadError(InvalidInputError):
    """A payload could not be decoded (empty, wrong format, corrupt, unsafe)."""

    title = "Bad payload"


class PayloadTooLargeError(PayloadError, TooLargeError):
    """A payload, or what it would inflate to, exceeds the configured limit.

    Parameters
    ----------
    message : str
        What was too large.
    size : int
        The offending (declared or actual) size in bytes.
    limit : int
        The limit in bytes.
    """

    title = "Payload too large"

    def __init__(self, message: str, size: int, limit: int) -> None:
        super().__init__(message)
        self.size = size
        self.limit = limit

    @classmethod
    def check_declared(cls, what: str, declared: int, limit: int | None) -> None:
        """Refuse ``what`` (e.g. "the .npz archive") if the size it declares
        once decompressed exceeds ``limit`` (``None``: no limit)."""
        if limit is not None and declared > limit:
            raise cls(
                f"{what} declares {declared} bytes once decompressed, more than "
                f"the limit of {limit} bytes",
                size=declared,
                limit=limit,
            )


class MissingArrayError(PayloadError):
    """A named-array payload lacks an array that the receiver needs."""
