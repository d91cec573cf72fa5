"""DPSynthesizer's domains: what a release may contain, read off the release.

- Without declared domains, a category held by one row is dropped by the
  private selection with high probability; frequent ones always make it.
- With declared domains, every released value lies in its domain, and which
  categories the data holds changes nothing about the possible outputs.
- A pandas categorical's categories are private unless declared: taken from
  the data by ``astype("category")``, they would publish a one-row value.
- ``random_state`` fixes everything but OpenDP's (unseedable) noise, and
  without it no seed of NumPy's global generator reaches SmartNoise.
- AIM, in a fast profile, beside MST.

OpenDP's noise cannot be seeded, so each statistical assertion states its
failure probability (at most 1e-9); everything else is seeded.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging

import numpy as np
import pandas as pd
import pytest

from anomed_anonymizer.tabular.synthesis import DPSynthesizer
from anomed_anonymizer.tabular.synthesis.domains import BinnedCodec, CategoricalCodec
from docs_blocks import doc_block

needs_snsynth = pytest.mark.skipif(
    importlib.util.find_spec("snsynth") is None,
    reason="install the 'synth' extra",
)

N_RELEASES = 20


def diagnosis_table(rare: str, n: int = 2000, seed: int = 0) -> pd.DataFrame:
    """Two frequent diagnoses, one held by a single row, and a bool.

    Two small columns keep the shapes MST hands to JAX the same from release
    to release, so its compiled code is reused: about a second a release.
    """
    rng = np.random.default_rng(seed)
    diagnosis = np.array(["A"] * (n // 2) + ["B"] * (n - n // 2 - 1) + [rare])
    return pd.DataFrame(
        {"diagnosis": diagnosis[rng.permutation(n)], "smoker": rng.random(n) < 0.3}
    )


def release_probability_bound(n_releases: int, p: float) -> int:
    """The most releases, out of n, that show a value kept with probability p
    each, but with probability at most 1e-9."""
    from scipy import stats

    return int(stats.binom.isf(1e-9, n_releases, p))


# -- without declared domains ------------------------------------------------


@needs_snsynth
@pytest.mark.slow
def test_a_value_held_by_one_row_is_dropped_without_declared_domains():
    from anomed_anonymizer.tabular.synthesis.selection import release_probability

    table = diagnosis_table(rare="RARE_HIV")
    appearances = 0
    for seed in range(N_RELEASES):
        synth = DPSynthesizer(epsilon=1.0, random_state=seed)
        anon, _ = synth.anonymize(table)
        released = set(anon["diagnosis"])
        # About 1000 rows each against a threshold of about 40: kept with
        # probability 1 - 1e-30, and MST then emits them.
        assert {"A", "B"} <= released, released
        assert released <= {"A", "B", "RARE_HIV", "other"}
        appearances += "RARE_HIV" in released
    step = synth.budget_record()["steps"][0]
    assert step["step"] == "categories"
    selection = step["columns"]["diagnosis"]
    p = release_probability(1, selection["noise_scale"], selection["threshold"])
    assert p <= selection["delta"]
    bound = release_probability_bound(N_RELEASES, p)
    assert bound <= 2, (p, bound)
    assert appearances <= bound, (appearances, p)


# -- declared domains --------------------------------------------------------

DECLARED = {"diagnosis": ["A", "B", "C"], "age": (0, 100)}


@needs_snsynth
@pytest.mark.slow
def test_declared_domains_fix_the_possible_outputs():
    first = diagnosis_table(rare="RARE_X", n=600, seed=1)
    second = diagnosis_table(rare="RARE_Y", n=600, seed=2)
    rng = np.random.default_rng(3)
    for table in (first, second):
        table["age"] = rng.integers(18, 90, len(table))
    # Ages outside the declared range, in one table only.
    first.loc[:9, "age"] = 130
    releases = []
    for table in (first, second):
        synth = DPSynthesizer(epsilon=1.0, domains=DECLARED, random_state=0)
        anon, _ = synth.anonymize(table)
        releases.append((synth, anon))
        assert set(anon["diagnosis"]) <= {"A", "B", "C", "other"}
        assert anon["age"].between(0, 100).all()
        assert anon.dtypes.equals(table.dtypes)
    (synth1, anon1), (synth2, anon2) = releases
    assert "RARE_X" not in set(anon1["diagnosis"])
    assert "RARE_Y" not in set(anon2["diagnosis"])
    # The synthesizer's domain, hence the set of possible outputs, is the same.
    assert (
        synth1.domains_
        == synth2.domains_
        == {
            "diagnosis": ["A", "B", "C"],
            "smoker": [False, True],
            "age": (0.0, 100.0),
        }
    )
    shapes = [
        {
            c: {k: v for k, v in d.items() if k != "outside_share"}
            for c, d in cols.items()
        }
        for cols in (s.budget_record()["columns"] for s in (synth1, synth2))
    ]
    assert shapes[0] == shapes[1]
    # Declared domains cost nothing: the synthesizer gets the whole budget.
    record = synth1.budget_record()
    assert [s["step"] for s in record["steps"]] == ["synthesizer"]
    assert record["steps"][0]["epsilon"] == pytest.approx(1.0)
    assert any("declared domains" in a for a in record["public_assumptions"])


def test_a_scikit_learn_estimator(small):
    from sklearn.base import clone

    synth = DPSynthesizer(epsilon=2.0, domains={"city": ["Bonn", "Kiel"]})
    params = synth.get_params()
    assert params["epsilon"] == 2.0 and params["domains"] == {"city": ["Bonn", "Kiel"]}
    assert params["other_category"] == "other" and params["selection_eps"] is None
    assert (
        repr(synth) == "DPSynthesizer(domains={'city': ['Bonn', 'Kiel']}, epsilon=2.0)"
    )
    assert clone(synth).get_params() == params
    # A bad value given through set_params is still named when anonymizing.
    with pytest.raises(ValueError, match="epsilon must be a positive number"):
        synth.set_params(epsilon=-1).anonymize(small)


def test_categorical_dtype_larger_than_max_categories(small):
    # Only a dtype declared public is the domain; undeclared, the private
    # selection keeps at most max_categories of its categories.
    small["plan"] = small["plan"].cat.add_categories(["gold", "platinum"])
    with pytest.raises(
        ValueError,
        match=r"domains\['plan'\]='dtype': the column's categorical dtype has 4 "
        "categories, more than max_categories=3",
    ):
        DPSynthesizer(max_categories=3, domains={"plan": "dtype"}).anonymize(small)


def test_a_declared_set_is_sorted(small):
    # Hash order must not decide the domain (nor, with it, a seeded release);
    # the checked declaration is inspected directly, without a fit.
    from anomed_anonymizer.tabular.synthesis.domains import check_declared_domains

    roles = dict.fromkeys(small.columns, "categorical") | {"age": "binned"}
    declared = check_declared_domains(
        small, roles, {"city": {"Kiel", "Bonn", "Essen"}}, None, "other", 10
    )
    assert list(declared["city"]) == ["Bonn", "Essen", "Kiel"]


def test_codecs_map_values_outside_the_domain():
    rng = np.random.default_rng(0)
    strings = CategoricalCodec(
        "d", np.dtype(object), pd.Index(["A", "B"], dtype=object), "declared", "other"
    )
    codes = strings.encode(pd.Series(["B", "A", "RARE", "B"], dtype=object))
    np.testing.assert_array_equal(codes, [1, 0, 2, 1])
    assert list(strings.decode(codes, rng)) == ["B", "A", "other", "B"]
    assert strings.outside_share == 0.25

    numbers = CategoricalCodec("c", np.dtype(np.int64), pd.Index([0, 1, 5]), "declared")
    codes = numbers.encode(pd.Series([0, 2, 4, 9, -3, 5]))
    # Nearest declared value; 2 is nearer 1 than 5, 4 nearer 5 than 1.
    np.testing.assert_array_equal(codes, [0, 1, 2, 2, 0, 2])
    assert list(numbers.decode(codes, rng)) == [0, 1, 5, 5, 0, 5]

    ages = BinnedCodec("age", np.dtype(np.int64), 0.0, 100.0, 10, "declared")
    codes = ages.encode(pd.Series([-5, 0, 55, 100, 130]))
    np.testing.assert_array_equal(codes, [0, 1, 6, 10, 11])
    decoded = ages.decode(codes, rng)
    assert decoded.iloc[0] == 0 and decoded.iloc[-1] == 100
    assert 50 <= decoded.iloc[2] <= 60
    assert ages.outside_share == pytest.approx(0.4)


# -- pandas categoricals ------------------------------------------------------

N_CATEGORICAL_RELEASES = 25
# A selection delta of 0.5e-12 per release: a one-row value is kept in one of
# 25 releases with probability at most 1.25e-11.
TINY_DELTA = 1e-12


def categorical_diagnoses(n: int = 2000) -> pd.DataFrame:
    """diagnosis_table, its diagnoses converted the usual way: the dtype's
    categories are the data's values, RARE_HIV (one row) among them."""
    table = diagnosis_table(rare="RARE_HIV", n=n)
    return table.astype({"diagnosis": "category"})


