"""Synthetic post-meal blood-glucose curves, shaped like the platform's medical
regression challenges: 10 features of a meal and its eater → 12 glucose values.

The AnoMed partner drafts predict a person's glucose response to a meal from
its macronutrients, the time of day and a few facts about the person. Their
data is not public; this generator has the same shapes and units, and the
property a privacy audit needs: **people recur**. Each person eats several
meals and responds with latent parameters the features do not show, so a
model that memorises its training rows predicts them (and that person's other
meals) better than an unseen person's: membership inference has something to
find, as on real data.

The generative model, per person ``p`` (``n_people`` of them):

- ``sex`` ∈ {0 (female), 1 (male)}, ``age`` ~ U(18, 80) years, ``bmi`` ~
  N(26, 4) clipped to [17, 45] kg/m².
- latent baseline ``b_p`` = 88 + 0.15 (age - 40) + 0.6 (bmi - 25) + 3 sex +
  N(0, 6) mg/dl (fasting glucose, about 80-110);
- latent sensitivity ``s_p`` ~ LogNormal(log 0.9, 0.35) mg/dl per gram of
  effective carbohydrate, and latent peak time ``τ_p`` ~ U(35, 60) minutes;
- ``mean_glucose`` = b_p + 12 s_p + N(0, 3) mg/dl (what a week of continuous
  glucose monitoring would show: public to the person, a feature here).

and per meal (``meals_per_person`` each):

- ``carbohydrates`` ~ U(10, 120) g, ``fat`` ~ U(0, 50) g, ``protein`` ~
  U(0, 50) g, ``fibre`` ~ U(0, 15) g, ``hour`` ~ U(6, 22) (time of day),
  ``fasting_hours`` ~ U(1, 12) (since the previous meal);
- effective carbohydrate c = carbohydrates · (1 - 0.3 fibre / (fibre + 10));
  fat and protein delay the peak: τ = τ_p (1 + 0.008 fat + 0.004 protein);
- amplitude A = s_p c (1 + 0.01 (bmi - 25)) (1 + 0.12 [hour ≥ 18]) ·
  LogNormal(0, 0.1) (a meal's own variation);
- glucose at t = 15, 30, …, 180 minutes:
  b_p - 0.3 (fasting_hours - 4) + A (t/τ) exp(1 - t/τ) + N(0, 4),
  clipped to [40, 400] mg/dl.

Peaks lie mostly between 120 and 200 mg/dl, about 30-70 minutes after the
meal, and the curve returns towards the baseline by 3 hours.

Examples
--------
>>> X, y, people = glucose_curves(n_people=10, meals_per_person=3)
>>> X.shape, y.shape, people.shape
((30, 10), (30, 12), (30,))
>>> GLUCOSE_FEATURES[:4]
('carbohydrates_g', 'fat_g', 'protein_g', 'fibre_g')
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "GLUCOSE_FEATURES",
    "GLUCOSE_FEATURE_BOUNDS",
    "GLUCOSE_MINUTES",
    "GLUCOSE_SEED",
    "GLUCOSE_TARGET_BOUNDS",
    "glucose_curves",
]

#: The 10 feature columns, in order (units in the names).
GLUCOSE_FEATURES: tuple[str, ...] = (
    "carbohydrates_g",
    "fat_g",
    "protein_g",
    "fibre_g",
    "hour_of_day",
    "fasting_hours",
    "sex",
    "age_years",
    "bmi",
    "mean_glucose_mg_dl",
)

#: Public (lower, upper) bounds of each feature: the generator's ranges, which
#: a challenge would publish with its schema (DP models need bounds that do
#: not come from the private data). Mean glucose takes the target's range.
GLUCOSE_FEATURE_BOUNDS: tuple[tuple[float, ...], tuple[float, ...]] = (
    (10.0, 0.0, 0.0, 0.0, 6.0, 1.0, 0.0, 18.0, 17.0, 40.0),
    (120.0, 50.0, 50.0, 15.0, 22.0, 12.0, 1.0, 80.0, 45.0, 400.0),
)

#: Public bounds of every glucose output (mg/dl): the generator clips to them,
#: as a continuous glucose monitor's measuring range does.
GLUCOSE_TARGET_BOUNDS: tuple[float, float] = (40.0, 400.0)

#: Minutes after the meal of the 12 outputs (mg/dl each).
GLUCOSE_MINUTES: tuple[int, ...] = tuple(range(15, 181, 15))

#: The seed of the embedded ``glucose`` dataset: the same data everywhere.
GLUCOSE_SEED = 20240601


def glucose_curves(
    n_people: int = 150,
    meals_per_person: int = 8,
    seed: int = GLUCOSE_SEED,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Meals, their glucose curves, and whose they are (see the module).

    Parameters
    ----------
    n_people : int, optional
        How many people, ≥ 1.
    meals_per_person : int, optional
        Meals each, ≥ 1.
    seed : int, optional
        Seeds everything; the default gives the embedded ``glucose`` dataset.

    Returns
    -------
    X : numpy.ndarray
        ``(n_people * meals_per_person, 10)`` float64, columns
        :data:`GLUCOSE_FEATURES`.
    y : numpy.ndarray
        ``(n, 12)`` float64, glucose in mg/dl at :data:`GLUCOSE_MINUTES`.
    people : numpy.ndarray
        ``(n,)`` int64, the person of each row (not a feature: for splitting
        by person in experiments).

    Raises
    ------
    ValueError
        If ``n_people`` or ``meals_per_person`` is not a positive integer.
    """
    for name, value in (("n_people", n_people), ("meals_per_person", meals_per_person)):
        if not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    rng = np.random.default_rng(seed)
    p = int(n_people)
    sex = rng.integers(0, 2, p).astype(np.float64)
    age = rng.uniform(18, 80, p)
    bmi = np.clip(rng.normal(26, 4, p), 17, 45)
    baseline = 88 + 0.15 * (age - 40) + 0.6 * (bmi - 25) + 3 * sex + rng.normal(0, 6, p)
    sensitivity = rng.lognormal(np.log(0.9), 0.35, p)
    peak_minutes = rng.uniform(35, 60, p)
    mean_glucose = np.clip(
        baseline + 12 * sensitivity + rng.normal(0, 3, p), *GLUCOSE_TARGET_BOUNDS
    )

    people = np.repeat(np.arange(p), meals_per_person)
    n = len(people)
    carbohydrates = rng.uniform(10, 120, n)
    fat = rng.uniform(0, 50, n)
    protein = rng.uniform(0, 50, n)
    fibre = rng.uniform(0, 15, n)
    hour = rng.uniform(6, 22, n)
    fasting = rng.uniform(1, 12, n)

    effective = carbohydrates * (1 - 0.3 * fibre / (fibre + 10))
    tau = peak_minutes[people] * (1 + 0.008 * fat + 0.004 * protein)
    amplitude = (
        sensitivity[people]
        * effective
        * (1 + 0.01 * (bmi[people] - 25))
        * (1 + 0.12 * (hour >= 18))
        * rng.lognormal(0, 0.1, n)
    )
    minutes = np.asarray(GLUCOSE_MINUTES, dtype=np.float64)
    shape = (minutes / tau[:, None]) * np.exp(1 - minutes / tau[:, None])
    level = baseline[people] - 0.3 * (fasting - 4)
    y = level[:, None] + amplitude[:, None] * shape
    y = np.clip(y + rng.normal(0, 4, y.shape), *GLUCOSE_TARGET_BOUNDS)

    X = np.column_stack(
        [
            carbohydrates,
            fat,
            protein,
            fibre,
            hour,
            fasting,
            sex[people],
            age[people],
            bmi[people],
            mean_glucose[people],
        ]
    )
    return X, y, people.astype(np.int64)
