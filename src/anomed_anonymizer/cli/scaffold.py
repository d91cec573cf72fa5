"""``anomed-anonymizer init``: a submission skeleton that runs as it is."""

from __future__ import annotations

import string
from importlib import metadata, resources
from pathlib import Path

__all__ = ["TEMPLATES", "scaffold"]

TEMPLATES = ("supervised", "tabular", "torch")

# What a submission's image needs, pinned to the versions installed here (the
# ones the smoke test ran with).
_PINNED = {
    "supervised": [
        "anomed-anonymizer",
        "numpy",
        "scikit-learn",
        "diffprivlib",
        "falcon",
        "gunicorn",
        "requests",
    ],
    # torch's pin keeps its local label (e.g. "+cpu"): the build tested here.
    "torch": [
        "anomed-anonymizer",
        "numpy",
        "torch",
        "opacus",
        "falcon",
        "gunicorn",
        "requests",
    ],
    "tabular": [
        "anomed-anonymizer",
        "numpy",
        "pandas",
        "pyarrow",
        "falcon",
        "gunicorn",
    ],
}


def _requirements(template: str) -> str:
    lines = [
        "# Pinned to the versions this submission was tested with.",
        "# If your package index lacks anomed-anonymizer at this version, put its",
        "# wheel into wheels/:",
        "#   pip wheel --no-deps -w wheels <anomed-anonymizer source>",
    ]
    for name in _PINNED[template]:
        try:
            lines.append(f"{name}=={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            lines.append(name)
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
        The files written.

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
    values = {"name": directory.resolve().name}
    written = []
    for entry in sorted(source.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".tmpl"):
            continue
        target = directory / entry.name.removesuffix(".tmpl")
        target.write_text(string.Template(entry.read_text()).safe_substitute(values))
        written.append(target)
    requirements = directory / "requirements.txt"
    requirements.write_text(_requirements(template))
    written.append(requirements)
    (directory / "wheels").mkdir(exist_ok=True)
    return sorted(written)
