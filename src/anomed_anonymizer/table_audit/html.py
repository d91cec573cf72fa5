"""The audit as one self-contained HTML page.

Tables of the figures and three kinds of plots (matplotlib PNGs embedded as
base64): the risk of each record, the attacks' risks with their intervals,
and every column's distribution in the input beside the release's. The page
loads nothing from the network; a small inline script marks the ``<body>``
with ``data-images-decoded`` once the browser has decoded every plot.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from .._install import install_hint
from .report import ATTACK_TITLES, format_columns

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from .report import TableAudit
    from .utility import Marginal

__all__ = ["render_html"]

# Categories shown per marginal plot; rarer ones are summed as "other".
_MAX_CATEGORIES = 12
_INPUT_COLOR, _RELEASE_COLOR = "#4c72b0", "#dd8452"

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 70em;
       color: #222; line-height: 1.4; padding: 0 1em; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2em; }
table { border-collapse: collapse; margin: 0.5em 0; }
th, td { padding: 0.25em 0.8em; border-bottom: 1px solid #ddd; text-align: right; }
th:first-child, td:first-child { text-align: left; }
img { max-width: 100%; height: auto; display: block; margin: 0.5em 0; }
.meta { color: #555; } .note { color: #a33; }
h1 { overflow-wrap: anywhere; }
table.verdicts td { text-align: left; vertical-align: top; }
tr.above td:nth-child(2) { color: #a33; }
tr.inconclusive td:nth-child(2) { color: #b80; }
tr.below td:nth-child(2) { color: #282; }
"""

_SCRIPT = """
window.addEventListener("load", function () {
  var images = Array.prototype.slice.call(document.images);
  var decoded = images.filter(function (i) {
    return i.complete && i.naturalWidth > 0;
  });
  document.body.setAttribute("data-images-decoded", String(decoded.length));
  document.body.setAttribute("data-images-total", String(images.length));
});
"""


def render_html(audit: TableAudit) -> str:
    """The HTML page of ``audit`` (a complete document, no external resources).

    Requires matplotlib (extra ``audit-table``).

    Raises
    ------
    ImportError
        If matplotlib is not installed (the message names the extra).
    """
    try:
        import matplotlib  # noqa: F401
    except ImportError as exc:
        raise ImportError(
            f"the HTML page's plots need matplotlib: {install_hint('audit-table')}"
        ) from exc
    sections = (
        _header,
        _verdict_section,
        _risk_section,
        _attack_section,
        _utility_section,
    )
    parts = [part for section in sections for part in section(audit)]
    parts.append(f"<script>{_SCRIPT}</script></body></html>")
    return "\n".join(parts)


def _header(audit: TableAudit) -> list[str]:
    e = html.escape
    # The browser tab gets the class name; the heading the whole description
    # (a long repr wraps instead of being cut).
    described = audit.anonymizer or "release"
    short = described.split("(", 1)[0] or described
    return [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>Table audit: {e(short)}</title>",
        f"<style>{_STYLE}</style></head><body>",
        f"<h1>Table audit: {e(described)}</h1>",
        f'<p class="meta">Scheme <b>{e(audit.scheme)}</b>; {audit.n_rows} records '
        f"anonymized, {audit.n_released} rows released, {audit.n_control} held "
        "out as control. Quasi-identifiers: "
        f"{e(', '.join(map(str, audit.quasi_identifiers)))}; sensitive column: "
        f"{e(str(audit.sensitive))}.</p>",
        *(f'<p class="note">{e(note)}</p>' for note in audit.notes),
    ]


def _verdict_section(audit: TableAudit) -> list[str]:
    """Per risk: the verdict, why, the columns driving it, the remedy."""
    if not audit.guidance:
        return []
    e = html.escape
    rows = []
    for g in audit.guidance:
        cls = {"above threshold": "above", "inconclusive": "inconclusive"}.get(
            g.verdict, "below"
        )
        rows.append(
            f'<tr class="{cls}"><td>{e(ATTACK_TITLES.get(g.risk, g.risk))}</td>'
            f"<td><b>{e(g.verdict)}</b></td><td>{e(g.reason)}</td>"
            f"<td>{e(format_columns(g)) if g.columns else '-'}</td>"
            f"<td>{e(g.remedy)}</td></tr>"
        )
    return [
        '<h2 id="verdicts">Verdicts</h2>',
        f"<p>Each risk against the threshold {audit.threshold:g}: an attack is "
        "<i>above</i> or <i>below</i> it only when its whole 95% interval is; "
        "an interval that straddles it is <i>inconclusive</i>. Re-identification "
        "risks are exact on this release.</p>",
        '<table class="verdicts"><tr><th>risk</th><th>verdict</th><th>why</th>'
        "<th>driven by</th><th>to bring it under the threshold</th></tr>",
        *rows,
        "</table>",
    ]


def _risk_section(audit: TableAudit) -> list[str]:
    risk = audit.risk
    rows = [
        [model, f"{s.highest:.3f}", f"{s.average:.3f}", f"{s.records_at_risk:.1%}"]
        for model, s in (
            ("prosecutor", risk.prosecutor),
            ("journalist", risk.journalist),
            ("marketer", risk.marketer),
        )
    ]
    return [
        '<h2 id="risk">Re-identification risk</h2>',
        f"<p>Computed on {html.escape(risk.method)}; a record is at risk when its "
        f"risk exceeds {risk.threshold:g}.</p>",
        _table(["model", "highest", "average", "records at risk"], rows),
        _image(
            _risk_histogram(audit),
            "Histogram of the re-identification risk of each record",
        ),
    ]


