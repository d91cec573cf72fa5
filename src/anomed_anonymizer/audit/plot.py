"""Log-log ROC curves (the LiRA papers' plot): what happens at low FPR shows.

Drawn with matplotlib's object API on the Agg canvas, so that no GUI backend
is needed and pyplot's global state is left alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from sklearn.metrics import roc_curve

if TYPE_CHECKING:
    from .report import AttackResult, AuditReport

__all__ = ["plot_roc"]

_STYLES = {"label-only": "-", "scores": "--"}


def _curve(attack: AttackResult) -> tuple[np.ndarray, np.ndarray]:
    labels = np.r_[
        np.ones(len(attack.member_scores)), np.zeros(len(attack.non_member_scores))
    ]
    scores = np.r_[attack.member_scores, attack.non_member_scores]
    fpr, tpr, _ = roc_curve(labels, scores)
    return fpr, tpr


def plot_roc(
    reports: Mapping[str, AuditReport],
    path: str | Path,
    *,
    title: str = "Membership inference ROC",
    attacks: Mapping[str, list[str]] | None = None,
) -> Path:
    """Draw the ROC curves of several reports' attacks into one PNG.

    Parameters
    ----------
    reports : Mapping[str, AuditReport]
        Label prefix (e.g. the model's name, or ``""``) to report.
    path : str | pathlib.Path
        The PNG to write (folders are created).
    title : str, optional
        The figure's title.
    attacks : Mapping[str, list[str]] | None, optional
        Per label, the attack names to draw; all by default.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6.4, 5.2), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    smallest = 1.0
    for label, report in reports.items():
        chosen = (attacks or {}).get(label)
        for attack in report.attacks:
            if chosen is not None and attack.name not in chosen:
                continue
            fpr, tpr = _curve(attack)
            name = f"{label}: {attack.name}" if label else attack.name
            axes.plot(
                fpr,
                tpr,
                _STYLES.get(attack.threat_model, "-"),
                label=f"{name} (AUC {attack.metrics.auc:.2f})",
            )
        smallest = min(smallest, 1.0 / max(1, report.n_non_members))
    _decorate(axes, smallest, title)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    return path


def _decorate(axes, smallest: float, title: str) -> None:
    low = smallest / 2
    axes.plot([low, 1], [low, 1], ":", color="gray", label="chance")
    axes.axvspan(low, smallest, color="0.9", label="below 1/n non-members")
    axes.set_xscale("log", nonpositive="clip")
    axes.set_yscale("log", nonpositive="clip")
    axes.set_xlim(low, 1)
    axes.set_ylim(low, 1.05)
    axes.set_xlabel("false positive rate")
    axes.set_ylabel("true positive rate")
    axes.set_title(title)
    axes.legend(fontsize=7, loc="lower right")
    axes.grid(True, which="major", alpha=0.3)