@needs_snsynth
@pytest.mark.slow
def test_categories_from_astype_are_private(caplog):
    table = categorical_diagnoses()
    assert list(table["diagnosis"].cat.categories) == ["A", "B", "RARE_HIV"]
    for _ in range(N_CATEGORICAL_RELEASES):
        # No random_state: fresh randomness every release (OpenDP's noise
        # cannot be seeded anyway).
        synth = DPSynthesizer(epsilon=1.0, delta=TINY_DELTA)
        with caplog.at_level(logging.WARNING, logger="anomed_anonymizer.tabular"):
            anon, _ = synth.anonymize(table)
        # Neither the values nor the dtype publish the one-row value; A and B
        # (about 1000 rows against a threshold of about 95) are kept with
        # probability 1 - 1e-100.
        assert "RARE_HIV" not in set(anon["diagnosis"])
        assert list(anon["diagnosis"].cat.categories) == ["A", "B", "other"]
        assert set(anon["diagnosis"]) <= {"A", "B", "other"}
        assert anon["smoker"].dtype == table["smoker"].dtype
        assert len(anon) == len(table) and list(anon.columns) == list(table.columns)
    assert "column 'diagnosis' is a pandas categorical" in caplog.text
    assert "domains={'diagnosis': 'dtype'}" in caplog.text
    record = synth.budget_record()
    assert [s["step"] for s in record["steps"]] == ["categories", "synthesizer"]
    assert list(record["steps"][0]["columns"]) == ["diagnosis"]
    assert record["columns"]["diagnosis"]["domain"] == "selected"
    assert record["columns"]["diagnosis"]["n_categories"] == 2
    assert record["public_assumptions"][0] == (
        "the column names and dtypes, except the categories of the pandas "
        "categoricals 'diagnosis', private (the category selection's)"
    )
    # smoker's bool dtype still fixes its categories.
    assert record["columns"]["smoker"]["domain"] == "dtype"
    assert synth.domains_["diagnosis"] == ["A", "B"]


