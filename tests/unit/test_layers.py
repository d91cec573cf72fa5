"""What importing the package costs, and the old import paths.

That every import points down the layers the README draws is an
import-linter contract (``[tool.importlinter]`` in pyproject.toml;
``make lint`` runs ``lint-imports``)."""

from __future__ import annotations

import subprocess
import sys


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
