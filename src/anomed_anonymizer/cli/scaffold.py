"""``anomed-anonymizer init``: a submission skeleton that runs as it is."""

from __future__ import annotations

import re
import string
from importlib import metadata, resources
from pathlib import Path

from .wheel import DISTRIBUTION, build_wheel

__all__ = ["TEMPLATES", "pinned_requirements", "scaffold"]

TEMPLATES = ("supervised", "tabular", "torch", "torch-regression")


def pinned_requirements(template: str) -> list[str]:
    """The pins this package ships for ``template`` (``name==version`` lines).

    They come with the package, not from the current environment: CI installs
    exactly these into a fresh environment and runs the scaffold's smoke test.
    """
    text = (
        resources.files(__package__) / "constraints" / f"{template}.txt"
    ).read_text()
    return [
        line.strip()
        for line in text.splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]


def _requirements(template: str, wheel: str) -> str:
    version = metadata.version(DISTRIBUTION)
    lines = [
        "# Install from this folder: pip install -r requirements.txt",
        f"# anomed-anonymizer {version} is not on PyPI (PyPI's package of that name",
        "# is the upstream 0.0.x): init put its wheel into wheels/. The other pins",
        f"# are the versions anomed-anonymizer {version} was tested with for this",
        "# template (its CI installs exactly these and runs test_smoke.py).",
        f"./wheels/{wheel}",
        *pinned_requirements(template),
    ]
    return "\n".join(lines) + "\n"


def scaffold(
    directory: Path, template: str = "supervised", force: bool = False
) -> list[Path]:
    """Write the ``template`` skeleton into ``directory``.

    Parameters
    ----------
    directory : pathlib.Path
        Created if missing.
    template : str
        One of :data:`TEMPLATES`.
    force : bool
        Allow a non-empty directory (existing files are overwritten).

    Returns
    -------
    list[pathlib.Path]
        The files written: ``app.py``, ``test_smoke.py``, ``README.md``,
        ``Dockerfile``, ``.dockerignore``, ``gunicorn.conf.py`` (for a plain
        ``gunicorn app:application``), ``requirements.txt`` (the pins
        this package ships, see :func:`pinned_requirements`) and this
        package's wheel in ``wheels/``, which ``requirements.txt`` names.

    Raises
    ------
    ValueError
        For an unknown template.
    FileExistsError
        If ``directory`` is not empty and ``force`` is false.
    """
    source = resources.files(__package__) / "templates" / template
    if template not in TEMPLATES or not source.is_dir():
        raise ValueError(
            f"unknown template {template!r}; choose one of {', '.join(TEMPLATES)}"
        )
    directory = Path(directory)
    if directory.exists() and any(directory.iterdir()) and not force:
        raise FileExistsError(
            f"{directory} is not empty; use --force to write into it anyway"
        )
    directory.mkdir(parents=True, exist_ok=True)
    wheels = directory / "wheels"
    for stale in wheels.glob(f"{DISTRIBUTION.replace('-', '_')}-*.whl"):
        stale.unlink()  # --force over an older scaffold: one version only
    wheel = build_wheel(wheels)
    values = {
        "name": directory.resolve().name,
        "image": _image_name(directory),
        "wheel": wheel.name,
    }
    written = []
    common = resources.files(__package__) / "templates" / "_common"
    entries = [*source.iterdir(), *common.iterdir()]
    for entry in sorted(entries, key=lambda e: e.name):
        if not entry.name.endswith(".tmpl"):
            continue
        name = entry.name.removesuffix(".tmpl")
        target = directory / (".dockerignore" if name == "dockerignore" else name)
        target.write_text(string.Template(entry.read_text()).safe_substitute(values))
        written.append(target)
    written.append(wheel)
    requirements = directory / "requirements.txt"
    requirements.write_text(_requirements(template, wheel.name))
    written.append(requirements)
    return sorted(written)


def _image_name(directory: Path) -> str:
    """The folder's name as an image and compose project name: lower case,
    ``[a-z0-9_.-]``, starting with a letter or digit (``My App`` ->
    ``my-app``)."""
    name = re.sub(r"[^a-z0-9_.-]+", "-", directory.resolve().name.lower())
    return name.strip("-._") or "anonymizer"
