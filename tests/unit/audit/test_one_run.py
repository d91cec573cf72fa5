"""One-run DP audit (Steinke, Nasr & Jagielski 2023): the bound, its validity
in simulation, and audits of a memorizing model and of DP models."""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pytest
from scipy import special, stats

import anomed_anonymizer as anon
from anomed_anonymizer.audit import (
    OneRunAudit,
    OneRunResult,
    epsilon_lower_bound,
    one_run_p_value,
)
from anomed_anonymizer.audit.one_run import DEFAULT_GUESSES

from .conftest import dp_naive_bayes, one_nearest_neighbour


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    # Tiny networks train fastest on one thread, and CI's two cores are shared.
    try:
        import torch
    except ImportError:  # the torch tests skip themselves
        yield
        return
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def digits():
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    return X.astype(np.float64), y


# -- the bound ---------------------------------------------------------------


@pytest.mark.parametrize(("m", "r", "v"), [(100, 40, 30), (1000, 200, 150)])
@pytest.mark.parametrize("epsilon", [0.0, 0.5, 2.0])
def test_the_pure_dp_p_value_is_the_binomial_tail(m, r, v, epsilon):
    expected = stats.binom.sf(v - 1, r, special.expit(epsilon))
    assert one_run_p_value(m, r, v, epsilon, 0.0) == pytest.approx(expected)


@pytest.mark.parametrize("r", [10, 100, 1000])
@pytest.mark.parametrize("confidence", [0.9, 0.95, 0.99])
def test_all_guesses_right_gives_the_closed_form(r, confidence):
    # P[Binomial(r, q) >= r] = q^r = 1 - confidence
    q = (1 - confidence) ** (1 / r)
    bound = epsilon_lower_bound(r, r, r, 0.0, confidence)
    assert bound == pytest.approx(math.log(q / (1 - q)), abs=1e-5)


def test_the_bound_solves_for_the_level():
    bound = epsilon_lower_bound(1000, 300, 240, 1e-5, 0.95)
    assert one_run_p_value(1000, 300, 240, bound, 1e-5) <= 0.05
    assert one_run_p_value(1000, 300, 240, bound + 1e-5, 1e-5) > 0.05


def test_more_right_guesses_give_a_larger_bound():
    bounds = [epsilon_lower_bound(1000, 200, v, 1e-5) for v in range(100, 201, 10)]
    assert bounds[0] == 0.0
    assert all(a <= b for a, b in itertools.pairwise(bounds))
    assert bounds[-1] > bounds[-2] > 0


def test_a_larger_delta_or_confidence_gives_a_smaller_bound():
    by_delta = [epsilon_lower_bound(1000, 200, 190, d) for d in (0, 1e-6, 1e-4, 1e-3)]
    assert all(a > b for a, b in itertools.pairwise(by_delta))
    by_level = [epsilon_lower_bound(1000, 200, 190, 0, c) for c in (0.9, 0.95, 0.99)]
    assert all(a > b for a, b in itertools.pairwise(by_level))


@pytest.mark.parametrize(("r", "v"), [(100, 0), (100, 50), (100, 55), (0, 0)])
def test_chance_level_or_worse_gives_zero(r, v):
    assert epsilon_lower_bound(1000, r, v, 1e-5) == 0.0


def test_a_delta_too_large_for_the_guesses_certifies_nothing():
    # 2 m delta / r above the level: even r right out of r refutes nothing.
    assert epsilon_lower_bound(1000, 100, 100, 1e-2) == 0.0


