"""Mondrian k-anonymity: our MondrianKAnonymizer against anonypy's, side by side.

Both run on the same synthetic Adult-like table with LeFevre et al.'s (2006)
eight Adult quasi-identifiers; both partitions are scored by the same NCP
function (``anomed_anonymizer.tabular.metrics``) on their equivalence classes,
over the quasi-identifier columns (Ghinita et al.'s global certainty penalty;
over all 15 columns, as the challenge scores a release, every figure is 8/15
of it).

anonypy treats a column as nominal only if its dtype is ``category`` (it
would take a range of strings otherwise), so its copy of the table has its
nominal quasi-identifiers converted to ``category``; the values are the same.
Its time covers ``Mondrian.partition`` alone, not its slow output step,
whereas ours covers the whole ``anonymize`` call including encoding the
released table: the comparison favours anonypy.

Run: ``python benchmarks/bench_mondrian.py [--rows 30000] [--k 10]``
(anonypy: ``pip install anonypy``).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from anomed_anonymizer.emulator import adult_like
from anomed_anonymizer.tabular import (
    MondrianKAnonymizer,
    discernibility_metric,
    normalized_certainty_penalty,
)

QUASI_IDENTIFIERS = [
    "age",
    "workclass",
    "education",
    "marital-status",
    "occupation",
    "race",
    "sex",
    "native-country",
]


def run_ours(table: pd.DataFrame, k: int, repeat: int) -> tuple[float, np.ndarray]:
    """Best wall time of ``repeat`` runs and the equivalence classes."""
    best = np.inf
    for _ in range(repeat):
        anonymizer = MondrianKAnonymizer(QUASI_IDENTIFIERS, k=k)
        start = time.perf_counter()
        anonymizer.anonymize(table)
        best = min(best, time.perf_counter() - start)
    return best, anonymizer.group_


def run_anonypy(table: pd.DataFrame, k: int) -> tuple[float, np.ndarray]:
    """Wall time of one anonypy partitioning and its equivalence classes."""
    from anonypy import Mondrian

    df = table.copy()
    for column in QUASI_IDENTIFIERS:
        if not pd.api.types.is_numeric_dtype(df[column]):
            df[column] = df[column].astype("category")
    start = time.perf_counter()
    partitions = Mondrian(df, QUASI_IDENTIFIERS).partition(k)
    elapsed = time.perf_counter() - start
    groups = np.full(len(df), -1, dtype=np.intp)
    for i, partition in enumerate(partitions):
        groups[df.index.get_indexer(partition)] = i
    if (groups < 0).any():
        raise RuntimeError("anonypy's partitions do not cover every row")
    return elapsed, groups


def describe(name: str, seconds: float, table: pd.DataFrame, groups: np.ndarray):
    sizes = np.bincount(groups)
    qis = table[QUASI_IDENTIFIERS]
    ncp = normalized_certainty_penalty(qis, QUASI_IDENTIFIERS, groups)
    print(
        f"{name:<10} {seconds:9.3f} {ncp:8.4f} {sizes.size:9d} "
        f"{sizes.mean():10.2f} {sizes.min():6d} {discernibility_metric(groups):14d}"
    )
    return ncp


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=30_000)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs of ours; the best counts"
    )
    parser.add_argument("--skip-anonypy", action="store_true")
    args = parser.parse_args(argv)

    table = adult_like(args.rows, seed=args.seed)
    print(
        f"Adult-like table: {args.rows} rows, k={args.k}, "
        f"{len(QUASI_IDENTIFIERS)} quasi-identifiers: {', '.join(QUASI_IDENTIFIERS)}"
    )
    print(
        f"{'':<10} {'time [s]':>9} {'NCP':>8} {'classes':>9} "
        f"{'mean size':>10} {'min':>6} {'discernibility':>14}"
    )
    ours_s, ours_groups = run_ours(table, args.k, args.repeat)
    ours_ncp = describe("ours", ours_s, table, ours_groups)
    if args.skip_anonypy:
        return
    try:
        theirs_s, theirs_groups = run_anonypy(table, args.k)
    except ImportError:
        print("anonypy is not installed: pip install anonypy")
        return
    theirs_ncp = describe("anonypy", theirs_s, table, theirs_groups)
    verdict = "no worse" if ours_ncp <= theirs_ncp else "WORSE"
    print(
        f"speed-up: {theirs_s / ours_s:.1f}x; NCP ours - anonypy: "
        f"{ours_ncp - theirs_ncp:+.4f} ({verdict})"
    )


if __name__ == "__main__":
    main()
