"""Attribute inference: the attack against the imputation baseline."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.linear_model import LinearRegression
from sklearn.neighbors import KNeighborsRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier

import anomed_anonymizer as anon
from anomed_anonymizer.audit.attribute import (
    AttributeInferenceResult,
    attribute_inference,
)
from anomed_anonymizer.emulator import glucose_curves

from .test_black_box import served

SENSITIVE = 4


def secret_data(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Four public features and a binary secret (column 4) independent of
    them; ``y`` depends on the secret only weakly, so imputation from the
    other features and ``y`` does little better than chance."""
    X = rng.normal(size=(n, 4))
    s = rng.integers(0, 2, n).astype(np.float64)
    y = X[:, 0] + 0.5 * s + rng.normal(0, 1, n)
    return np.column_stack([X, s]), y


@pytest.fixture(scope="module")
def splits():
    rng = np.random.default_rng(1)
    return tuple(secret_data(200, rng) for _ in range(3))  # aux, members, held out


def test_a_memorising_model_beats_imputation_on_members(splits):
    (Xa, ya), (Xm, ym), (Xh, yh) = splits
    model = KNeighborsRegressor(n_neighbors=1).fit(Xm, ym)
    result = attribute_inference(
        model.predict, Xa, ya, Xm, ym, SENSITIVE, X_heldout=Xh, y_heldout=yh
    )
    assert result.attribute_task == "categorical"
    assert result.metric == "accuracy"
    assert result.target_task == "regression"
    assert result.candidates == (0.0, 1.0)
    members = result.members
    assert members.n == 200
    assert members.advantage_ci[0] > 0
    assert members.advantage == pytest.approx(members.attack - members.baseline)
    assert members.attack_ci[0] <= members.attack <= members.attack_ci[1]
    assert result.verdict.startswith("leaks")
    assert "n=200" in result.verdict
    # The leak is about the training rows: held out, the advantage is smaller.
    assert result.non_members is not None
    assert result.non_members.advantage < members.advantage


def test_a_model_that_ignores_the_secret_gives_no_advantage(splits):
    (Xa, ya), (Xm, ym), (Xh, yh) = splits
    public = KNeighborsRegressor(n_neighbors=1).fit(Xm[:, :SENSITIVE], ym)

    def predict(X: np.ndarray) -> np.ndarray:
        return public.predict(np.delete(X, SENSITIVE, axis=1))

    result = attribute_inference(
        predict, Xa, ya, Xm, ym, SENSITIVE, X_heldout=Xh, y_heldout=yh
    )
    assert result.members.uninformative == 1.0
    low, high = result.members.advantage_ci
    assert low <= 0 <= high
    assert result.verdict.startswith("no advantage over imputation")
    assert result.members.attack == result.members.baseline


def test_a_model_that_generalises_gives_no_advantage_over_imputation(splits):
    # Jayaraman & Evans: what a well-generalising model tells about the secret
    # is what the population tells; the imputation baseline knows it too.
    (Xa, ya), (Xm, ym), (Xh, yh) = splits
    model = LinearRegression().fit(Xm, ym)
    result = attribute_inference(
        model.predict, Xa, ya, Xm, ym, SENSITIVE, X_heldout=Xh, y_heldout=yh
    )
    assert result.members.uninformative == 0.0  # the model does use the secret
    low, high = result.members.advantage_ci
    assert low <= 0 <= high
    assert result.verdict.startswith("no advantage over imputation")
    assert result.baseline_model in ("logistic regression", "gradient boosting")


def test_continuous_attribute_uses_a_quantile_grid_and_mae(splits):
    (Xa, ya), (Xm, ym), _ = splits
    model = KNeighborsRegressor(n_neighbors=1).fit(Xm, ym)
    result = attribute_inference(
        model, Xa, ya, Xm, ym, 0, n_grid=15, n_bootstrap=200, seed=2
    )
    assert result.attribute_task == "continuous"
    assert result.metric == "mae"
    assert len(result.candidates) == 15
    assert result.candidates[0] == pytest.approx(Xa[:, 0].min())
    assert result.candidates[-1] == pytest.approx(Xa[:, 0].max())
    members = result.members
    assert members.attack >= 0 and members.baseline >= 0
    # lower MAE wins: the advantage is baseline minus attack
    assert members.advantage == pytest.approx(members.baseline - members.attack)
    assert result.non_members is None
    document = json.loads(result.to_json())
    assert document["members"]["n"] == 200
    assert document["non_members"] is None


def glucose_split():
    X, y, people = glucose_curves(n_people=90, meals_per_person=4, seed=5)
    group = np.unique(people) % 3  # by person: one person's meals stay together
    which = group[np.searchsorted(np.unique(people), people)]
    return [(X[which == g], y[which == g]) for g in range(3)]


