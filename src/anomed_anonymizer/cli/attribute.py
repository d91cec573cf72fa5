"""``audit --attribute COL``: attribute inference after the membership audit.

The audited model, its members and its non-members are those the membership
audit used; half of the non-members (seeded) are the attacker's auxiliary
rows, which train the imputation baseline, the other half are the held-out
rows (see :mod:`..audit.attribute`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
import numpy as np

if TYPE_CHECKING:
    from ..audit import MembershipAudit
    from ..audit.attribute import AttributeInferenceResult
    from .audit import AuditOptions

__all__ = ["add_to_json", "attribute_table", "run_attribute"]

#: The key of the JSON report the result goes under.
JSON_KEY = "attribute_inference"


def run_attribute(audit: MembershipAudit, options: AuditOptions) -> dict[str, Any]:
    """Attack column ``options.attribute`` of the audited model, print the
    table; the result as a dict (``AttributeInferenceResult.to_dict()``)."""
    from ..audit.attribute import attribute_inference

    predict, (Xm, ym), (Xn, yn) = _attack_sets(audit, options)
    order = np.random.default_rng(options.seed).permutation(len(Xn))
    aux, heldout = order[: len(order) // 2], order[len(order) // 2 :]
    result = attribute_inference(
        predict,
        Xn[aux],
        yn[aux],
        Xm,
        ym,
        options.attribute,
        X_heldout=Xn[heldout],
        y_heldout=yn[heldout],
        task=options.task,
        seed=options.seed,
    )
    click.echo(attribute_table(result))
    return result.to_dict()


def _attack_sets(audit: MembershipAudit, options: AuditOptions):
    """``predict``, members and non-members of the membership audit."""
    if options.url:
        from .audit import _from_challenge, base_url

        if options.challenge:
            members, non_members = _from_challenge(base_url(options.challenge))
        else:
            from ..emulator import load_dataset

            m = load_dataset(options.members, options.target)
            n = load_dataset(options.non_members, options.target)
            members, non_members = (m.X, m.y), (n.X, n.y)
        return options.url, members, non_members
    from ..emulator import load_dataset

    data = load_dataset(options.dataset, options.target)
    m, n = audit.members_, audit.non_members_
    return audit.target_.predict, (data.X[m], data.y[m]), (data.X[n], data.y[n])


def attribute_table(result: AttributeInferenceResult) -> str:
    """A short text table: attack, baseline and advantage per split."""
    lines = [
        f"Attribute inference on column {result.sensitive} "
        f"({result.attribute_task}, {result.metric}; baseline trained on "
        f"{result.n_aux} auxiliary rows)",
        f"{'':10} {'n':>6}  {'attack':>22}  {'baseline':>22}  {'advantage':>24}",
    ]
    attacks = [("candidate values (Bayesian)", result)]
    if result.art is not None:
        attacks.append((f"{result.art.attack} ({result.art.attack_model})", result.art))
    for title, attack in attacks:
        lines.append(f"attack: {title}")
        rows = [("members", attack.members), ("held out", attack.non_members)]
        for name, split in rows:
            if split is None:
                continue
            lines.append(
                f"{name:10} {split.n:>6}  "
                f"{_cell(split.attack, split.attack_ci):>22}  "
                f"{_cell(split.baseline, split.baseline_ci):>22}  "
                f"{_cell(split.advantage, split.advantage_ci, '+'):>24}"
            )
        lines.append(f"verdict: {attack.verdict}")
    return "\n".join(lines)


def _cell(value: float, interval: tuple[float, float], sign: str = "") -> str:
    low, high = interval
    return f"{value:{sign}.3f} [{low:{sign}.3f}, {high:{sign}.3f}]"


def add_to_json(path: Path, result: dict[str, Any]) -> None:
    """Put ``result`` into the JSON report at ``path`` under :data:`JSON_KEY`."""
    document = json.loads(Path(path).read_text())
    document[JSON_KEY] = result
    Path(path).write_text(json.dumps(document, indent=2) + "\n")