def test_the_p_value_grows_with_epsilon_and_falls_with_v():
    # What the bisection relies on.
    epsilons = np.linspace(0, 6, 61)
    for m, r, delta in [(200, 100, 1e-4), (1000, 500, 1e-5), (1000, 40, 1e-3)]:
        for v in (r // 2, 3 * r // 4, r):
            values = [one_run_p_value(m, r, v, e, delta) for e in epsilons]
            assert np.all(np.diff(values) >= -1e-12)
        for e in (0.0, 1.0, 3.0):
            values = [one_run_p_value(m, r, v, e, delta) for v in range(r + 1)]
            assert np.all(np.diff(values) <= 1e-12)


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        ((10, 5, 6, 1.0, 0.0), "0 <= v <= r <= m"),
        ((10, 11, 5, 1.0, 0.0), "0 <= v <= r <= m"),
        ((10, 5, 2.5, 1.0, 0.0), "v must be a whole number"),
        ((10, 5, 3, -1.0, 0.0), "epsilon must be a non-negative"),
        ((10, 5, 3, 1.0, 2.0), "delta must lie in"),
    ],
)
def test_the_p_value_refuses_bad_arguments(args, fragment):
    with pytest.raises(ValueError, match=fragment):
        one_run_p_value(*args)


# -- validity in simulation: no training -------------------------------------


def randomized_response(rng, included, epsilon):
    """An epsilon-DP release of each inclusion bit: the auditor's best view."""
    keep = rng.random(len(included)) < special.expit(epsilon)
    return np.where(keep, included, ~included).astype(np.float64)


@pytest.mark.slow
def test_a_mechanism_that_ignores_the_data_is_rarely_refuted():
    # Scores independent of the inclusion: every positive bound is a false
    # alarm, which must happen in at most 5 % of the runs (plus slack).
    rng = np.random.default_rng(2023)
    audit = OneRunAudit(seed=0)
    runs = 200
    alarms = 0
    for _ in range(runs):
        included = rng.random(500) < 0.5
        alarms += audit.evaluate(rng.random(500), included).epsilon_lower_bound > 0
    assert alarms <= 0.05 * runs + 3 * math.sqrt(0.05 * 0.95 * runs)


def test_one_rule_alone_is_refuted_at_epsilon_zero_in_at_most_five_percent():
    # Without Bonferroni's slack: the level is met by the test itself.
    rng = np.random.default_rng(7)
    runs, m = 400, 400
    audit = OneRunAudit(guesses=[(100, 100)], seed=1)
    alarms = sum(
        audit.evaluate(rng.random(m), rng.random(m) < 0.5).epsilon_lower_bound > 0
        for _ in range(runs)
    )
    assert alarms <= 0.05 * runs + 3 * math.sqrt(0.05 * 0.95 * runs)


def test_randomized_response_is_bounded_below_its_epsilon_yet_not_far():
    # Randomized response with epsilon = 1 on every canary is exactly 1-DP:
    # the audited epsilon exceeds 1 in at most 5 % of the runs, and it is
    # the mechanism the audit is tight for, so it comes close.
    rng = np.random.default_rng(11)
    audit = OneRunAudit(guesses=[(500, 500)], seed=2)
    bounds = []
    for _ in range(200):
        included = rng.random(1000) < 0.5
        scores = randomized_response(rng, included, 1.0)
        bounds.append(audit.evaluate(scores, included).epsilon_lower_bound)
    bounds = np.array(bounds)
    assert np.mean(bounds > 1.0) <= 0.05 + 3 * math.sqrt(0.05 * 0.95 / 200)
    assert np.median(bounds) > 0.6


# -- the audit's bookkeeping -------------------------------------------------


def test_canaries_are_mislabelled_and_included_by_fair_coins(digits):
    X, y = digits
    canaries = OneRunAudit(canaries=800, seed=5).make_canaries(X, y)
    assert canaries.m == 800
    assert (canaries.y_canaries != y[canaries.rows]).all()
    assert np.array_equal(canaries.X_canaries, X[canaries.rows])
    assert abs(canaries.included.mean() - 0.5) < 0.06
    assert len(canaries.X_train) == len(X) - 800 + canaries.included.sum()
    # The training data: every row but the canaries', and the included ones.
    trained = set(
        zip((row.tobytes() for row in canaries.X_train), canaries.y_train, strict=True)
    )
    for row, label, used in zip(
        canaries.X_canaries, canaries.y_canaries, canaries.included, strict=True
    ):
        assert ((row.tobytes(), label) in trained) == used


