"""The install-line extraction of ``make user-path`` (tests/user_path/walk.py):
it finds the commands in markdown code blocks, prose and CLI output, and flags
one that names the package, which PyPI answers with upstream's 0.0.x."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def walk():
    spec = importlib.util.spec_from_file_location(
        "user_path_walk", REPO / "tests" / "user_path" / "walk.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


MARKDOWN = """\
# Title

Install the `audit` extra (`pip install
'anomed-anonymizer[audit]'`) first.

```sh
# torch: the CPU build first
pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu
pip install "anomed-anonymizer[torch]"   # fetches upstream
python -m pip install "dist/anomed_anonymizer-0.1.0-py3-none-any.whl[tabular]"
$ uv pip install -r requirements.txt && python -m pytest
```
"""


def test_markdown_lines_come_from_code_blocks_and_inline_spans(walk):
    lines = walk.markdown_install_lines(MARKDOWN, "doc.md")
    assert [(line.lineno, line.command) for line in lines] == [
        (3, "pip install 'anomed-anonymizer[audit]'"),
        (
            8,
            "pip install torch==2.13.0 --index-url "
            "https://download.pytorch.org/whl/cpu",
        ),
        (9, "pip install 'anomed-anonymizer[torch]'"),
        (10, "pip install 'dist/anomed_anonymizer-0.1.0-py3-none-any.whl[tabular]'"),
        (11, "pip install -r requirements.txt"),
    ]
    torch_line = lines[2]
    assert "the CPU build first" in torch_line.note
    assert "fetches upstream" in torch_line.note
    # the torch line and the one after it share their block
    assert lines[1].group == lines[2].group != lines[0].group
    assert walk.torch_index_given(lines[2], lines[:2])
    assert not walk.torch_index_given(lines[0], [])


def test_a_line_naming_the_package_is_flagged_a_pinned_or_wheel_line_is_not(walk):
    def problems(command):
        line = walk.InstallLine("doc.md", 1, command)
        return walk.static_problems(line, "0.1.0")

    (problem,) = problems('pip install "anomed-anonymizer[torch]"')
    assert "upstream" in problem and "anomed-anonymizer[torch]" in problem
    assert problems("pip install anomed_anonymizer==0.0.22")
    assert problems('pip install "anomed-anonymizer[audit]==0.1.0"') == []
    wheel = "pip install 'dist/anomed_anonymizer-0.1.0-py3-none-any.whl[torch]'"
    assert problems(wheel) == []
    assert problems("pip install -r requirements.txt torch") == []


def test_cli_output_and_dockerfile_lines_end_where_the_command_ends(walk):
    output = (
        "created 3 files in x:\n"
        "next: cd x && pip install -r requirements.txt --extra-index-url "
        "https://download.pytorch.org/whl/cpu && python -m pytest test_smoke.py\n"
        "Error: the demo needs the 'demo' extra (diffprivlib is missing): "
        'pip install "anomed-anonymizer[demo]==0.1.0"\n'
        "install it in its own environment: pip install torch==2.13.0, then run\n"
    )
    commands = [line.command for line in walk.text_install_lines(output, "out")]
    assert commands == [
        "pip install -r requirements.txt --extra-index-url "
        "https://download.pytorch.org/whl/cpu",
        "pip install 'anomed-anonymizer[demo]==0.1.0'",
        "pip install torch==2.13.0",
    ]
    dockerfile = (
        "# torch's CPU build\n"
        "RUN pip install --no-cache-dir \\\n"
        "    --extra-index-url https://download.pytorch.org/whl/cpu "
        "-r requirements.txt \\\n"
        "    dumb-init==1.2.5.post1\n"
    )
    (line,) = walk.text_install_lines(dockerfile, "Dockerfile")
    assert line.lineno == 2
    assert line.args[-1] == "dumb-init==1.2.5.post1"
    assert "CPU build" in line.note


def _report(**versions):
    return {
        "install": [
            {
                "metadata": {"name": name, "version": version},
                "download_info": {"url": url},
            }
            for name, (version, url) in versions.items()
        ]
    }


def test_a_resolution_from_pypi_cuda_or_numpy_1_is_flagged(walk, tmp_path):
    wheel = tmp_path / "anomed_anonymizer-0.1.0-py3-none-any.whl"
    line = walk.InstallLine("doc.md", 1, 'pip install "anomed-anonymizer[torch]"')
    pypi = "https://files.pythonhosted.org/packages/anomed_anonymizer-0.0.22.whl"
    report = _report(**{
        "anomed-anonymizer": ("0.0.22", pypi),
        "torch": ("2.14.1", "https://files.pythonhosted.org/torch.whl"),
        "numpy": ("1.26.4", "https://files.pythonhosted.org/numpy.whl"),
    })  # fmt: skip
    problems = walk.resolution_problems(line, report, wheel, "2.4.1")
    assert len(problems) == 3
    assert re.search(r"anomed-anonymizer 0\.0\.22 from https", problems[0])
    assert "CUDA" in problems[1]
    assert "NumPy 2.4.1 back to 1.26.4" in problems[2]
    said = walk.InstallLine(
        "doc.md", 1, "pip install x", note="resolves NumPy 1.26; CUDA build"
    )
    ours = _report(**{"anomed-anonymizer": ("0.1.0", wheel.as_uri())})
    assert walk.resolution_problems(said, ours, wheel, "2.4.1") == []
    assert walk.resolution_problems(said, report, wheel, "2.4.1") == [problems[0]]


def test_no_message_in_the_package_names_it_for_pypi():
    """Messages build their hint with anomed_anonymizer._install."""
    bare = re.compile(r"pip install ['\"]?anomed-anonymizer\[")
    offenders = [
        str(path.relative_to(REPO))
        for path in (REPO / "src" / "anomed_anonymizer").rglob("*.py")
        if path.name != "_install.py" and bare.search(path.read_text())
    ]
    assert offenders == []
