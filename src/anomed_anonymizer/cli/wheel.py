"""This package as a wheel, rebuilt from what is installed.

``init`` puts it into a submission's ``wheels/`` folder: the package is not on
any index (PyPI's ``anomed-anonymizer`` is the upstream 0.0.x), so a
submission's ``pip install -r requirements.txt`` and its Docker build need the
file itself. It is rebuilt from the imported package's files and the installed
distribution's metadata, so it works the same for a normal install and for an
editable one (a source checkout), needs no network and no build tools.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import zipfile
from importlib import metadata
from pathlib import Path

__all__ = ["DISTRIBUTION", "build_wheel", "wheel_name"]

#: The distribution this module rebuilds.
DISTRIBUTION = "anomed-anonymizer"
_PACKAGE = "anomed_anonymizer"
_SKIPPED_DIRECTORIES = {"__pycache__"}
_SKIPPED_SUFFIXES = {".pyc", ".pyo"}


def wheel_name(version: str | None = None) -> str:
    """The wheel's file name, e.g. ``anomed_anonymizer-0.1.0-py3-none-any.whl``."""
    version = version or metadata.version(DISTRIBUTION)
    return f"{_PACKAGE}-{version}-py3-none-any.whl"


def _record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
    return f"sha256={digest.decode()}"


def build_wheel(directory: str | Path) -> Path:
    """Write this package's wheel into ``directory``.

    Parameters
    ----------
    directory : str | pathlib.Path
        Created if missing.

    Returns
    -------
    pathlib.Path
        The wheel.

    Raises
    ------
    RuntimeError
        If the package's distribution metadata is not installed (the package
        was put on ``sys.path`` by hand).
    """
    import anomed_anonymizer

    try:
        distribution = metadata.distribution(DISTRIBUTION)
    except metadata.PackageNotFoundError as exc:
        raise RuntimeError(
            f"{DISTRIBUTION} is importable but not installed, so its metadata is "
            "missing; install it (pip install .) and run init again"
        ) from exc
    version = distribution.version
    package_dir = Path(anomed_anonymizer.__file__).resolve().parent
    members: list[tuple[str, bytes]] = []
    for path in sorted(package_dir.rglob("*")):
        relative = path.relative_to(package_dir)
        if (
            not path.is_file()
            or _SKIPPED_DIRECTORIES.intersection(relative.parts)
            or path.suffix in _SKIPPED_SUFFIXES
        ):
            continue
        members.append((f"{_PACKAGE}/{relative.as_posix()}", path.read_bytes()))
    dist_info = f"{_PACKAGE}-{version}.dist-info"
    # An egg-info (a setuptools build in a checkout) names the file PKG-INFO.
    meta = distribution.read_text("METADATA") or distribution.read_text("PKG-INFO")
    if meta is None:
        raise RuntimeError(f"the installed {DISTRIBUTION} has no METADATA file")
    members.append((f"{dist_info}/METADATA", meta.encode()))
    entry_points = distribution.read_text("entry_points.txt")
    if entry_points:
        members.append((f"{dist_info}/entry_points.txt", entry_points.encode()))
    members.append(
        (
            f"{dist_info}/WHEEL",
            b"Wheel-Version: 1.0\nGenerator: anomed-anonymizer init\n"
            b"Root-Is-Purelib: true\nTag: py3-none-any\n",
        )
    )
    members.append((f"{dist_info}/top_level.txt", f"{_PACKAGE}\n".encode()))
    record = io.StringIO()
    writer = csv.writer(record, lineterminator="\n")
    for name, data in members:
        writer.writerow([name, _record_hash(data), len(data)])
    writer.writerow([f"{dist_info}/RECORD", "", ""])
    members.append((f"{dist_info}/RECORD", record.getvalue().encode()))

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / wheel_name(version)
    partial = target.with_suffix(".partial")
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members:
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    partial.replace(target)
    return target
