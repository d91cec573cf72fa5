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


# -- the platform's form: a host without a port means port 80 ----------------


@pytest.mark.parametrize(
    ("value", "url"),
    [
        ("example-challenge", "http://example-challenge"),
        ("challenge:8000", "http://challenge:8000"),
        ("http://challenge/", "http://challenge"),
        ("https://example.org/ch", "https://example.org/ch"),
    ],
)
def test_peer_url_takes_hosts_without_a_port(value, url):
    from anomed_anonymizer import peer_url

    assert peer_url("CHALLENGE_HOST", {"CHALLENGE_HOST": value}) == url


def test_options_still_want_a_port():
    with pytest.raises(ValueError, match="no port"):
        parse_address("challenge")


@pytest.mark.parametrize(
    ("environ", "error", "fragment"),
    [
        ({}, RuntimeError, "CHALLENGE_HOST is not set"),
        ({"CHALLENGE_HOST": "  "}, RuntimeError, "CHALLENGE_HOST is not set"),
        ({"CHALLENGE_HOST": "ftp://x"}, ValueError, "CHALLENGE_HOST: expected"),
        ({"CHALLENGE_HOST": "http://x:port"}, ValueError, "CHALLENGE_HOST: expected"),
        ({"CHALLENGE_HOST": "x/data"}, ValueError, "write a URL to give a path"),
    ],
)
def test_peer_url_names_the_variable_it_cannot_use(environ, error, fragment):
    from anomed_anonymizer import peer_url

    with pytest.raises(error, match=fragment):
        peer_url("CHALLENGE_HOST", environ)


def test_an_unwritable_model_folder_fails_at_start_naming_the_uid(
    tmp_path, monkeypatch
):
    """The factory stops at once, not at the first /fit, when the volume is
    not writable (as root every folder is, so the access check is simulated)."""
    import os

    from anomed_anonymizer.files import ensure_writable_folder

    folder = tmp_path / "persistent_data"
    folder.mkdir()
    real_access = os.access
    monkeypatch.setattr(
        os,
        "access",
        lambda path, mode, **kw: (
            False if str(path) == str(folder) else real_access(path, mode, **kw)
        ),
    )
    with pytest.raises(PermissionError, match=rf"not writable by uid {os.geteuid()}"):
        ensure_writable_folder(folder / "model.pkl", "the model file")
    # A folder still to be created is judged by the nearest existing one.
    with pytest.raises(PermissionError, match="where it would be created"):
        ensure_writable_folder(folder / "new" / "model.pkl")
    ensure_writable_folder(tmp_path / "elsewhere" / "model.pkl")  # writable: fine
