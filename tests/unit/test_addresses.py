"""One parser for every option that names a server: HOST:PORT or a URL."""

from __future__ import annotations

import pytest

from anomed_anonymizer.cli.addresses import parse_address


@pytest.mark.parametrize(
    ("text", "url", "netloc"),
    [
        ("127.0.0.1:8001", "http://127.0.0.1:8001", "127.0.0.1:8001"),
        ("localhost:8001", "http://localhost:8001", "localhost:8001"),
        ("[::1]:8001", "http://[::1]:8001", "[::1]:8001"),
        ("http://127.0.0.1:8001", "http://127.0.0.1:8001", "127.0.0.1:8001"),
        ("http://challenge:8000/", "http://challenge:8000", "challenge:8000"),
        ("https://example.org/ch/", "https://example.org/ch", "example.org"),
        (" 10.0.0.5:80 ", "http://10.0.0.5:80", "10.0.0.5:80"),
    ],
)
def test_host_port_and_urls_give_the_same_address(text, url, netloc):
    address = parse_address(text)
    assert address.url == url
    assert address.netloc == netloc


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("challenge", "no port"),
        ("ftp://host:21", "only http and https"),
        ("http://:8000", "no host"),
        ("host:port", "Port could not be cast"),
        ("host:99999", "out of range"),
        ("host:80/path", "write a URL"),
        ("http://host:80/?x=1", "no query"),
        ("http://user:pw@host:80", "credentials"),
    ],
)
def test_what_is_neither_says_what_is_expected(text, reason):
    with pytest.raises(ValueError, match="expected HOST:PORT") as caught:
        parse_address(text)
    assert reason in str(caught.value)