@needs_snsynth
@pytest.mark.slow
def test_categories_of_a_larger_table_are_private_too():
    # Converted, then filtered: the dtype holds a category the table lacks
    # ("C"), as a codebook would, and the one-row value beside it. No rule
    # on the data can tell the two apart, so neither is published.
    full = pd.concat(
        [
            diagnosis_table(rare="RARE_HIV", n=2000),
            pd.DataFrame({"diagnosis": ["C"] * 50, "smoker": False}),
        ],
        ignore_index=True,
    ).astype({"diagnosis": "category"})
    table = full[full["diagnosis"] != "C"].reset_index(drop=True)
    assert list(table["diagnosis"].cat.categories) == ["A", "B", "C", "RARE_HIV"]
    synth = DPSynthesizer(epsilon=1.0, delta=TINY_DELTA)
    anon, _ = synth.anonymize(table)
    # Fails with probability at most 5e-13 (RARE_HIV kept) plus 1e-100.
    assert list(anon["diagnosis"].cat.categories) == ["A", "B", "other"]
    assert synth.budget_record()["columns"]["diagnosis"]["domain"] == "selected"


@needs_snsynth
@pytest.mark.slow
def test_a_categorical_declared_in_domains_publishes_the_declaration():
    table = categorical_diagnoses(n=600)
    # A codebook: its categories, in its order, then "other" for the values
    # outside it (always there, so the dtype does not say whether any was).
    synth = DPSynthesizer(epsilon=1.0, domains={"diagnosis": ["B", "A", "C"]})
    anon, _ = synth.anonymize(table)
    assert list(anon["diagnosis"].cat.categories) == ["B", "A", "C", "other"]
    assert set(anon["diagnosis"]) <= {"A", "B", "C", "other"}
    assert synth.domains_["diagnosis"] == ["B", "A", "C"]
    record = synth.budget_record()
    assert [s["step"] for s in record["steps"]] == ["synthesizer"]
    assert record["columns"]["diagnosis"]["domain"] == "declared"
    assert record["public_assumptions"][0] == "the column names and dtypes"
    assert any(
        "declared domains" in a and "'diagnosis'" in a
        for a in record["public_assumptions"]
    )

    # "dtype": the dtype's own categories are public, RARE_HIV included (the
    # data owner says so), and the release keeps the dtype.
    synth = DPSynthesizer(epsilon=1.0, domains={"diagnosis": "dtype"})
    anon, _ = synth.anonymize(table)
    assert anon.dtypes.equals(table.dtypes)
    assert synth.domains_["diagnosis"] == ["A", "B", "RARE_HIV"]
    record = synth.budget_record()
    assert [s["step"] for s in record["steps"]] == ["synthesizer"]
    assert record["columns"]["diagnosis"]["domain"] == "dtype"
    assert any(
        "categories the dtypes fix" in a and "'diagnosis'" in a
        for a in record["public_assumptions"]
    )