def memorising_regressor():
    return make_pipeline(StandardScaler(), KNeighborsRegressor(n_neighbors=1))


def test_glucose_sex_end_to_end_for_a_regressor():
    (Xa, ya), (Xm, ym), (Xh, yh) = glucose_split()
    model = memorising_regressor().fit(Xm, ym)
    result = attribute_inference(
        model.predict, Xa, ya, Xm, ym, 6, X_heldout=Xh, y_heldout=yh, seed=1
    )
    assert isinstance(result, AttributeInferenceResult)
    assert ym.shape[1] == 12 and result.target_task == "regression"
    assert result.attribute_task == "categorical" and result.candidates == (0.0, 1.0)
    assert result.members.n == len(Xm) and result.non_members.n == len(Xh)
    for split in (result.members, result.non_members):
        assert 0 <= split.attack <= 1 and 0 <= split.baseline <= 1
        low, high = split.advantage_ci
        assert low <= split.advantage <= high
    # A 1-NN on scaled features finds the member itself only with its true sex.
    assert result.members.advantage_ci[0] > 0
    assert result.verdict.startswith("leaks")
    json.loads(result.to_json())


def validate_glucose(X: np.ndarray) -> None:
    if X.ndim != 2 or X.shape[1] != 10:
        raise ValueError("expected shape (n_samples, 10)")


@pytest.mark.slow
def test_glucose_served_over_http_gives_the_in_process_result(tmp_path):
    (Xa, ya), (Xm, ym), _ = glucose_split()
    model = anon.WrappedAnonymizer(
        memorising_regressor(),
        serializer=anon.pickle_anonymizer,
        feature_array_validator=validate_glucose,
    )
    model.fit(Xm, ym)
    local = attribute_inference(model.predict, Xa, ya, Xm, ym, 8, n_bootstrap=200)
    with served(model, tmp_path) as url:
        remote = attribute_inference(
            f"{url}/predict", Xa, ya, Xm, ym, 8, n_bootstrap=200
        )
    assert remote.attribute_task == "continuous"  # BMI
    assert remote.members.attack == pytest.approx(local.members.attack)
    assert remote.members.advantage_ci == pytest.approx(local.members.advantage_ci)
    # ART's row, a regression attack model on 12 outputs: the same over HTTP
    assert remote.art.members.attack == pytest.approx(local.art.members.attack)
    assert remote.art.members.baseline == pytest.approx(local.members.baseline)


def test_a_classifier_that_memorises_beats_imputation():
    rng = np.random.default_rng(4)

    def labelled(n: int) -> tuple[np.ndarray, np.ndarray]:
        X, y = secret_data(n, rng)
        return X, (y > 0.25).astype(np.int64)

    (Xa, ya), (Xm, ym), (Xh, yh) = labelled(300), labelled(300), labelled(300)
    model = DecisionTreeClassifier(random_state=0).fit(Xm, ym)
    result = attribute_inference(
        model.predict, Xa, ya, Xm, ym, SENSITIVE, X_heldout=Xh, y_heldout=yh
    )
    assert result.target_task == "classification"
    assert result.attribute_task == "categorical"
    assert 0 < result.members.uninformative < 1
    assert result.members.advantage_ci[0] > 0
    assert result.non_members.advantage < result.members.advantage
    # the same labels as strings: the baseline encodes them itself
    named = np.array(["low", "high"])
    strings = attribute_inference(
        lambda X: named[model.predict(X)],
        Xa,
        named[ya],
        Xm,
        named[ym],
        SENSITIVE,
    )
    assert strings.members.attack == pytest.approx(result.members.attack)


def strongly_predictive(n: int, rng: np.random.Generator):
    """A binary secret (column 4) that drives ``y``: a model that memorises
    its training rows answers with the secret's mark on them."""
    X = rng.normal(size=(n, 4))
    s = rng.integers(0, 2, n).astype(np.float64)
    y = X[:, 0] + 3.0 * s + rng.normal(0, 0.5, n)
    return np.column_stack([X, s]), y


def _check_row(outcome, metric: str) -> None:
    for split in (outcome.members, outcome.non_members):
        assert split.n == 150
        if metric == "accuracy":
            assert 0 <= split.attack_ci[0] <= split.attack <= split.attack_ci[1] <= 1
            assert -1 <= split.advantage_ci[0] <= split.advantage_ci[1] <= 1
        else:
            assert 0 <= split.attack_ci[0] <= split.attack <= split.attack_ci[1]
        assert split.advantage_ci[0] <= split.advantage <= split.advantage_ci[1]
        assert split.uninformative == 0.0


