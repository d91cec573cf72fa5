"""Server addresses as users type them: ``HOST:PORT`` or a URL, one parser for
every command line option that names a server."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit

import click

__all__ = ["ADDRESS", "Address", "AddressType", "parse_address"]


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


def parse_address(value: str) -> Address:
    """Parse ``HOST:PORT`` or an ``http(s)://`` URL.

    Parameters
    ----------
    value : str
        E.g. ``127.0.0.1:8001``, ``localhost:8001``, ``[::1]:8001``,
        ``http://challenge:8000/`` or ``https://example.org/challenge``.

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
    """
    text = value.strip()
    expected = (
        f"expected HOST:PORT (e.g. 127.0.0.1:8001) or a URL (e.g. "
        f"http://127.0.0.1:8001), got {value!r}"
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
    if not has_scheme and port is None:
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


class AddressType(click.ParamType):
    """A click option type: ``HOST:PORT`` or a URL, converted to an
    :class:`Address` (a usage error, exit code 2, otherwise)."""

    name = "address"

    def convert(self, value, param, ctx) -> Address:
        if isinstance(value, Address):
            return value
        try:
            return parse_address(value)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


#: The one instance the options use.
ADDRESS = AddressType()