def test_a_categorical_is_released_with_the_published_categories_only():
    rng = np.random.default_rng(0)
    dtype = pd.CategoricalDtype(["A", "B", "RARE"])
    strings = CategoricalCodec(
        "d", dtype, pd.Index(["A", "B"], dtype=object), "selected", "other"
    )
    codes = strings.encode(pd.Series(["B", "RARE", "A"], dtype=dtype))
    np.testing.assert_array_equal(codes, [1, 2, 0])
    released = strings.decode(codes, rng)
    assert list(released) == ["B", "other", "A"]
    assert list(released.cat.categories) == ["A", "B", "other"]

    # Numbers: the nearest published one, no "other"; order and dtype kept.
    dtype = pd.CategoricalDtype([5, 1, 3], ordered=True)
    numbers = CategoricalCodec("n", dtype, pd.Index([1, 5]), "selected")
    codes = numbers.encode(pd.Series([5, 1, 3], dtype=dtype))
    np.testing.assert_array_equal(codes, [1, 0, 0])
    released = numbers.decode(codes, rng)
    assert released.dtype == pd.CategoricalDtype([1, 5], ordered=True)
    assert list(released) == [5, 1, 1]

    # Declared public ("dtype"): the input's dtype, unused categories too.
    dtype = pd.CategoricalDtype(["plus", "basic", "gold"])
    public = CategoricalCodec("p", dtype, dtype.categories, "dtype")
    released = public.decode(public.encode(pd.Series(["basic"], dtype=dtype)), rng)
    assert released.dtype == dtype


# -- reproducibility ---------------------------------------------------------


