"""LiRA's Gaussians: a variance per sample where the samples differ, pooled
where they do not, and no artefact from a model's certain 0 and 1."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from scipy.special import expit

from anomed_anonymizer.audit.metrics import evaluate_scores, tpr_at_fpr
from anomed_anonymizer.audit.reference import membership_design
from anomed_anonymizer.audit.score_based import (
    lira_attack,
    lira_scores,
    logit_confidence,
    resolution_clip,
)


def simulated(
    spread: float,
    *,
    n: int = 4000,
    models: int = 16,
    seed: int = 0,
    center: float = 0.0,
    steps: int | None = None,
):
    """Reference and target probabilities of a model whose logit confidence
    on sample ``i`` is Gaussian with spread ``sigma_i`` (log-normal across
    samples, ``spread`` its log's standard deviation), four ``sigma_i``
    higher for members. Even samples are the target's members; ``steps``
    rounds the probabilities to multiples of ``1 / steps``, as a forest of
    that many trees gives them."""
    rng = np.random.default_rng(seed)
    design = membership_design(n, models, seed)
    mean = rng.normal(center, 2.0, n)
    sigma = np.exp(rng.normal(np.log(0.3), spread, n))
    shifted = mean + 4.0 * sigma
    reference = np.where(design, shifted, mean)
    reference = reference + sigma * rng.standard_normal((models, n))
    member = np.arange(n) % 2 == 0
    target = np.where(member, shifted, mean) + sigma * rng.standard_normal(n)
    target, reference = expit(target), expit(reference)
    if steps:
        target = np.round(target * steps) / steps
        reference = np.round(reference * steps) / steps
    return target, reference, design, member


def pooled_lira(target, reference, design, online):
    """LiRA with one variance for all samples (the paper's advice for few
    reference models, and what the audit did below 64)."""
    observed, values = logit_confidence(target), logit_confidence(reference)

    def fit(mask):
        count = mask.sum(axis=0)
        mean = np.where(mask, values, 0.0).sum(axis=0) / count
        squares = np.where(mask, (values - mean) ** 2, 0.0).sum()
        return mean, np.sqrt(squares / (count - 1).sum())

    mean_out, std_out = fit(~design)
    if not online:
        return (observed - mean_out) / std_out
    mean_in, std_in = fit(design)
    return stats.norm.logpdf(observed, mean_in, std_in) - stats.norm.logpdf(
        observed, mean_out, std_out
    )


def low_fpr_tpr(scores, member, level=0.001):
    return float(tpr_at_fpr(scores[member], scores[~member], level))


@pytest.mark.parametrize("online", [False, True])
def test_samples_whose_spreads_differ_keep_their_own_variance(online):
    """Spreads that differ by a factor of e between typical samples: a
    pooled variance is too wide for most samples and too narrow for the
    widest, whose non-members then take the top scores, and the TPR at
    0.1 % FPR collapses (0.1 offline); per-sample variances keep it."""
    target, reference, design, member = simulated(spread=1.0)
    scores, details = lira_attack(target, reference, design, online)
    pooled = pooled_lira(target, reference, design, online)
    ours, theirs = low_fpr_tpr(scores, member), low_fpr_tpr(pooled, member)
    assert ours > 0.3, (ours, theirs)
    assert ours > 1.4 * theirs, (ours, theirs)
    assert details["lira_variance"] == "moderated"
    # Spreads this different: mostly each sample's own variance.
    assert all(w < 0.3 for w in details["variance_prior_weight"].values())


@pytest.mark.parametrize("online", [False, True])
def test_samples_with_one_spread_are_pooled(online):
    """Where every sample has the same spread, the moderated variance is the
    pooled one (up to the prior's estimation noise), and so is the attack."""
    target, reference, design, member = simulated(spread=0.0)
    scores, details = lira_attack(target, reference, design, online)
    pooled = pooled_lira(target, reference, design, online)
    assert all(w > 0.95 for w in details["variance_prior_weight"].values())
    assert low_fpr_tpr(scores, member) == pytest.approx(
        low_fpr_tpr(pooled, member), abs=0.03
    )
    assert np.corrcoef(scores, pooled)[0, 1] > 0.999


def test_too_few_models_for_a_per_sample_variance_pool():
    target, reference, design, _ = simulated(spread=1.0, n=200, models=2)
    _, details = lira_attack(target, reference, design, online=True)
    assert details["lira_variance"] == "pooled"
    assert details["variance_prior_weight"] == {"out": 1.0, "in": 1.0}


def test_probabilities_in_steps_are_clipped_at_half_a_step():
    """A 50-tree forest says 1 for everything above 0.99: clipped at 1e-12
    those samples sit 23 logits above 0.98, and the Gaussians fitted to
    that gap cost the online attack its low-FPR power."""
    target, reference, design, member = simulated(
        spread=0.5, center=2.0, steps=50, seed=1
    )
    assert (target == 1.0).mean() > 0.1  # many certain answers
    assert resolution_clip(target, reference) == pytest.approx(0.01)
    assert logit_confidence(np.array([1.0]), 0.01)[0] == pytest.approx(np.log(99))
    stepped, details = lira_attack(target, reference, design, online=True)
    clipped, _ = lira_attack(target, reference, design, online=True, clip=1e-12)
    assert details["logit_clip"] == pytest.approx(0.01)
    ours = evaluate_scores(stepped[member], stepped[~member], n_bootstrap=50)
    theirs = evaluate_scores(clipped[member], clipped[~member], n_bootstrap=50)
    assert ours.auc > theirs.auc + 0.01, (ours.auc, theirs.auc)
    assert ours.tpr_at_fpr[0.01] > theirs.tpr_at_fpr[0.01] + 0.1


def test_probabilities_strictly_inside_zero_and_one_never_move():
    target, reference, design, _ = simulated(spread=0.5)
    assert target.min() > 0 and reference.max() < 1
    clip = resolution_clip(target, reference)
    inner = np.concatenate((target, reference.ravel()))
    assert clip < np.minimum(inner, 1 - inner).min()
    for online in (False, True):
        scores, details = lira_attack(target, reference, design, online)
        assert details["logit_clip"] == clip
        np.testing.assert_array_equal(
            scores, lira_attack(target, reference, design, online, clip=1e-12)[0]
        )
        np.testing.assert_array_equal(
            scores, lira_scores(target, reference, design, online)
        )


def test_zero_variances_are_moderated_not_floored():
    """Where every OUT model is certain of a sample (a forest is, of easy
    ones), its own variance is 0: the prior lifts it, instead of a 1e-6
    floor that would make any target value but the models' own an extreme
    score. With 64 models, where the audit used each sample's own variance."""
    target, reference, design, _ = simulated(spread=0.5, n=400, models=64)
    reference[:, :10] = 0.9  # every model agrees on the first ten samples
    scores, _ = lira_attack(target, reference, design, online=False)
    typical = np.median(np.abs(scores[10:]))
    assert np.abs(scores[:10]).max() < 100 * typical


def _forest_or_mlp(kind: str):
    from sklearn.datasets import make_classification
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.neural_network import MLPClassifier

    import anomed_anonymizer as anon

    X, y = make_classification(
        n_samples=2400 if kind == "forest" else 2000,
        n_features=20,
        n_informative=8,
        n_classes=4,
        n_clusters_per_class=2,
        flip_y=0.1,
        random_state=0,
    )
    if kind == "forest":
        model = RandomForestClassifier(n_estimators=50)
    else:
        X = (X - X.mean(axis=0)) / X.std(axis=0)
        model = MLPClassifier(hidden_layer_sizes=(64,), alpha=0.0, max_iter=200)
    return anon.WrappedAnonymizer(model, serializer=anon.pickle_anonymizer), X, y


def _signals(kind: str):
    """Target and 16 reference signals as :class:`MembershipAudit` gets them."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    from anomed_anonymizer.audit.reference import train_reference_models
    from anomed_anonymizer.audit.splits import member_split
    from anomed_anonymizer.audit.targets import fit_copy, true_label_probability

    anonymizer, X, y = _forest_or_mlp(kind)
    members, non_members = member_split(y, 0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        target_model = fit_copy(anonymizer, X[members], y[members], 0)
        design = membership_design(len(X), 16, 0)
        reference = train_reference_models(anonymizer, X, y, design, n_jobs=1, seed=1)
    member = np.zeros(len(X), bool)
    member[members] = True
    keep = np.zeros(len(X), bool)
    keep[members] = keep[non_members] = True
    target = true_label_probability(target_model, X, y)
    return target, reference, design, member, keep


@pytest.mark.slow
@pytest.mark.parametrize("online", [False, True])
def test_a_random_forest_is_found_at_low_fpr(online):
    """16 reference models of a 50-tree forest: the pooled variance reached
    a TPR of 0.01 at 0.1 % FPR (1200 non-members), per-sample ones 0.78."""
    target, reference, design, member, keep = _signals("forest")
    scores, details = lira_attack(target, reference, design, online)
    m, n = scores[keep & member], scores[keep & ~member]
    assert len(n) >= 1000  # 0.1 % resolvable
    metrics = evaluate_scores(m, n, n_bootstrap=100)
    assert metrics.tpr_at_fpr[0.001] > 0.5, metrics.tpr_at_fpr
    pooled = pooled_lira(target, reference, design, online)
    assert float(tpr_at_fpr(pooled[keep & member], pooled[keep & ~member], 0.001)) < 0.1
    assert details["lira_variance"] == "moderated"
    assert details["logit_clip"] == pytest.approx(0.01)  # 50 trees: steps of 1/50


@pytest.mark.slow
def test_an_mlp_is_attacked_no_worse_than_with_pooled_variances():
    target, reference, design, member, keep = _signals("mlp")
    for online in (False, True):
        scores = lira_scores(target, reference, design, online)
        pooled = pooled_lira(target, reference, design, online)
        ours = evaluate_scores(scores[keep & member], scores[keep & ~member])
        theirs = evaluate_scores(pooled[keep & member], pooled[keep & ~member])
        assert ours.auc > 0.65, online  # the MLP memorizes
        assert ours.auc >= theirs.auc - 0.01, (online, ours.auc, theirs.auc)


def test_the_summary_says_how_lira_fitted_its_gaussians():
    from anomed_anonymizer.audit.report import AttackResult, AuditReport

    target, reference, design, member = simulated(spread=1.0, n=400)
    results = []
    for online in (False, True):
        scores, details = lira_attack(target, reference, design, online)
        metrics = evaluate_scores(scores[member], scores[~member], n_bootstrap=50)
        results.append(
            AttackResult(
                f"LiRA ({online})",
                "scores",
                metrics,
                scores[member],
                scores[~member],
                details,
            )
        )
    markdown = AuditReport(200, 200, results, "x").to_markdown()
    weights = results[1].details["variance_prior_weight"]
    assert (
        f"the prior's weight: OUT {weights['out']:.2f}, IN {weights['in']:.2f}"
        in markdown
    )
    assert f"clipped at {results[1].details['logit_clip']:.3g}" in markdown


def test_variances_barely_more_spread_than_chance_are_pooled_without_error():
    """Log variances whose spread exceeds what chance explains by 1e-12: the
    prior's degrees of freedom would be about 1e12, beyond what the root
    finder brackets; that is pooling."""
    from scipy import special

    from anomed_anonymizer.audit.score_based import _variance_prior

    n, df = 1000, np.full(1000, 7)
    spread = np.sqrt((special.polygamma(1, 3.5) + 1e-12) * (n - 1) / n)
    e = np.where(np.arange(n) % 2 == 0, spread, -spread)
    variance = np.exp(e + special.digamma(3.5) - np.log(3.5))
    d0, scale = _variance_prior(variance, df)
    assert d0 == np.inf
    assert scale == pytest.approx(1.0)