def _attack_section(audit: TableAudit) -> list[str]:
    e = html.escape
    rows, notes = [], []
    for attack in audit.attacks:
        details = attack.details
        title = ATTACK_TITLES.get(attack.name, attack.name)
        rows.append(
            [
                title,
                f"{attack.risk:.3f}",
                f"[{attack.ci[0]:.3f}, {attack.ci[1]:.3f}]",
                _rate(details.get("attack_rate", details.get("accuracy"))),
                _rate(details.get("control_rate", details.get("control_accuracy"))),
                _rate(details.get("baseline_rate", details.get("base_rate"))),
            ]
        )
        notes += [
            f'<p class="note">{e(title)}: {e(message)}</p>'
            for message in details.get("warnings", [])
        ]
    header = ["attack", "risk", "95% interval", "success", "on control", "baseline"]
    parts = ['<h2 id="attacks">Attacks</h2>', _table(header, rows), *notes]
    if audit.attacks:
        parts.append(_image(_attack_plot(audit), "Attack risks with 95% intervals"))
    return parts


def _utility_section(audit: TableAudit) -> list[str]:
    utility = audit.utility
    rows = [
        ["NCP", _rate(utility["ncp"])],
        ["SSE/SST", _rate(utility["sse_sst"])],
        ["mean marginal TVD", _rate(utility["mean_tvd"])],
        ["mean pairwise TVD", _rate(utility["mean_pairwise_tvd"])],
        ["challenge utility score", _rate(utility["challenge_score"]["utility"])],
    ]
    return [
        '<h2 id="utility">Utility</h2>',
        _table(["figure", "value"], rows),
        '<h2 id="marginals">Marginal distributions</h2>',
        _image(
            _marginal_plots(audit.marginals),
            "Each column's distribution in the input and in the release",
        ),
    ]


def _rate(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    e = html.escape
    head = "".join(f"<th>{e(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{e(str(c))}</td>" for c in row) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _image(figure: Figure, alt: str) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def _figure(width: float, height: float) -> Figure:
    # A bare Figure: no pyplot, so no GUI backend and no global state.
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def _risk_histogram(audit: TableAudit) -> Figure:
    risk = audit.risk
    figure = _figure(8, 3.2)
    axes = figure.subplots()
    bins = np.linspace(0, 1, 21)
    for values, label, color in (
        (risk.prosecutor_record_risk, "prosecutor (1/f)", _INPUT_COLOR),
        (risk.journalist_record_risk, "journalist (1/F)", _RELEASE_COLOR),
    ):
        axes.hist(values, bins=bins, alpha=0.6, label=label, color=color)
    axes.axvline(risk.threshold, color="#a33", linestyle="--", label="threshold")
    axes.set_xlabel("re-identification risk of a record")
    axes.set_ylabel("records")
    axes.set_yscale("symlog")
    axes.legend()
    return figure


def _attack_plot(audit: TableAudit) -> Figure:
    attacks = audit.attacks
    figure = _figure(8, 0.5 + 0.45 * len(attacks))
    axes = figure.subplots()
    y = np.arange(len(attacks))[::-1]
    values = np.array([a.risk for a in attacks])
    lower = values - np.array([a.ci[0] for a in attacks])
    upper = np.array([a.ci[1] for a in attacks]) - values
    axes.errorbar(
        values, y, xerr=[lower, upper], fmt="o", color=_RELEASE_COLOR, capsize=4
    )
    axes.set_yticks(y, [ATTACK_TITLES.get(a.name, a.name) for a in attacks])
    axes.set_xlim(-0.02, 1.02)
    axes.set_xlabel("risk (95% interval)")
    axes.grid(axis="x", alpha=0.3)
    return figure


def _marginal_plots(marginals: Sequence[Marginal]) -> Figure:
    n_cols = 3
    n_rows = max(1, -(-len(marginals) // n_cols))
    figure = _figure(12, 2.6 * n_rows)
    grid = np.atleast_1d(figure.subplots(n_rows, n_cols)).reshape(-1)
    for axes, marginal in zip(grid, marginals, strict=False):
        labels, leaky, released = _shown(marginal)
        x = np.arange(len(labels))
        axes.bar(x - 0.2, leaky, width=0.4, color=_INPUT_COLOR, label="input")
        axes.bar(x + 0.2, released, width=0.4, color=_RELEASE_COLOR, label="release")
        axes.set_xticks(x, labels, rotation=45, ha="right", fontsize=7)
        axes.set_title(f"{marginal.column} (TVD {marginal.tvd:.3f})", fontsize=9)
        axes.tick_params(axis="y", labelsize=7)
    for axes in grid[len(marginals) :]:
        axes.set_axis_off()
    if marginals:
        grid[0].legend(fontsize=7)
    return figure


def _shown(marginal: Marginal) -> tuple[list[str], np.ndarray, np.ndarray]:
    """At most ``_MAX_CATEGORIES`` bars: the most frequent, then "other"."""
    labels, leaky, released = marginal.labels, marginal.leaky, marginal.released
    if len(labels) <= _MAX_CATEGORIES:
        return [_short(label) for label in labels], leaky, released
    keep = np.argsort(-(leaky + released), kind="stable")[: _MAX_CATEGORIES - 1]
    rest = np.setdiff1d(np.arange(len(labels)), keep)
    return (
        [_short(labels[i]) for i in keep] + ["other"],
        np.append(leaky[keep], leaky[rest].sum()),
        np.append(released[keep], released[rest].sum()),
    )


def _short(label: str, limit: int = 16) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"
