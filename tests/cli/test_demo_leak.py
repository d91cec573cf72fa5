"""The demo's non-private baseline leaks on every seed, not by luck of one."""

from __future__ import annotations

import importlib
import json
import sys

import numpy as np
import pytest

from anomed_anonymizer.audit.metrics import evaluate_scores
from anomed_anonymizer.audit.splits import balance_indices
from anomed_anonymizer.audit.targets import true_label_probability
from anomed_anonymizer.emulator import MIAChallenge, load_dataset

#: The demo's attacks per classifier with predict_proba (four label-only,
#: one on scores): Holm multiplies the smallest p-value by at most this.
ATTACKS = 5


@pytest.fixture
def demo_app(monkeypatch):
    """The demo's app module, imported with the environment its server has."""
    data = load_dataset("breast-cancer")
    monkeypatch.setenv("ANOMED_FEATURE_BOUNDS", json.dumps(data.bounds))
    monkeypatch.setenv("ANOMED_N_CLASSES", str(data.n_classes))
    monkeypatch.setenv("CHALLENGE_HOST", "127.0.0.1:9")
    monkeypatch.delitem(sys.modules, "anomed_anonymizer.examples.demo_app", False)
    yield importlib.import_module("anomed_anonymizer.examples.demo_app")
    sys.modules.pop("anomed_anonymizer.examples.demo_app", None)


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 42])
def test_the_confidence_attack_finds_the_baselines_leak(demo_app, monkeypatch, seed):
    monkeypatch.setenv("ANOMED_SEED", str(seed))
    mia = MIAChallenge(load_dataset("breast-cancer"), seed=seed)
    X_m, y_m = mia.training
    X_n = np.concatenate([mia.tuning[0], mia.validation[0]])
    y_n = np.concatenate([mia.tuning[1], mia.validation[1]])
    forest = demo_app._estimator("random-forest").fit(X_m, y_m)
    keep_m, keep_n = balance_indices(y_m, y_n, seed=seed)
    metrics = evaluate_scores(
        true_label_probability(forest, X_m[keep_m], y_m[keep_m]),
        true_label_probability(forest, X_n[keep_n], y_n[keep_n]),
        seed=seed,
    )
    # 'leaks' after Holm whatever the label-only attacks' p-values are
    assert metrics.p_value * ATTACKS < 0.025
    assert metrics.auc_ci[0] > 0.6
    # and the forest is still a useful model
    assert forest.score(*mia.validation) > 0.9