def test_the_seed_repeats_the_canaries_and_none_draws_fresh_ones(digits):
    X, y = digits
    first = OneRunAudit(seed=3).make_canaries(X, y)
    again = OneRunAudit(seed=3).make_canaries(X, y)
    assert np.array_equal(first.included, again.included)
    assert np.array_equal(first.y_canaries, again.y_canaries)
    fresh = [OneRunAudit().make_canaries(X, y) for _ in range(2)]
    assert fresh[0].seed != fresh[1].seed
    assert not np.array_equal(fresh[0].included, fresh[1].included)


def test_the_default_takes_1000_canaries_or_half_the_rows(digits):
    X, y = digits
    assert OneRunAudit(seed=0).make_canaries(X, y).m == len(X) // 2
    assert OneRunAudit(seed=0).make_canaries(np.tile(X, (2, 1)), np.tile(y, 2)).m == (
        1000
    )


def test_every_rule_is_reported_and_the_best_one_is_the_result():
    rng = np.random.default_rng(0)
    included = rng.random(1000) < 0.5
    scores = randomized_response(rng, included, 3.0)
    result = OneRunAudit(seed=0).evaluate(scores, included)
    assert len(result.outcomes) == len(DEFAULT_GUESSES)
    best = max(result.outcomes, key=lambda o: o.epsilon_lower_bound)
    assert result.epsilon_lower_bound == best.epsilon_lower_bound > 1
    assert (result.k_plus, result.k_minus, result.r, result.v) == (
        best.k_plus,
        best.k_minus,
        best.r,
        best.v,
    )
    # Each rule at 0.05 / 7: its bound is the plain bound at that level.
    level = 1 - 0.05 / len(DEFAULT_GUESSES)
    assert best.epsilon_lower_bound == pytest.approx(
        epsilon_lower_bound(1000, best.r, best.v, 0.0, level)
    )
    assert result.max_certifiable_epsilon == pytest.approx(
        max(epsilon_lower_bound(1000, o.r, o.r, 0.0, level) for o in result.outcomes)
    )
    assert result.max_certifiable_epsilon >= result.epsilon_lower_bound


def test_rules_take_counts_or_fractions():
    included = np.arange(100) % 2 == 0
    result = OneRunAudit(guesses=[(10, 5), (0.2, 0.0)], seed=0).evaluate(
        included * 1.0, included
    )
    assert [(o.k_plus, o.k_minus) for o in result.outcomes] == [(10, 5), (20, 0)]
    assert all(o.v == o.r for o in result.outcomes)


def test_equal_scores_are_guessed_in_an_order_that_ignores_the_inclusion():
    # Label-only scores tie: the rule must not pick the included ones first
    # among equals (e.g. by position).
    included = np.arange(1000) < 500
    result = OneRunAudit(guesses=[(200, 0)], seed=4).evaluate(np.zeros(1000), included)
    assert 70 < result.v < 130


def test_the_result_is_json_with_a_one_line_summary():
    included = np.arange(400) % 2 == 0
    result = OneRunAudit(seed=0).evaluate(
        included * 1.0,
        included,
        claimed_epsilon=1.0,
        claimed_delta=1e-5,
        mechanism="DP-SGD (Opacus)",
        target="mlp",
    )
    assert isinstance(result, OneRunResult)
    assert result.delta == 1e-5  # the claim's delta, as none was given
    assert result.contradicted is True
    document = json.loads(json.dumps(result.to_dict()))
    assert document["epsilon_lower_bound"] == result.epsilon_lower_bound
    assert document["contradicted"] is True
    assert document["claimed_epsilon"] == 1.0
    assert len(document["outcomes"]) == len(DEFAULT_GUESSES)
    summary = result.summary()
    assert "\n" not in summary
    assert summary.startswith("mlp: audited epsilon >= ")
    assert "claimed epsilon 1.00" in summary and "CONTRADICTED" in summary
    assert "can certify at most" in summary


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"confidence": 1.0}, "confidence must be a number in (0, 1)"),
        ({"scoring": "loss"}, "scoring must be one of"),
        ({"delta": 1.5}, "delta must lie in [0, 1)"),
        ({"canaries": 0}, "canaries must be a positive integer"),
        ({"canaries": 1795}, "cannot hold 1795 canaries"),
        ({"guesses": [(0.6, 0.6)]}, "makes 1076 guesses for 898 canaries"),
        ({"guesses": [(1.5, 0)]}, "must lie in [0, 1]"),
        ({"guesses": [(0, 0)]}, "no guessing rule makes a guess"),
        ({"seed": 1.5}, "seed must be an integer"),
    ],
)
def test_bad_settings_are_refused_naming_them(digits, kwargs, fragment):
    with pytest.raises(ValueError) as error:
        OneRunAudit(**kwargs).run(one_nearest_neighbour(), *digits)
    assert fragment in str(error.value)