@needs_snsynth
def test_random_state_fixes_everything_but_the_opendp_noise(monkeypatch):
    import snsynth.mst.mst

    # Silence the one unseedable source, MST's Gaussian measurements (OpenDP):
    # what is left must then be a function of the seed.
    monkeypatch.setattr(
        snsynth.mst.mst, "gaussian_noise", lambda sigma, size: np.zeros(size)
    )
    table = diagnosis_table(rare="RARE", n=500, seed=3)
    # Declared categories: no private selection, whose noise is OpenDP's too.
    domains = {"diagnosis": ["A", "B", "C"]}
    first, _ = DPSynthesizer(random_state=7, domains=domains).anonymize(table)
    again, _ = DPSynthesizer(random_state=7, domains=domains).anonymize(table)
    other, _ = DPSynthesizer(random_state=8, domains=domains).anonymize(table)
    pd.testing.assert_frame_equal(first, again)
    assert not first.equals(other)


def test_without_random_state_a_global_numpy_seed_does_not_reach_smartnoise():
    # MST's and AIM's exponential mechanism draws from np.random: a program
    # that seeded it (np.random.seed(0) is common) must not hand it a stream
    # anyone can replay.
    from anomed_anonymizer.tabular.synthesis.smartnoise import numpy_global_seed

    np.random.seed(0)
    before = np.random.get_state()[1].copy()
    with numpy_global_seed(None):
        drawn = np.random.random(4)
    assert not np.allclose(drawn, np.random.RandomState(0).random(4))
    # And the program's own stream goes on where it was.
    np.testing.assert_array_equal(np.random.get_state()[1], before)


def test_the_builtin_example_seeds_dp_synthesis_only_when_told(monkeypatch, tmp_path):
    # Its source is public: a default seed there would be a known seed.
    monkeypatch.setenv("CHALLENGE_HOST", "localhost:1")
    monkeypatch.setenv("ANOMED_TABULAR_ANONYMIZER", "dp-synthesis")
    monkeypatch.setenv("ANOMED_OUTPUT_DIR", str(tmp_path))
    monkeypatch.delenv("ANOMED_SEED", raising=False)
    module = importlib.import_module("anomed_anonymizer.examples.tabular_builtin")
    assert importlib.reload(module).anonymizer.random_state is None
    monkeypatch.setenv("ANOMED_SEED", "7")
    assert importlib.reload(module).anonymizer.random_state == 7


# -- AIM ---------------------------------------------------------------------


@needs_snsynth
@pytest.mark.slow
def test_aim_release_on_a_small_table():
    rng = np.random.default_rng(4)
    n = 400
    table = pd.DataFrame(
        {
            "city": rng.choice(["Bonn", "Kiel", "Essen"], n),
            "age": rng.integers(18, 90, n),
        }
    )
    synth = DPSynthesizer(
        epsilon=3.0,
        delta=1e-6,
        synthesizer="aim",
        domains={"age": (0, 120)},
        n_rows=300,
        random_state=0,
    )
    anon, scheme = synth.anonymize(table)
    assert scheme == "same"
    assert anon.dtypes.equals(table.dtypes) and len(anon) == 300
    # About 133 rows per city against a threshold of about 17: all kept with
    # probability 1 - 1e-10.
    assert synth.domains_["city"] == ["Bonn", "Essen", "Kiel"]
    assert set(anon["city"]) <= {"Bonn", "Essen", "Kiel", "other"}
    assert anon["age"].between(0, 120).all()
    record = synth.budget_record()
    assert record["mechanism"] == "smartnoise-synth AIM"
    assert [s["step"] for s in record["steps"]] == ["categories", "synthesizer"]
    assert sum(s["epsilon"] for s in record["steps"]) == pytest.approx(3.0)
    assert sum(s["delta"] for s in record["steps"]) == pytest.approx(1e-6)
    # AIM estimates its total, and n_rows and delta are given: the row count
    # is not among the public assumptions.
    assert not any("row count" in a for a in record["public_assumptions"])
    assert synth.report_["tvd"]["city"] < 0.2


# -- bad domains --------------------------------------------------------------


