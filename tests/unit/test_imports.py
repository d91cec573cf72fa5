"""What importing the package costs a user who only serves a model."""

from __future__ import annotations

import subprocess
import sys

import pytest

HEAVY = ("sklearn", "scipy", "diffprivlib", "art", "keras", "torch", "snsynth")


def loaded_after(statement: str) -> list[str]:
    """Top-level modules among HEAVY that ``statement`` loads, in a fresh
    interpreter (this one has imported everything already)."""
    code = (
        f"import sys\n{statement}\n"
        "top = {name.split('.')[0] for name in sys.modules}\n"
        f"print(' '.join(sorted(top & {set(HEAVY)!r})))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    return result.stdout.split()


@pytest.mark.parametrize(
    "statement",
    [
        "import anomed_anonymizer",
        "import anomed_anonymizer.server",
        "import anomed_anonymizer.wire",
        "import anomed_anonymizer.cli.main",
    ],
)
def test_serving_imports_neither_scikit_learn_nor_scipy(statement):
    assert loaded_after(statement) == []
