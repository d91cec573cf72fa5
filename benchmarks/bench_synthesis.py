"""DP synthesis: utility of declared domains against private ones, side by side.

Synthesizes the Adult-like table (``adult_like``: Adult's 15 columns, no real
data) with ``DPSynthesizer`` in its two modes at each epsilon:

- ``declared``: every column's domain comes from Adult's public codebook
  (``CODEBOOK`` below: the categories of ``adult.names`` and generous numeric
  ranges), so the whole budget goes to the synthesizer;
- ``private``: no domain is declared; categories are chosen by the private
  selection and numeric bounds estimated privately, which costs a share of
  the budget and drops categories held by few rows.

It prints, per mode and epsilon, the mean over ``--repeat`` releases of the
utility figures ``DPSynthesizer.report_`` computes (the mean marginal and
the mean pairwise total variation distance between input and output; lower
is better), their range, the budget split and how many categories survived.

Run (smartnoise-synth caps pandas below 3, hence its own environment):
``.venv-synth/bin/python benchmarks/bench_synthesis.py [--rows 30000]
[--epsilons 1 5] [--repeat 3] [--synthesizer mst]``
"""

from __future__ import annotations

import argparse
import statistics
import time

import pandas as pd

from anomed_anonymizer.emulator import adult_like
from anomed_anonymizer.tabular.synthesis import DPSynthesizer

# Adult's codebook (UCI adult.names), as a data owner would declare it: the
# categories of each nominal column and a range for each numeric one, known
# without looking at the data.
CODEBOOK: dict[str, object] = {
    "age": (0, 100),
    "workclass": [
        "Private", "Self-emp-not-inc", "Self-emp-inc", "Federal-gov",
        "Local-gov", "State-gov", "Without-pay", "Never-worked",
    ],
    "fnlwgt": (0, 1_500_000),
    "education": [
        "Bachelors", "Some-college", "11th", "HS-grad", "Prof-school",
        "Assoc-acdm", "Assoc-voc", "9th", "7th-8th", "12th", "Masters",
        "1st-4th", "10th", "Doctorate", "5th-6th", "Preschool",
    ],
    "education-num": (1, 16),
    "marital-status": [
        "Married-civ-spouse", "Divorced", "Never-married", "Separated",
        "Widowed", "Married-spouse-absent", "Married-AF-spouse",
    ],
    "occupation": [
        "Tech-support", "Craft-repair", "Other-service", "Sales",
        "Exec-managerial", "Prof-specialty", "Handlers-cleaners",
        "Machine-op-inspct", "Adm-clerical", "Farming-fishing",
        "Transport-moving", "Priv-house-serv", "Protective-serv",
        "Armed-Forces",
    ],
    "relationship": [
        "Wife", "Own-child", "Husband", "Not-in-family", "Other-relative",
        "Unmarried",
    ],
    "race": ["White", "Asian-Pac-Islander", "Amer-Indian-Eskimo", "Other", "Black"],
    "sex": ["Female", "Male"],
    "capital-gain": (0, 100_000),
    "capital-loss": (0, 5_000),
    "hours-per-week": (0, 100),
    "native-country": [
        "United-States", "Cambodia", "England", "Puerto-Rico", "Canada",
        "Germany", "Outlying-US(Guam-USVI-etc)", "India", "Japan", "Greece",
        "South", "China", "Cuba", "Iran", "Honduras", "Philippines", "Italy",
        "Poland", "Jamaica", "Vietnam", "Mexico", "Portugal", "Ireland",
        "France", "Dominican-Republic", "Laos", "Ecuador", "Taiwan", "Haiti",
        "Columbia", "Hungary", "Guatemala", "Nicaragua", "Scotland",
        "Thailand", "Yugoslavia", "El-Salvador", "Trinadad&Tobago", "Peru",
        "Hong", "Holand-Netherlands",
    ],
    "income": [">50K", "<=50K"],
}  # fmt: skip


def release(table: pd.DataFrame, mode: str, epsilon: float, args) -> dict:
    domains = CODEBOOK if mode == "declared" else None
    synth = DPSynthesizer(
        epsilon=epsilon,
        synthesizer=args.synthesizer,
        domains=domains,
        random_state=None,
    )
    started = time.perf_counter()
    synth.anonymize(table)
    report = synth.report_
    kept = sum(
        column.get("n_categories", 0)
        for label, column in report["columns"].items()
        if column["kind"] == "categorical"
    )
    return {
        "marginal": report["mean_tvd"],
        "pairwise": report["mean_pairwise_tvd"],
        "seconds": time.perf_counter() - started,
        "split": (
            report["epsilon_preprocessing"],
            report["epsilon_selection"],
            report["epsilon_synthesizer"],
        ),
        "categories": kept,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=30_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epsilons", type=float, nargs="+", default=[1.0, 5.0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--synthesizer", choices=["mst", "aim"], default="mst")
    args = parser.parse_args()

    table = adult_like(args.rows, seed=args.seed)
    n_codebook = sum(len(v) for v in CODEBOOK.values() if isinstance(v, list))
    observed = {c: set(table[c]) for c, v in CODEBOOK.items() if isinstance(v, list)}
    outside = {c: sorted(values - set(CODEBOOK[c])) for c, values in observed.items()}
    outside = {c: v for c, v in outside.items() if v}
    print(
        f"Adult-like table: {args.rows} rows, {table.shape[1]} columns; "
        f"{args.synthesizer.upper()}, {args.repeat} release(s) per cell; "
        f"codebook: {n_codebook} categories"
        + (f"; values outside it: {outside}" if outside else "")
    )
    header = (
        f"{'mode':<9} {'eps':>4}  {'marginal TVD':>18}  {'pairwise TVD':>18}  "
        f"{'eps bounds/cats/synth':>22}  {'categories':>10}  {'s/release':>9}"
    )
    print(header)
    print("-" * len(header))
    for epsilon in args.epsilons:
        for mode in ("declared", "private"):
            runs = [release(table, mode, epsilon, args) for _ in range(args.repeat)]
            print(_row(mode, epsilon, runs))


def _row(mode: str, epsilon: float, runs: list[dict]) -> str:
    def cell(key: str) -> str:
        values = [run[key] for run in runs]
        return f"{statistics.mean(values):.4f} [{min(values):.3f}, {max(values):.3f}]"

    split = "/".join(f"{share:.2f}" for share in runs[0]["split"])
    categories = statistics.mean(run["categories"] for run in runs)
    seconds = statistics.mean(run["seconds"] for run in runs)
    return (
        f"{mode:<9} {epsilon:>4g}  {cell('marginal'):>18}  {cell('pairwise'):>18}  "
        f"{split:>22}  {categories:>10.1f}  {seconds:>9.1f}"
    )


if __name__ == "__main__":
    main()
