"""Which training rows an attack exposes most, and its per-sample scores, as
JSON.

A membership score says how strongly an attack believes a sample was
trained on; the members with the highest scores are the rows the model
gives away most clearly (under that attack). Indices point into the data
the audit was given, so the rows can be looked up: for
:meth:`~.auditor.MembershipAudit.run` the rows of ``X``; for
:meth:`~.auditor.MembershipAudit.run_black_box` the rows of ``X_members``
(and of ``X_non_members`` for non-members), before balancing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from .report import AttackResult

__all__ = [
    "TOP_EXPOSED",
    "most_exposed",
    "rounded",
    "score_lists",
    "scoring_at_least_last",
]

#: Members listed as most exposed.
TOP_EXPOSED = 10
#: Significant digits of the scores in the JSON.
DIGITS = 6


def rounded(values: np.ndarray) -> list[float]:
    """Scores as floats of :data:`DIGITS` significant digits (non-finite ones
    kept; the JSON writer turns them into ``null``).

    Examples
    --------
    >>> rounded(np.array([1 / 3, 2.0, np.inf]))
    [0.333333, 2.0, inf]
    """
    return [float(f"{value:.{DIGITS}g}") for value in np.asarray(values, float)]


def _indices(attack: AttackResult, member: bool) -> np.ndarray:
    indices = attack.member_indices if member else attack.non_member_indices
    scores = attack.member_scores if member else attack.non_member_scores
    if indices is None:  # an AttackResult built by hand: positions
        return np.arange(len(scores))
    return np.asarray(indices)


def most_exposed(attack: AttackResult, top: int = TOP_EXPOSED) -> list[dict[str, Any]]:
    """The ``top`` members with the highest scores, highest first.

    Ties are broken by the lower index; a NaN score comes last.

    Returns
    -------
    list[dict]
        ``{"index": row, "score": score}`` per member.
    """
    scores = np.asarray(attack.member_scores, dtype=np.float64)
    indices = _indices(attack, member=True)
    order = np.lexsort((indices, np.where(np.isnan(scores), np.inf, -scores)))
    chosen = order[:top]
    return [
        {"index": int(indices[i]), "score": score}
        for i, score in zip(chosen, rounded(scores[chosen]), strict=True)
    ]


def scoring_at_least_last(attack: AttackResult, top: int = TOP_EXPOSED) -> int:
    """How many members score at least as high as the last one
    :func:`most_exposed` lists: more than ``top`` means ties, among which
    the list took the lowest indices (e.g. a tree's 0/1 probabilities)."""
    scores = np.asarray(attack.member_scores, dtype=np.float64)
    ranked = np.sort(scores[~np.isnan(scores)])[::-1]
    if len(ranked) == 0:
        return 0
    return int(np.sum(ranked >= ranked[min(top, len(ranked)) - 1]))


def score_lists(attack: AttackResult) -> dict[str, Any]:
    """Every member's and non-member's score with its row, and the attack's
    most exposed members (the JSON's ``include_scores`` keys)."""
    return {
        "member_indices": _indices(attack, member=True).tolist(),
        "member_scores": rounded(attack.member_scores),
        "non_member_indices": _indices(attack, member=False).tolist(),
        "non_member_scores": rounded(attack.non_member_scores),
        "most_exposed_members": most_exposed(attack),
    }
