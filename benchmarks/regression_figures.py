"""The regression trade-off on the glucose curves, side by side: an MLP
without DP and DP-SGD MLPs at ε = 1 and 8 (the regression demo's models),
each audited in process on the same data.

For every model: the validation MAE and MSE as the emulated challenge scores
them (its training split fits the model, its validation split scores it);
each membership attack's AUC and TPR at 1 % FPR with 95 % intervals (a
seeded half of the 1,200 rows are members); and the attribute-inference
attack on ``sex`` (column 6): its accuracy advantage over imputation on the
members, with its paired-bootstrap interval.

Run: ``python benchmarks/regression_figures.py [--reference-models 8]``
(needs the ``torch`` extra; about 10 minutes on 2 cores).
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")


def _models(bounds, scale, epsilons):
    os.environ["ANOMED_FEATURE_BOUNDS"] = json.dumps(bounds)
    os.environ["ANOMED_TARGET_SCALE"] = json.dumps(scale)
    os.environ.setdefault("CHALLENGE_HOST", "localhost:1")  # never contacted
    import importlib

    from anomed_anonymizer.examples import demo_regression

    models = {}
    for label, model, epsilon in [("MLP, no DP", "mlp", None)] + [
        (f"DP-SGD MLP, ε={e:g}", "mlp-dp", e) for e in epsilons
    ]:
        os.environ["ANOMED_MODEL"] = model
        if epsilon is not None:
            os.environ["ANOMED_EPSILON"] = str(epsilon)
        module = importlib.reload(demo_regression)
        models[label] = module.anonymizer
    return models


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference-models", type=int, default=8)
    parser.add_argument("--epsilon", type=float, action="append", default=None)
    options = parser.parse_args()
    epsilons = options.epsilon or [1.0, 8.0]

    from anomed_anonymizer.audit import MembershipAudit, attribute_inference
    from anomed_anonymizer.emulator import MIAChallenge, load_dataset
    from anomed_anonymizer.scoring import mae, mse

    data = load_dataset("glucose")
    y = data.y
    scale = [float(y.mean()), float(y.std())]
    challenge = MIAChallenge(data, seed=42)
    rows = []
    for label, model in _models(data.bounds, scale, epsilons).items():
        started = time.perf_counter()
        fitted = copy.deepcopy(model)
        fitted.fit(*challenge.training)
        X_val, y_val = challenge.validation
        prediction = fitted.predict(X_val)
        audit = MembershipAudit(reference_models=options.reference_models, seed=0)
        report = audit.run(model, data.X, y, name=label)
        members, non_members = audit.members_, audit.non_members_
        half = len(non_members) // 2  # the attacker's auxiliary rows, the rest held out
        attribute = attribute_inference(
            audit.target_.predict,
            data.X[non_members[:half]],
            y[non_members[:half]],
            data.X[members],
            y[members],
            6,
            X_heldout=data.X[non_members[half:]],
            y_heldout=y[non_members[half:]],
            seed=0,
        )
        rows.append(
            (
                label,
                mae(prediction, y_val),
                mse(prediction, y_val),
                report,
                attribute,
                time.perf_counter() - started,
            )
        )
    print(f"glucose: {len(data.X)} rows, {options.reference_models} reference models")
    for label, val_mae, val_mse, report, attribute, seconds in rows:
        print(
            f"\n{label}: validation MAE {val_mae:.2f}, MSE {val_mse:.1f} "
            f"({seconds:.0f} s)"
        )
        for attack in report.attacks:
            m = attack.metrics
            tpr, tpr_ci = m.tpr_at_fpr[0.01], m.tpr_at_fpr_ci[0.01]
            tpr_text = (
                "n/a"
                if tpr is None
                else (f"{tpr:.3f} [{tpr_ci[0]:.3f}, {tpr_ci[1]:.3f}]")
            )
            print(
                f"  {attack.name:<22} AUC {m.auc:.3f} [{m.auc_ci[0]:.3f}, "
                f"{m.auc_ci[1]:.3f}]  TPR@1%FPR {tpr_text}  {attack.verdict}"
            )
        a = attribute.members
        print(
            f"  attribute (sex): attack {a.attack:.3f}, imputation "
            f"{a.baseline:.3f}, advantage {a.advantage:+.3f} "
            f"[{a.advantage_ci[0]:+.3f}, {a.advantage_ci[1]:+.3f}] (n={a.n}): "
            f"{attribute.verdict.split(':')[0]}"
        )


if __name__ == "__main__":
    main()
