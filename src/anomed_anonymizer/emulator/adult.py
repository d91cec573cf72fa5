"""A synthetic Adult-like table: the tabular emulator's default data, and test
and benchmark data."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = [
    "ADULT_QUASI_IDENTIFIERS",
    "ADULT_SENSITIVE",
    "adult_domains",
    "adult_like",
]

#: Columns of :func:`adult_like` an attacker plausibly knows about a person
#: (the demographics a census or a voter list holds).
ADULT_QUASI_IDENTIFIERS = ("age", "sex", "race", "education", "marital-status")
#: The column attacks on :func:`adult_like` try to recover.
ADULT_SENSITIVE = "income"

# Category names and rough frequencies of the UCI Adult census extract
# (Kohavi 1996); the "?" placeholders of the original are left out.
_WORKCLASS = {
    "Private": 0.738,
    "Self-emp-not-inc": 0.083,
    "Local-gov": 0.068,
    "State-gov": 0.042,
    "Self-emp-inc": 0.036,
    "Federal-gov": 0.031,
    "Without-pay": 0.0015,
    "Never-worked": 0.0005,
}
# Education level and its number of years ("education-num" in Adult).
_EDUCATION = {
    "Preschool": (1, 0.002),
    "1st-4th": (2, 0.005),
    "5th-6th": (3, 0.010),
    "7th-8th": (4, 0.020),
    "9th": (5, 0.016),
    "10th": (6, 0.029),
    "11th": (7, 0.036),
    "12th": (8, 0.013),
    "HS-grad": (9, 0.322),
    "Some-college": (10, 0.224),
    "Assoc-voc": (11, 0.042),
    "Assoc-acdm": (12, 0.033),
    "Bachelors": (13, 0.164),
    "Masters": (14, 0.053),
    "Prof-school": (15, 0.018),
    "Doctorate": (16, 0.013),
}
_OCCUPATION = {
    "Prof-specialty": 0.134,
    "Craft-repair": 0.133,
    "Exec-managerial": 0.132,
    "Adm-clerical": 0.123,
    "Sales": 0.119,
    "Other-service": 0.107,
    "Machine-op-inspct": 0.065,
    "Transport-moving": 0.052,
    "Handlers-cleaners": 0.045,
    "Farming-fishing": 0.032,
    "Tech-support": 0.030,
    "Protective-serv": 0.021,
    "Priv-house-serv": 0.005,
    "Armed-Forces": 0.002,
}
_RACE = {
    "White": 0.854,
    "Black": 0.096,
    "Asian-Pac-Islander": 0.032,
    "Amer-Indian-Eskimo": 0.010,
    "Other": 0.008,
}
_COUNTRIES = [
    "United-States",
    "Mexico",
    "Philippines",
    "Germany",
    "Puerto-Rico",
    "Canada",
    "El-Salvador",
    "India",
    "Cuba",
    "England",
    "China",
    "South",
    "Jamaica",
    "Italy",
    "Dominican-Republic",
    "Japan",
    "Guatemala",
    "Poland",
    "Vietnam",
    "Columbia",
    "Haiti",
    "Portugal",
    "Taiwan",
    "Iran",
    "Greece",
    "Nicaragua",
    "Peru",
    "Ecuador",
    "France",
    "Ireland",
    "Hong",
    "Thailand",
    "Cambodia",
    "Trinadad&Tobago",
    "Laos",
    "Yugoslavia",
    "Outlying-US(Guam-USVI-etc)",
    "Scotland",
    "Honduras",
    "Hungary",
    "Holand-Netherlands",
]


_COUNTRY_WEIGHTS = {"United-States": 0.91, "Mexico": 0.02} | {
    c: 0.07 * 0.85**i / 6.0 for i, c in enumerate(_COUNTRIES[2:], start=1)
}


def _choice(rng: np.random.Generator, weights: dict, size: int) -> np.ndarray:
    p = np.fromiter(weights.values(), dtype=np.float64)
    return rng.choice(np.array(list(weights), dtype=object), size=size, p=p / p.sum())


def adult_like(n_rows: int = 30_000, seed: int = 0) -> pd.DataFrame:
    """Generate a synthetic table shaped like the UCI Adult census data.

    The columns, dtypes and category names are Adult's, the marginal
    frequencies roughly so, and the obvious dependencies are kept (education
    and its years, marital status and age, relationship and sex, income and
    education, age, hours and sex), so that anonymizers meet realistic mixes
    of skewed nominal and numeric columns. No real person's data is involved.

    Parameters
    ----------
    n_rows : int, default 30000
        The number of rows.
    seed : int, default 0
        Seeds :func:`numpy.random.default_rng`; equal seeds give equal tables.

    Returns
    -------
    pandas.DataFrame
        Columns ``age``, ``fnlwgt``, ``education-num``, ``capital-gain``,
        ``capital-loss`` and ``hours-per-week`` (int64) and ``workclass``,
        ``education``, ``marital-status``, ``occupation``, ``relationship``,
        ``race``, ``sex``, ``native-country`` and ``income`` (strings:
        pandas' default string dtype), in Adult's order.

    Examples
    --------
    >>> table = adult_like(1000, seed=1)
    >>> table.shape
    (1000, 15)
    >>> sorted(table["income"].unique())
    ['<=50K', '>50K']
    """
    rng = np.random.default_rng(seed)
    n = n_rows
    # The draws keep one order, so that a seed always gives the same table.
    age = np.clip(17 + rng.gamma(2.2, 9.5, n), 17, 90).astype(np.int64)
    sex = np.where(rng.random(n) < 0.67, "Male", "Female")
    male = sex == "Male"
    education = _choice(rng, {e: p for e, (_, p) in _EDUCATION.items()}, n)
    years = {e: y for e, (y, _) in _EDUCATION.items()}
    education_num = np.array([years[e] for e in education], dtype=np.int64)
    marital = _marital_status(rng, age)
    married = np.isin(marital, ["Married-civ-spouse", "Married-AF-spouse"])
    relationship = _relationship(rng, age, male, married)
    work = _work(rng, n)
    logit = (
        -9.0
        + 0.33 * education_num
        + 0.035 * np.minimum(age, 60)
        + 0.03 * work["hours-per-week"]
        + 1.6 * married
        + 0.3 * male
        + 2.5 * (work["capital-gain"] > 5000)
    )
    income = np.where(rng.random(n) < 1 / (1 + np.exp(-logit)), ">50K", "<=50K")
    columns = {
        "age": age,
        "workclass": _choice(rng, _WORKCLASS, n),
        "fnlwgt": work["fnlwgt"],
        "education": education,
        "education-num": education_num,
        "marital-status": marital,
        "occupation": _choice(rng, _OCCUPATION, n),
        "relationship": relationship,
        "race": _choice(rng, _RACE, n),
        "sex": sex,
        "capital-gain": work["capital-gain"],
        "capital-loss": work["capital-loss"],
        "hours-per-week": work["hours-per-week"],
        "native-country": _choice(rng, _COUNTRY_WEIGHTS, n),
        "income": income,
    }
    # Object arrays of str get pandas' default string dtype (object before
    # pandas 3, str from then on), as read_csv would give.
    return pd.DataFrame(
        {
            label: values.astype(object) if values.dtype.kind == "U" else values
            for label, values in columns.items()
        }
    )


def _marital_status(rng: np.random.Generator, age: np.ndarray) -> np.ndarray:
    # The young are mostly never married, the old often widowed.
    n = age.size
    r = rng.random(n)
    p_never = np.clip(1.6 - age / 25.0, 0.05, 0.95)
    p_widowed = np.clip((age - 55) / 80.0, 0.0, 0.3)
    marital = np.select(
        [r < p_never, r < p_never + p_widowed, r < p_never + p_widowed + 0.14],
        ["Never-married", "Widowed", "Divorced"],
        default="Married-civ-spouse",
    ).astype(object)
    rare = rng.random(n)
    marital[(marital == "Divorced") & (rare < 0.2)] = "Separated"
    marital[(marital == "Married-civ-spouse") & (rare < 0.02)] = "Married-spouse-absent"
    marital[(marital == "Married-civ-spouse") & (rare > 0.997)] = "Married-AF-spouse"
    return marital


def _relationship(
    rng: np.random.Generator, age: np.ndarray, male: np.ndarray, married: np.ndarray
) -> np.ndarray:
    unmarried = {
        "Not-in-family": 0.50,
        "Own-child": 0.30,
        "Unmarried": 0.20,
        "Other-relative": 0.06,
    }
    relationship = np.where(
        married, np.where(male, "Husband", "Wife"), _choice(rng, unmarried, age.size)
    )
    relationship[(age < 25) & ~married & (rng.random(age.size) < 0.6)] = "Own-child"
    return relationship


def _work(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    hours = np.where(
        rng.random(n) < 0.47, 40, np.clip(rng.normal(41, 12, n), 1, 99)
    ).astype(np.int64)
    capital_gain = np.where(
        rng.random(n) < 0.083, np.minimum(rng.lognormal(8.5, 1.0, n), 99_999), 0
    ).astype(np.int64)
    capital_loss = np.where(
        rng.random(n) < 0.047, np.clip(rng.normal(1870, 360, n), 155, 4356), 0
    ).astype(np.int64)
    fnlwgt = np.clip(rng.lognormal(12.1, 0.55, n), 12_285, 1_484_705).astype(np.int64)
    return {
        "hours-per-week": hours,
        "capital-gain": capital_gain,
        "capital-loss": capital_loss,
        "fnlwgt": fnlwgt,
    }


def adult_domains() -> dict[str, object]:
    """The domain of every column of :func:`adult_like`, as its generator
    defines it: categories of the nominal columns, ``(lower, upper)`` of the
    numeric ones.

    They are public (a codebook, known without looking at any table), so a
    differentially private synthesizer can take them as declared domains
    (``DPSynthesizer(domains=...)``) and spend no budget on finding them.

    Examples
    --------
    >>> domains = adult_domains()
    >>> domains["age"], domains["sex"]
    ((17, 90), ['Female', 'Male'])
    >>> set(adult_like(500)["race"]) <= set(domains["race"])
    True
    """
    return {
        "age": (17, 90),
        "workclass": list(_WORKCLASS),
        "fnlwgt": (12_285, 1_484_705),
        "education": list(_EDUCATION),
        "education-num": (1, 16),
        "marital-status": [
            "Never-married",
            "Married-civ-spouse",
            "Married-spouse-absent",
            "Married-AF-spouse",
            "Divorced",
            "Separated",
            "Widowed",
        ],
        "occupation": list(_OCCUPATION),
        "relationship": [
            "Husband",
            "Wife",
            "Not-in-family",
            "Own-child",
            "Unmarried",
            "Other-relative",
        ],
        "race": list(_RACE),
        "sex": ["Female", "Male"],
        "capital-gain": (0, 99_999),
        "capital-loss": (0, 4_356),
        "hours-per-week": (1, 99),
        "native-country": list(_COUNTRIES),
        "income": ["<=50K", ">50K"],
    }
