"""Server addresses as users and the platform write them: ``HOST:PORT``, a
URL, or (as the AnoMed platform passes ``CHALLENGE_HOST``, ``ATTACK_TARGET_HOST``
and ``ANOMED_HOST``) a bare host name that means port 80. One parser for every
command line option and environment variable that names a server."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

__all__ = ["Address", "parse_address", "peer_url"]


@dataclass(frozen=True)
class Address:
    """A server's address.

    Attributes
    ----------
    scheme : str
        ``http`` or ``https``.
    host : str
        Name or IP address (IPv6 without brackets).
    port : int | None
        ``None`` when a URL left it to the scheme's default.
    path : str
        A path prefix without trailing slash (``""`` for none).
    """

    scheme: str
    host: str
    port: int | None
    path: str = ""

    @property
    def netloc(self) -> str:
        """``HOST:PORT`` (``[v6]:PORT``), as ``CHALLENGE_HOST`` takes it."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port is None else f"{host}:{self.port}"

    @property
    def url(self) -> str:
        """The base URL without trailing slash, e.g. ``http://127.0.0.1:8001``."""
        return f"{self.scheme}://{self.netloc}{self.path}"

    def __str__(self) -> str:
        return self.url


def parse_address(value: str, *, require_port: bool = True) -> Address:
    """Parse ``HOST:PORT`` or an ``http(s)://`` URL (or a bare ``HOST``).

    Parameters
    ----------
    value : str
        E.g. ``127.0.0.1:8001``, ``localhost:8001``, ``[::1]:8001``,
        ``http://challenge:8000/`` or ``https://example.org/challenge``.
    require_port : bool, optional
        Refuse a bare host (``challenge``), as the command line options do (a
        forgotten port is the likelier meaning there). ``False``: a bare host
        means ``http://HOST`` (port 80), as the platform's ``CHALLENGE_HOST``
        does.

    Returns
    -------
    Address
        ``HOST:PORT`` means ``http://HOST:PORT``.

    Raises
    ------
    ValueError
        If ``value`` is neither, saying what is expected.

    Examples
    --------
    >>> parse_address("127.0.0.1:8001").url
    'http://127.0.0.1:8001'
    >>> parse_address("http://localhost:8001/").netloc
    'localhost:8001'
    >>> parse_address("example-challenge", require_port=False).url
    'http://example-challenge'
    """
    text = value.strip()
    expected = (
        f"expected {'' if require_port else 'HOST (port 80), '}HOST:PORT (e.g. "
        f"127.0.0.1:8001) or a URL (e.g. http://127.0.0.1:8001), got {value!r}"
    )
    has_scheme = "://" in text
    try:
        parts = urlsplit(text if has_scheme else f"http://{text}")
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"{expected}: {exc}") from None
    if parts.scheme not in ("http", "https"):
        raise ValueError(f"{expected}: only http and https are served")
    if not parts.hostname:
        raise ValueError(f"{expected}: no host")
    if not has_scheme and port is None and require_port:
        raise ValueError(f"{expected}: no port")
    if not has_scheme and (parts.path or parts.query or parts.fragment):
        raise ValueError(f"{expected}: write a URL to give a path")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise ValueError(f"{expected}: no query, fragment or credentials")
    host = parts.hostname
    if ":" in host:
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise ValueError(f"{expected}: {host!r} is no IPv6 address") from None
    return Address(parts.scheme, host, port, parts.path.rstrip("/"))


def peer_url(variable: str, environ: Mapping[str, str] | None = None) -> str:
    """The base URL of the peer that the environment variable ``variable`` names.

    The platform passes a host name without a port (``CHALLENGE_HOST=
    example-challenge``: its containers listen on port 80); locally, give
    ``HOST:PORT`` (``CHALLENGE_HOST=localhost:8001``) or a URL.

    Parameters
    ----------
    variable : str
        E.g. ``"CHALLENGE_HOST"``, ``"ATTACK_TARGET_HOST"`` or ``"ANOMED_HOST"``.
    environ : Mapping[str, str] | None, optional
        Where to look it up; ``os.environ`` by default.

    Returns
    -------
    str
        ``http://HOST[:PORT][/PATH]``, without trailing slash: append the
        route, e.g. ``f"{peer_url('CHALLENGE_HOST')}/data/anonymizer/training"``.

    Raises
    ------
    RuntimeError
        If ``variable`` is unset or empty.
    ValueError
        If its value is no host, ``HOST:PORT`` or URL; the message names the
        variable and what is expected.

    Examples
    --------
    >>> peer_url("CHALLENGE_HOST", {"CHALLENGE_HOST": "example-challenge"})
    'http://example-challenge'
    >>> peer_url("CHALLENGE_HOST", {"CHALLENGE_HOST": "localhost:8001"})
    'http://localhost:8001'
    """
    value = (os.environ if environ is None else environ).get(variable, "").strip()
    if not value:
        raise RuntimeError(
            f"{variable} is not set: set it to the peer's host (the platform's "
            f"form, port 80: {variable}=example-challenge), its HOST:PORT (e.g. "
            f"{variable}=localhost:8001) or its URL (docker run -e {variable}=...)"
        )
    try:
        return parse_address(value, require_port=False).url
    except ValueError as exc:
        raise ValueError(f"{variable}: {exc}") from None
