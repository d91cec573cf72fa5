"""The documentation's code does not rot: every ```python block of README.md
and docs/*.md is run, compiled or fetched by a named test (tests/docs_blocks.py
says how a block is marked), and the API reference covers every public name.
"""

from __future__ import annotations

import ast
import os
import re
import string
import subprocess
import sys
from pathlib import Path

import pytest

from docs_blocks import REPO_ROOT, DocBlock, doc_block, doc_blocks

PYTHON_BLOCKS = doc_blocks("python")
RUN = [b for b in PYTHON_BLOCKS if b.marker in ("run", "run: slow")]
COMPILE = [b for b in PYTHON_BLOCKS if (b.marker or "").startswith("compile:")]
NAMED = [b for b in PYTHON_BLOCKS if b not in RUN and b not in COMPILE and b.marker]
SRC = REPO_ROOT / "src" / "anomed_anonymizer"

# What a block marked `run` finds in its folder: the features a user has.
FEATURES_CSV = "a,b,c,d\n5.1,3.5,1.4,0.2\n6.7,3.0,5.2,2.3\n"


def test_every_python_block_is_marked():
    unmarked = [b.where for b in PYTHON_BLOCKS if not b.marker]
    assert not unmarked, (
        "mark each ```python block <!-- run -->, <!-- compile: WHY --> or "
        f"<!-- NAME --> (tests/docs_blocks.py): {unmarked}"
    )


def test_markers_name_one_block_each():
    markers = [b.marker for b in NAMED]
    assert len(markers) == len(set(markers)), sorted(markers)


@pytest.mark.parametrize("block", PYTHON_BLOCKS, ids=lambda b: b.where)
def test_every_python_block_compiles(block: DocBlock):
    compile(block.code, block.where, "exec")


@pytest.mark.parametrize("block", COMPILE, ids=lambda b: b.where)
def test_compile_only_blocks_say_why(block: DocBlock):
    assert block.marker.removeprefix("compile:").strip(), block.where


def _test_sources() -> str:
    tests = REPO_ROOT / "tests"
    return "\n".join(
        path.read_text()
        for path in sorted(tests.rglob("*.py"))
        if path.name != "docs_blocks.py"
    )


@pytest.mark.parametrize("block", NAMED, ids=lambda b: f"{b.marker}@{b.where}")
def test_named_blocks_are_fetched_by_a_test(block: DocBlock):
    fetched = rf"""(?:doc_block|readme_block)\(\s*["']{re.escape(block.marker)}["']"""
    assert re.search(fetched, _test_sources()), (
        f"no test fetches <!-- {block.marker} --> ({block.where}); "
        "mark it run or compile: WHY, or write the test"
    )


@pytest.mark.parametrize(
    "block",
    [
        pytest.param(b, marks=[pytest.mark.slow] if "slow" in b.marker else [])
        for b in RUN
    ],
    ids=lambda b: b.where,
)
def test_run_blocks_run_as_written(block: DocBlock, tmp_path, monkeypatch):
    (tmp_path / "features.csv").write_text(FEATURES_CSV)
    monkeypatch.chdir(tmp_path)
    exec(compile(block.code, block.where, "exec"), {"__name__": "__docs__"})


@pytest.mark.slow
def test_testing_example_passes_against_the_supervised_scaffold(tmp_path):
    """The test a user writes with the pytest plugin (docs: Testing your
    anonymizer), run by pytest on init's supervised app at its default
    epsilon: the example must pass whatever the fresh DP noise does."""
    template = SRC / "cli" / "templates" / "supervised" / "app.py.tmpl"
    app = string.Template(template.read_text()).safe_substitute(name="my_anonymizer")
    (tmp_path / "app.py").write_text(app)
    (tmp_path / "test_app.py").write_text(doc_block("testing-example"))
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT / "src")}
    env.pop("ANOMED_EPSILON", None)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_app.py"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout


# -- the API reference ---------------------------------------------------------


def _all(path: Path) -> list[str]:
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign) and any(
            getattr(t, "id", None) == "__all__" for t in node.targets
        ):
            return [ast.literal_eval(e) for e in node.value.elts]
    return []


def _public_modules() -> list[str]:
    """The subpackages and top-level modules users import: each has an
    ``__all__``, is not private, and is not the command line (documented as
    commands) or the runtime (what ``serve`` runs, not imported by users)."""
    internal = {"cli", "runtime", "examples"}
    modules = []
    for path in sorted(SRC.iterdir()):
        name = path.stem if path.suffix == ".py" else path.name
        init = path / "__init__.py" if path.is_dir() else path
        if name.startswith("_") or name in internal or not init.exists():
            continue
        if _all(init):
            modules.append(f"anomed_anonymizer.{name}")
    return modules


def _documented() -> set[str]:
    text = "\n".join(p.read_text() for p in (REPO_ROOT / "docs" / "api").glob("*.md"))
    return set(re.findall(r"^::: ([\w.]+)", text, re.M))


def test_api_reference_documents_every_public_module():
    missing = set(_public_modules()) - _documented()
    assert not missing, f"add a `::: module` page under docs/api/ for {missing}"


def test_api_reference_lists_every_top_level_name():
    index = (REPO_ROOT / "docs" / "api" / "index.md").read_text()
    names = _all(SRC / "__init__.py")
    missing = [n for n in names if f"[`{n}`]" not in index]
    assert names and not missing, f"docs/api/index.md lacks {missing}"
