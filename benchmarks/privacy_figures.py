"""Claimed against audited privacy, side by side: a non-private MLP, DP-SGD at
two budgets and a diffprivlib model, each audited in process on the same data.

For every model: the claimed (ε, δ), the determinism check, the one-run DP
audit's lower bound (Steinke et al. 2023) with what it can certify at most,
and each membership attack's AUC and TPR at 0.1 % and 1 % FPR with their 95 %
intervals (``n/a`` where the non-members cannot resolve the level). A second
table compares LiRA offline on a random forest with its variances pooled
(the estimate used below 64 reference models before issue 18) and moderated
per sample (now).

Run: ``python benchmarks/privacy_figures.py [--quick] [--reference-models 8]``
(needs the ``torch`` extra; about 10 minutes on 2 cores, ``--quick`` about 3).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.ensemble import RandomForestClassifier

import anomed_anonymizer as anon
from anomed_anonymizer.audit import MembershipAudit, evaluate_scores
from anomed_anonymizer.audit.reference import (
    membership_design,
    train_reference_models,
)
from anomed_anonymizer.audit.score_based import logit_confidence
from anomed_anonymizer.audit.splits import member_split
from anomed_anonymizer.audit.summary import format_interval
from anomed_anonymizer.audit.targets import fit_copy, true_label_probability


def mlp(n_features: int, n_classes: int) -> torch.nn.Module:
    return torch.nn.Sequential(
        torch.nn.Linear(n_features, 256),
        torch.nn.ReLU(),
        torch.nn.Linear(256, n_classes),
    )


def sgd(parameters):
    return torch.optim.SGD(parameters, lr=0.1, momentum=0.9)


def models(epochs: int) -> dict[str, object]:
    from diffprivlib.models import GaussianNB

    return {
        "non-private MLP": anon.TorchWrapper(
            mlp, optimizer=sgd, epochs=epochs, batch_size=64
        ),
        "DP-SGD MLP, ε = 1": anon.TorchWrapper(
            mlp, optimizer=sgd, epochs=epochs, batch_size=64, dp=anon.DPSGD(epsilon=1)
        ),
        "DP-SGD MLP, ε = 8": anon.TorchWrapper(
            mlp, optimizer=sgd, epochs=epochs, batch_size=64, dp=anon.DPSGD(epsilon=8)
        ),
        "diffprivlib GaussianNB, ε = 1": anon.WrappedAnonymizer(
            GaussianNB(epsilon=1.0, bounds=(0.0, 1.0)),
            serializer=anon.pickle_anonymizer,
        ),
    }


def _cell(value, interval) -> str:
    return "n/a" if value is None else format_interval(value, interval)


def audit_table(X, y, reference_models: int, epochs: int) -> None:
    print(
        f"digits: {len(X)} rows, half of each class members; "
        f"{reference_models} reference models; 95 % intervals\n"
    )
    for name, model in models(epochs).items():
        started = time.perf_counter()
        audit = MembershipAudit(reference_models=reference_models, seed=0)
        report = audit.run(model, X, y, name=name)
        privacy = report.privacy or {}
        claim = (
            f"ε = {privacy['epsilon']:.3g}, δ = {privacy['delta']:.3g}"
            if privacy.get("epsilon") is not None
            else "none"
        )
        one_run = report.one_run or {}
        check = report.checks[0]
        print(f"### {name} ({time.perf_counter() - started:.0f} s)")
        print(f"- claimed: {claim}")
        print(f"- determinism check: {check.status} ({check.detail})")
        print(
            f"- one-run audit: ε ≥ {one_run.get('epsilon_lower_bound', 0):.2f} "
            f"({one_run.get('v')} of {one_run.get('r')} guesses right, "
            f"{one_run.get('m')} canaries; at most "
            f"{one_run.get('max_certifiable_epsilon', 0):.2f} certifiable)"
        )
        print(f"- verdict: {report.verdict}\n")
        print("| attack | AUC [95% CI] | TPR@0.1%FPR | TPR@1%FPR | verdict |")
        print("|---|---|---|---|---|")
        for attack in report.attacks:
            m = attack.metrics
            print(
                f"| {attack.name} | {format_interval(m.auc, m.auc_ci)} | "
                f"{_cell(m.tpr_at_fpr[0.001], m.tpr_at_fpr_ci[0.001])} | "
                f"{_cell(m.tpr_at_fpr[0.01], m.tpr_at_fpr_ci[0.01])} | "
                f"{attack.verdict} |"
            )
        print()


def pooled_lira_offline(target, reference, design):
    """LiRA offline with one variance pooled over samples (the old estimate)."""
    observed, values = logit_confidence(target), logit_confidence(reference)
    out = ~design
    mean = np.where(out, values, 0.0).sum(axis=0) / out.sum(axis=0)
    squares = np.where(out, (values - mean) ** 2, 0.0)
    std = np.sqrt(squares.sum() / max(1, (out.sum(axis=0) - 1).sum()))
    return (observed - mean) / max(std, 1e-6)


def forest_table(X, y, reference_models: int) -> None:
    from anomed_anonymizer.audit.score_based import lira_attack

    forest = anon.WrappedAnonymizer(
        RandomForestClassifier(n_estimators=100), serializer=anon.pickle_anonymizer
    )
    members, non_members = member_split(y, 0)
    target_model = fit_copy(forest, X[members], y[members], 0)
    design = membership_design(len(X), reference_models, 0)
    reference = train_reference_models(forest, X, y, design, n_jobs=2, seed=1)
    target = true_label_probability(target_model, X, y)
    rows = {
        "pooled (before)": pooled_lira_offline(target, reference, design),
        "moderated per sample (now)": lira_attack(target, reference, design, False)[0],
    }
    print(f"### LiRA offline on a random forest, {reference_models} reference models")
    print("| variance | AUC [95% CI] | TPR@0.1%FPR | TPR@1%FPR |")
    print("|---|---|---|---|")
    for name, scores in rows.items():
        m = evaluate_scores(scores[members], scores[non_members])
        print(
            f"| {name} | {format_interval(m.auc, m.auc_ci)} | "
            f"{_cell(m.tpr_at_fpr[0.001], m.tpr_at_fpr_ci[0.001])} | "
            f"{_cell(m.tpr_at_fpr[0.01], m.tpr_at_fpr_ci[0.01])} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer epochs and models")
    parser.add_argument("--reference-models", type=int, default=8)
    args = parser.parse_args()
    torch.set_num_threads(1)
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    epochs = 10 if args.quick else 30
    models_ = 4 if args.quick else args.reference_models
    audit_table(X, y, models_, epochs)
    forest_table(X, y, 16 if not args.quick else 8)


if __name__ == "__main__":
    main()