def test_art_row_for_a_regressor_beats_chance_on_a_memorised_secret():
    rng = np.random.default_rng(7)
    (Xa, ya), (Xm, ym), (Xh, yh) = (strongly_predictive(150, rng) for _ in range(3))
    model = KNeighborsRegressor(n_neighbors=1).fit(Xm, ym)
    result = attribute_inference(
        model.predict, Xa, ya, Xm, ym, SENSITIVE, X_heldout=Xh, y_heldout=yh
    )
    art = result.art
    assert art is not None and art.attack == "ART AttributeInferenceBlackBox"
    assert art.attack_model == "rf"
    _check_row(art, "accuracy")
    # Chance is about 0.5 for a balanced binary secret: ART guesses it.
    assert art.members.attack_ci[0] > 0.6
    # The same baseline and the same rows as the candidate-value attack.
    assert art.members.baseline == result.members.baseline
    assert art.members.advantage == pytest.approx(
        art.members.attack - art.members.baseline
    )
    assert "n=150" in art.verdict
    document = json.loads(result.to_json())
    assert document["art"]["members"]["n"] == 150
    assert document["art"]["verdict"] == art.verdict


def test_art_row_without_the_model_signal_is_no_better_than_chance():
    # The secret does not reach the model's answer nor y: ART's guess of it
    # is a coin toss, and its interval says so.
    rng = np.random.default_rng(8)
    (Xa, ya), (Xm, ym), (Xh, yh) = (secret_data(150, rng) for _ in range(3))
    ya, ym, yh = Xa[:, 0], Xm[:, 0], Xh[:, 0]  # y ignores the secret
    model = KNeighborsRegressor(n_neighbors=1).fit(Xm[:, :1], ym)
    result = attribute_inference(
        lambda X: model.predict(X[:, :1]),
        Xa,
        ya,
        Xm,
        ym,
        SENSITIVE,
        X_heldout=Xh,
        y_heldout=yh,
    )
    low, high = result.art.members.attack_ci
    assert low < 0.5 + 0.05 and high > 0.5 - 0.05
    assert not result.art.verdict.startswith("leaks")


def test_art_row_for_a_classifier_and_a_continuous_secret():
    rng = np.random.default_rng(9)

    def labelled(n: int):
        X, y = strongly_predictive(n, rng)
        return X, np.where(y > 1.5, "high", "low")

    (Xa, ya), (Xm, ym), (Xh, yh) = labelled(150), labelled(150), labelled(150)
    tree = DecisionTreeClassifier(random_state=0).fit(Xm, ym)
    result = attribute_inference(
        tree.predict, Xa, ya, Xm, ym, SENSITIVE, X_heldout=Xh, y_heldout=yh
    )
    assert result.target_task == "classification"
    _check_row(result.art, "accuracy")
    assert result.art.members.attack_ci[0] > 0.6  # chance is about 0.5
    # A continuous secret (column 0): ART's regression attack model, MAE.
    result = attribute_inference(
        tree.predict, Xa, ya, Xm, ym, 0, X_heldout=Xh, y_heldout=yh
    )
    assert result.attribute_task == "continuous" and result.metric == "mae"
    _check_row(result.art, "mae")
    assert result.art.members.advantage == pytest.approx(
        result.art.members.baseline - result.art.members.attack
    )


def test_art_can_be_left_out_and_a_bad_attack_model_is_named():
    rng = np.random.default_rng(0)
    X, y = secret_data(40, rng)
    result = attribute_inference(
        lambda X: X[:, 0], X, y, X, y, SENSITIVE, art_attack_model=None
    )
    assert result.art is None
    assert json.loads(result.to_json())["art"] is None
    with pytest.raises(ValueError, match="art_attack_model must be one of rf"):
        attribute_inference(
            lambda X: X[:, 0], X, y, X, y, SENSITIVE, art_attack_model="forest"
        )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"sensitive": 5}, "sensitive=5 is out of range: X has 5 columns"),
        ({"sensitive": -1}, "sensitive=-1 is out of range"),
        ({"sensitive": 1.0}, "sensitive must be a column index"),
        ({"y_target": np.zeros(7)}, "X_target has 10 rows but y_target has 7"),
        ({"y_aux": np.zeros(3)}, "X_aux has 10 rows but y_aux has 3"),
        ({"X_target": np.zeros((10, 4))}, "X_target has 4 columns but X_aux has 5"),
        ({"X_heldout": np.zeros((10, 5))}, "give both X_heldout and y_heldout"),
        ({"task_of_attribute": "binary"}, "task_of_attribute must be one of"),
        ({"n_bootstrap": 10}, "n_bootstrap must be at least 100"),
        ({"predict": 3}, "predict must be a function"),
    ],
)
def test_bad_input_names_the_problem(change, message):
    rng = np.random.default_rng(0)
    X, y = secret_data(10, rng)
    arguments = {
        "predict": lambda X: X[:, 0],
        "X_aux": X,
        "y_aux": y,
        "X_target": X,
        "y_target": y,
        "sensitive": SENSITIVE,
    }
    arguments.update(change)
    with pytest.raises(ValueError, match=message):
        attribute_inference(**arguments)


