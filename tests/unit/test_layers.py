"""The package's layers, as the README draws them: every import points down."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import anomed_anonymizer

PACKAGE = Path(anomed_anonymizer.__file__).parent

LAYERS = {
    "errors": 0,
    "_moved": 0,
    "files": 1,
    "wire": 1,
    "models": 2,
    "store": 2,
    "web": 2,
    "tabular": 3,
    "emulator": 4,
    "audit": 4,
    "table_audit": 4,
    "server": 4,
    "runtime": 4,
    "examples": 5,
    "cli": 5,
    "__main__": 6,
}


def unit_of(parts: tuple[str, ...]) -> str:
    return parts[0].removesuffix(".py")


def imported_units(path: Path) -> set[str]:
    """The top-level units of the package that ``path`` imports."""
    module = path.relative_to(PACKAGE).with_suffix("").parts
    package = module[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package[: len(package) - (node.level - 1)]
            target = base + tuple(node.module.split(".") if node.module else ())
            if not target:  # from . import name (in the package's __init__)
                target = (node.names[0].name,)
            found.add(unit_of(target))
        elif isinstance(node, ast.ImportFrom | ast.Import):
            names = (
                [node.module]
                if isinstance(node, ast.ImportFrom)
                else [alias.name for alias in node.names]
            )
            for name in names:
                if name and name.startswith("anomed_anonymizer."):
                    found.add(name.split(".")[1])
    return found


def test_every_import_points_to_a_lower_layer():
    wrong = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE).parts
        if parts == ("__init__.py",):
            continue  # the public face re-exports from every layer
        unit = unit_of(parts)
        for target in imported_units(path) - {unit}:
            if LAYERS[target] >= LAYERS[unit]:
                wrong.append(f"{path.relative_to(PACKAGE)} imports {target}")
    assert wrong == []


def test_importing_the_package_loads_no_algorithms_emulator_or_cli():
    code = (
        "import sys, anomed_anonymizer; "
        "print(sorted(m for m in sys.modules if m.split('.')[:2] in ("
        "['anomed_anonymizer', 'tabular'], ['anomed_anonymizer', 'emulator'], "
        "['anomed_anonymizer', 'cli'], ['anomed_anonymizer', 'audit'])))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_an_old_import_path_still_works_and_says_where_the_name_went():
    import warnings

    import anomed_anonymizer.tabular as old_home
    from anomed_anonymizer._moved import REMOVAL_VERSION
    from anomed_anonymizer.emulator.adult import adult_like

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert old_home.adult_like is adult_like
    (warning,) = caught
    assert warning.category is FutureWarning
    assert "anomed_anonymizer.emulator.adult.adult_like" in str(warning.message)
    assert REMOVAL_VERSION in str(warning.message)
