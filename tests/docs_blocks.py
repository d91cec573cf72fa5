"""The code blocks of the documentation (README.md and docs/*.md), by marker.

A block the tests run is introduced by an HTML comment on the line before
its fence, invisible on GitHub and in the site::

    <!-- tabular-example -->
    ```python
    ...
    ```

Every ```python block carries one (tests/unit/test_docs_code.py checks):

- ``<!-- run -->``: executed as written by test_docs_code.py, in a fresh
  folder holding a ``features.csv`` (``<!-- run: slow -->`` for a block that
  takes more than a few seconds);
- ``<!-- compile: WHY -->``: compiled only, for the reason given (it needs a
  server, a cluster, a model defined elsewhere on the page);
- ``<!-- NAME -->``: a named example, which a dedicated test fetches with
  ``doc_block("NAME")`` and runs against a challenge.

A marker names one block in all of the documentation, wherever the block
lives, so a test does not change when a section moves between pages.

Standard library only: tests/user_path/walk.py imports it outside pytest.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

__all__ = ["DOC_FILES", "REPO_ROOT", "DocBlock", "doc_block", "doc_blocks", "doc_lines"]

REPO_ROOT = Path(__file__).resolve().parents[1]

_FENCE = re.compile(
    r"^(?:<!-- (?P<marker>[^\n]*?) -->\n)?```(?P<language>[A-Za-z0-9_+-]*)\n"
    r"(?P<code>.*?)^```\s*$",
    re.S | re.M,
)


def _doc_files() -> list[Path]:
    return [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").rglob("*.md"))]


#: The Markdown files whose code blocks are documentation.
DOC_FILES = _doc_files()


@dataclass(frozen=True)
class DocBlock:
    """One fenced code block: where it is, its language, marker and code."""

    path: Path
    line: int
    language: str
    marker: str | None
    code: str

    @property
    def where(self) -> str:
        """``docs/page.md:LINE``, for messages and tracebacks."""
        return f"{self.path.relative_to(REPO_ROOT)}:{self.line}"


def doc_blocks(language: str | None = None) -> list[DocBlock]:
    """Every fenced block of the documentation (of ``language``, if given)."""
    blocks = []
    for path in _doc_files():
        text = path.read_text()
        for match in _FENCE.finditer(text):
            if language is not None and match["language"] != language:
                continue
            line = text.count("\n", 0, match.start("code"))  # the fence's line
            blocks.append(
                DocBlock(path, line, match["language"], match["marker"], match["code"])
            )
    return blocks


def doc_block(marker: str, language: str = "python") -> str:
    """The code of the one ``language`` block marked ``<!-- marker -->``.

    Raises ``LookupError`` naming the marker when no block or several carry it.
    """
    found = [b for b in doc_blocks(language) if b.marker == marker]
    if len(found) != 1:
        where = ", ".join(b.where for b in found) or "none"
        raise LookupError(
            f"expected one ```{language} block after <!-- {marker} --> in "
            f"README.md or docs/*.md, found {len(found)} ({where})"
        )
    return found[0].code


def doc_lines() -> list[str]:
    """Every line of the documentation, README.md first."""
    return [line for path in _doc_files() for line in path.read_text().splitlines()]