def test_a_constant_sensitive_column_has_nothing_to_infer():
    X, y = secret_data(10, np.random.default_rng(0))
    X[:, SENSITIVE] = 1.0
    with pytest.raises(ValueError, match="single value"):
        attribute_inference(lambda X: X[:, 0], X, y, X, y, SENSITIVE)


def test_a_predict_answering_the_wrong_number_of_rows_is_refused():
    X, y = secret_data(30, np.random.default_rng(0))
    with pytest.raises(ValueError, match="one prediction per row"):
        attribute_inference(lambda X: X[:5, 0], X, y, X, y, SENSITIVE)


def test_a_classifier_answering_columns_is_refused():
    X, y = secret_data(30, np.random.default_rng(0))
    labels = (y > 0).astype(np.int64)
    with pytest.raises(ValueError, match="one label per row"):
        attribute_inference(
            lambda X: np.zeros((len(X), 2), dtype=np.int64),
            X,
            labels,
            X,
            labels,
            SENSITIVE,
        )


def test_few_rows_give_no_verdict_beyond_the_data():
    rng = np.random.default_rng(3)
    Xa, ya = secret_data(100, rng)
    Xm, ym = secret_data(8, rng)
    model = KNeighborsRegressor(n_neighbors=1).fit(Xm, ym)
    result = attribute_inference(model.predict, Xa, ya, Xm, ym, SENSITIVE)
    assert result.verdict.startswith("too few member rows to tell")
    assert "n=8" in result.verdict


GLUCOSE_APP = """
from sklearn.linear_model import LinearRegression
from sklearn.neighbors import KNeighborsRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import anomed_anonymizer as anon

memorising = anon.WrappedAnonymizer(
    make_pipeline(StandardScaler(), KNeighborsRegressor(n_neighbors=1)),
    serializer=anon.pickle_anonymizer,
)
"""


@pytest.mark.slow  # two console-script runs of the audit (~25 s)
def test_cli_audit_attribute_prints_a_table_and_writes_the_json(tmp_path):
    (tmp_path / "app.py").write_text(GLUCOSE_APP)
    X, y, _ = glucose_curves(n_people=60, meals_per_person=4, seed=5)
    np.savez(tmp_path / "data.npz", X=X, y=y)
    command = [
        "audit",
        "app:memorising",
        f"--chdir={tmp_path}",
        f"--dataset={tmp_path / 'data.npz'}",
        "--reference-models=0",
        "--one-run-canaries=0",
    ]
    result = _cli(*command, "--attribute=6", f"--json={tmp_path / 'audit.json'}")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Attribute inference on column 6 (categorical, accuracy" in (
        result.stdout + result.stderr
    )
    assert "members " in (result.stdout + result.stderr) and "held out" in (
        result.stdout + result.stderr
    )
    assert "attack: ART AttributeInferenceBlackBox (rf)" in result.stdout
    report = json.loads((tmp_path / "audit.json").read_text())
    attribute = report["attribute_inference"]
    assert attribute["sensitive"] == 6
    assert attribute["members"]["n"] == report["n_members"]
    assert attribute["n_aux"] + attribute["non_members"]["n"] == report["n_non_members"]
    assert f"n={report['n_members']}" in attribute["verdict"]
    art = attribute["art"]
    assert art["members"]["n"] == report["n_members"]
    assert art["members"]["baseline"] == attribute["members"]["baseline"]
    assert 0 <= art["members"]["attack"] <= 1
    assert report["attacks"]  # the membership report is still all there
    result = _cli(*command, "--attribute=10")
    assert result.returncode == 1
    assert "sensitive=10 is out of range: X has 10 columns" in (
        result.stdout + result.stderr
    )


def _cli(*args: str):
    """The console script as a user runs it (a process: the audit configures
    logging and threads, which an in-process runner's streams do not survive)."""
    import subprocess
    import sys
    from pathlib import Path

    script = Path(sys.executable).with_name("anomed-anonymizer")
    return subprocess.run(
        [str(script), *args], capture_output=True, text=True, timeout=600
    )
