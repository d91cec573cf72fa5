"""The one form every message uses to tell a user to install an extra.

PyPI's ``anomed-anonymizer`` is upstream's 0.0.x, which this package replaces:
a bare ``pip install 'anomed-anonymizer[audit]'`` could fetch it. The hint pins
this package's own version, so pip keeps the installed wheel and adds only the
extra's dependencies (where it is not installed, pip fails rather than fetch
upstream's). ``make user-path`` resolves the hint in an environment that has
the wheel (tests/user_path/walk.py).
"""

from __future__ import annotations

from importlib import metadata

__all__ = ["install_hint", "wheel_install_line"]


def _version() -> str:
    try:
        return metadata.version("anomed-anonymizer")
    except metadata.PackageNotFoundError:  # a bare checkout on sys.path
        return "0+unknown"


def install_hint(extras: str) -> str:
    """The command that adds ``extras`` to this package's installation.

    Parameters
    ----------
    extras : str
        One extra or several, comma-separated (``"synth,audit-table"``).

    Returns
    -------
    str
        ``pip install "anomed-anonymizer[EXTRAS]==VERSION"``, the installed
        version pinned.

    Examples
    --------
    >>> install_hint("audit").startswith('pip install "anomed-anonymizer[audit]==')
    True
    """
    return f'pip install "anomed-anonymizer[{extras}]=={_version()}"'


def wheel_install_line(extras: str = "") -> str:
    """README's line that installs the built wheel into a fresh environment.

    Parameters
    ----------
    extras : str
        Comma-separated extras, or ``""`` for the core.

    Returns
    -------
    str
        ``pip install "dist/anomed_anonymizer-VERSION-py3-none-any.whl[EXTRAS]"``
        (the wheel ``python -m pip wheel --no-deps --wheel-dir dist .`` builds).

    Examples
    --------
    >>> wheel_install_line("torch").endswith('-py3-none-any.whl[torch]"')
    True
    """
    suffix = f"[{extras}]" if extras else ""
    return f'pip install "dist/anomed_anonymizer-{_version()}-py3-none-any.whl{suffix}"'