def test_one_class_data_cannot_hold_mislabelled_canaries():
    with pytest.raises(ValueError, match="at least two classes"):
        OneRunAudit().make_canaries(np.zeros((50, 2)), np.zeros(50, dtype=int))


# -- audits of trained models ------------------------------------------------


def test_a_memorizing_model_is_audited_well_above_one(digits):
    audit = OneRunAudit(seed=0)
    result = audit.run(one_nearest_neighbour(), *digits, name="1-NN")
    assert result.claimed_epsilon is None and result.contradicted is None
    assert result.epsilon_lower_bound > 2.5
    assert result.scoring == "probability"
    assert result.m == len(digits[0]) // 2
    assert result.details["training_rows"] == len(audit.canaries_.X_train)


def test_label_only_scoring_audits_the_memorizing_model_too(digits):
    result = OneRunAudit(scoring="label", seed=0).run(one_nearest_neighbour(), *digits)
    assert result.scoring == "label"
    assert result.epsilon_lower_bound > 2.5


@pytest.mark.slow
def test_a_non_private_mlp_is_audited_well_above_one(digits):
    torch = pytest.importorskip("torch", reason="install the 'torch' extra")
    X, y = digits
    model = anon.TorchWrapper(
        mlp(torch, 256),
        optimizer=lambda params: torch.optim.Adam(params, lr=3e-3),
        epochs=60,
        batch_size=64,
        seed=None,
    )
    result = OneRunAudit().run(model, X / 16.0, y, name="MLP")
    assert result.claimed_epsilon is None
    assert result.epsilon_lower_bound > 1.5


@pytest.mark.slow
def test_dp_sgd_at_epsilon_one_is_not_audited_above_its_claim(digits):
    # Fresh noise (noise_seed=None; seed=None draws fresh initial weights).
    torch = pytest.importorskip("torch", reason="install the 'torch' extra")
    pytest.importorskip("opacus", reason="install the 'torch' extra")
    X, y = digits
    model = anon.TorchWrapper(
        mlp(torch, 64),
        optimizer=lambda params: torch.optim.SGD(params, lr=0.2, momentum=0.9),
        epochs=15,
        batch_size=128,
        dp=anon.DPSGD(epsilon=1.0, delta=1e-5),
        seed=None,
    )
    result = OneRunAudit().run(model, X / 16.0, y, name="DP-SGD")
    assert result.claimed_epsilon == pytest.approx(1.0, abs=0.05)
    assert result.delta == result.claimed_delta == 1e-5
    assert result.epsilon_lower_bound <= result.claimed_epsilon
    assert result.contradicted is False
    assert result.void_reasons == ()
    # The audit could have certified far more than the claim: the low figure
    # is evidence, not the audit's limit.
    assert result.max_certifiable_epsilon > 4


def test_a_diffprivlib_model_is_not_audited_above_its_claim(digits):
    audit = OneRunAudit()
    result = audit.run(dp_naive_bayes(1.0), *digits, name="DP naive Bayes")
    assert result.claimed_epsilon == 1.0 and result.claimed_delta == 0.0
    assert result.epsilon_lower_bound <= 1.0
    assert result.contradicted is False
    # The audit fits its copy as given: diffprivlib keeps drawing OS entropy.
    assert audit.target_.wrapped.random_state is None
    assert result.void_reasons == ()


def mlp(torch, width: int):
    nn = torch.nn

    def make(n_features: int, n_classes: int):
        return nn.Sequential(
            nn.Linear(n_features, width), nn.ReLU(), nn.Linear(width, n_classes)
        )

    return make
