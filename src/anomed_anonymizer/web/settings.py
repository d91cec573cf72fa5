"""One frozen settings object for a server: its limits, control token, refit
policy and challenge timeouts.

The factories take it as ``settings=`` (keyword-only); without one they use
:func:`current_settings`: what the process was configured with
(:func:`use_settings`, which ``anomed-anonymizer serve`` calls with its flags
before it loads the app, so every worker inherits it), else
:meth:`ServerSettings.from_env`. Nothing writes the environment to reach a
worker.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = [
    "CONTROL_TOKEN_ENV",
    "DEBUG_ENV",
    "DEBUG_WARNING",
    "DEFAULT_MAX_REQUEST_BYTES",
    "REFIT_ENV",
    "ServerSettings",
    "current_settings",
    "use_settings",
]

#: Largest request body, and largest decompressed payload, by default.
DEFAULT_MAX_REQUEST_BYTES = 256 * 1024 * 1024
#: Challenge answers may be larger than requests (a training split): at least this.
_MIN_RESPONSE_BYTES = 1 << 30

CONTROL_TOKEN_ENV = "ANOMED_CONTROL_TOKEN"
"""Environment variable of the shared secret that ``/fit`` and ``/evaluate``
then need as ``Authorization: Bearer <token>``."""

REFIT_ENV = "ANOMED_REFIT"
"""``allow`` (the default: every ``POST /fit`` fits again, as upstream) or
``refuse``: once a model is fitted (or a release published), ``POST /fit``
answers 409 unless it asks with ``?refit=true``. Each refit of a DP model on
the same data spends its privacy budget again."""

DEBUG_ENV = "ANOMED_DEBUG"
"""``1`` (or ``true``/``yes``/``on``): debug mode, for local work only: error
answers add the exception (type and message) and the failing URL."""

DEBUG_WARNING = (
    "debug mode: error answers include exception messages and URLs; "
    "never use it on the platform"
)
"""What is logged (WARNING) when a server starts in debug mode."""

_TRUE = ("1", "true", "yes", "on")


@dataclass(frozen=True)
class ServerSettings:
    """How a server built by a factory behaves.

    Parameters
    ----------
    max_request_bytes : int
        Largest ``/predict`` body and decompressed payload (413 above).
    max_response_bytes : int | None
        Largest challenge answer; ``None`` takes ``max_request_bytes``, and at
        least 1 GiB (a training split is larger than a request).
    control_token : str | None
        The secret ``/fit`` and ``/evaluate`` need (``Authorization: Bearer``);
        ``None`` or empty: open, as upstream. Left out of ``repr``.
    refuse_refits : bool
        Answer 409 to ``POST /fit`` without ``?refit=true`` once fitted.
    download_timeout, upload_timeout : float
        Seconds to wait for the challenge.
    debug : bool
        Error answers add ``"exception"`` (type and message) and ``"url"``
        (the peer URL that failed): for local work, never on the platform.

    Raises
    ------
    ValueError
        If a limit or timeout is not positive.

    Examples
    --------
    >>> ServerSettings(control_token="secret")
    ServerSettings(max_request_bytes=268435456, max_response_bytes=None, \
refuse_refits=False, download_timeout=10.0, upload_timeout=10.0, debug=False)
    >>> ServerSettings(max_request_bytes=2 << 30).response_limit
    2147483648
    """

    max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES
    max_response_bytes: int | None = None
    control_token: str | None = dataclasses.field(default=None, repr=False)
    refuse_refits: bool = False
    download_timeout: float = 10.0
    upload_timeout: float = 10.0
    debug: bool = False

    def __post_init__(self) -> None:
        for name in ("max_request_bytes", "download_timeout", "upload_timeout"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")
        if self.max_response_bytes is not None and self.max_response_bytes < 1:
            raise ValueError(
                f"max_response_bytes must be positive, got {self.max_response_bytes}"
            )

    @property
    def response_limit(self) -> int:
        """The largest challenge answer accepted."""
        if self.max_response_bytes is not None:
            return self.max_response_bytes
        return max(self.max_request_bytes, _MIN_RESPONSE_BYTES)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ServerSettings:
        """The settings the environment gives: :data:`CONTROL_TOKEN_ENV`,
        :data:`REFIT_ENV` and :data:`DEBUG_ENV`; the rest default.

        Raises
        ------
        ValueError
            If :data:`REFIT_ENV` is set to anything but ``allow`` or ``refuse``.
        """
        environ = os.environ if environ is None else environ
        refits = environ.get(REFIT_ENV, "").strip().lower() or "allow"
        if refits not in ("allow", "refuse"):
            raise ValueError(f"{REFIT_ENV} must be 'allow' or 'refuse', got {refits!r}")
        return cls(
            control_token=environ.get(CONTROL_TOKEN_ENV) or None,
            refuse_refits=refits == "refuse",
            debug=environ.get(DEBUG_ENV, "").strip().lower() in _TRUE,
        )

    def replace(self, **changes: object) -> ServerSettings:
        """A copy with ``changes``; those that are ``None`` are left out (a
        factory's arguments that were not given)."""
        given = {name: value for name, value in changes.items() if value is not None}
        return dataclasses.replace(self, **given) if given else self


_configured: ServerSettings | None = None


def use_settings(settings: ServerSettings | None) -> None:
    """Make ``settings`` what factories without ``settings=`` use in this
    process (and in processes forked from it); ``None`` goes back to the
    environment."""
    global _configured
    _configured = settings


def current_settings() -> ServerSettings:
    """What :func:`use_settings` set, else :meth:`ServerSettings.from_env`."""
    return _configured if _configured is not None else ServerSettings.from_env()