@pytest.fixture
def small() -> pd.DataFrame:
    rng = np.random.default_rng(5)
    n = 40
    return pd.DataFrame(
        {
            "age": rng.integers(18, 90, n),
            "city": rng.choice(["Bonn", "Kiel"], n),
            "smoker": rng.random(n) < 0.5,
            "plan": pd.Categorical(rng.choice(["basic", "plus"], n)),
            "children": rng.integers(0, 3, n),
        }
    )


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"domains": ["age"]}, "domains must map column names to their domains"),
        ({"domains": {"weight": (0, 1)}}, "domains names column 'weight', which the"),
        (
            {"domains": {"age": (0, 120)}, "bounds": {"age": (0, 120)}},
            "column 'age' is given in both bounds and domains",
        ),
        (
            {"domains": {"age": [20, 30, 40]}},
            r"domains\['age'\] must be a pair of numbers \(lower, upper\) for a "
            "binned numeric column, got .*list the column in categorical_columns",
        ),
        ({"domains": {"age": (50, 10)}}, r"domains\['age'\] must be finite with"),
        ({"domains": {"city": "Bonn"}}, r"domains\['city'\] must be a collection"),
        ({"domains": {"city": []}}, r"domains\['city'\] declares no category"),
        ({"domains": {"city": ["Bonn", 1]}}, r"domains\['city'\] must list strings"),
        ({"domains": {"city": ["Bonn", "Bonn"]}}, "lists a category twice"),
        (
            {"domains": {"city": ["Bonn", "other"]}},
            r"domains\['city'\] lists 'other', the label of values outside",
        ),
        (
            {"domains": {"smoker": [True, False]}},
            r"domains\['smoker'\]: the column's bool dtype fixes its categories",
        ),
        (
            {"domains": {"city": "dtype"}},
            r"domains\['city'\]='dtype' declares the categories of a pandas "
            "categorical public, but the column has dtype",
        ),
        ({"domains": {"plan": ["basic", 1]}}, r"domains\['plan'\] must list strings"),
        ({"domains": {"plan": "basic"}}, r"domains\['plan'\] must be a collection"),
        (
            {"categorical_columns": ["children"], "domains": {"children": [0, 1.5]}},
            r"domains\['children'\] holds values a column of dtype int64 cannot hold",
        ),
        (
            {"categorical_columns": ["children"], "domains": {"children": ["0"]}},
            r"domains\['children'\] must list finite numbers",
        ),
        ({"selection_eps": -1}, "selection_eps must be >= 0, got -1.0"),
        (
            {"selection_eps": 0, "domains": {"age": (0, 120)}},
            # plan's categories are undeclared: private, like city's.
            r"selection_eps=0, but the categorical columns \['city', 'plan'\] "
            "have no declared domain",
        ),
        ({"other_category": ""}, "other_category must be a non-empty string"),
        (
            {"max_categories": 2, "domains": {"city": ["Bonn", "Kiel", "Essen"]}},
            r"domains\['city'\] declares 3 categories, more than max_categories=2",
        ),
    ],
)
def test_bad_domains(small, params, message):
    with pytest.raises(ValueError, match=message):
        DPSynthesizer(**params).anonymize(small)


# -- the documented example (docs_blocks) ----------------------------------


@needs_snsynth
@pytest.mark.slow
def test_readme_synthesis_example_runs_as_written():
    code = doc_block("synthesis-example")
    namespace: dict = {}
    exec(compile(code, "synthesis-example", "exec"), namespace)
    table, release, record = (namespace[k] for k in ("table", "release", "record"))
    assert namespace["scheme"] == "same"
    assert release.dtypes.equals(table.dtypes)
    assert set(release["sex"]) <= {"Female", "Male", "other"}
    assert release["age"].between(0, 100).all()
    assert [s["step"] for s in record["steps"]] == ["categories", "synthesizer"]
    assert list(record["steps"][0]["columns"]) == ["race"]
    assert sum(s["epsilon"] for s in record["steps"]) == pytest.approx(1.0)
    assert sum(s["delta"] for s in record["steps"]) == pytest.approx(2000**-1.5)
