"""Tabular anonymizers at scale: MDAV (exact and ``method="knn"``) and Mondrian.

Goal 4 of issue 11: ``MDAVMicroaggregator(k=5, method="knn")`` on 1,000,000
Adult-like rows (six numeric columns) in at most 30 s, with information loss
(SSE/SST) within 10 % of exact MDAV's on the largest table exact MDAV does in
about a minute (``--exact-rows``; exact MDAV is quadratic). Goal 5: Mondrian
(k=10, LeFevre et al.'s eight Adult quasi-identifiers) on 3,000,000 rows in at
most 15 s. Each time is the median of ``--repeat`` runs of the whole
``anonymize`` call; the table is generated beforehand.

Issue 24: the default ``MDAVMicroaggregator(k=5)`` (``method="auto"``) and
``method="knn"`` on 1,000,000 rows of six skewed, heavy-tailed and tied
columns (lognormal income, gamma dose, Poisson counts, integer ages, Pareto
claims) in at most 15 s each, and knn's SSE/SST within 5 % of exact MDAV's on
``--exact-rows`` such rows.

Run: ``python benchmarks/bench_tabular_scale.py [--quick]``
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import pandas as pd
from bench_mondrian import QUASI_IDENTIFIERS  # Adult's, as Mondrian's benchmark uses

from anomed_anonymizer.emulator import adult_like
from anomed_anonymizer.tabular import MDAVMicroaggregator, MondrianKAnonymizer


def timed(make, table, repeat: int) -> tuple[float, object]:
    """Median wall time of ``repeat`` anonymize calls, and the last anonymizer."""
    times = []
    for _ in range(repeat):
        anonymizer = make()
        started = time.perf_counter()
        anonymizer.anonymize(table)
        times.append(time.perf_counter() - started)
    return statistics.median(times), anonymizer


def skewed_table(n_rows: int, seed: int) -> pd.DataFrame:
    """Six skewed numeric columns: heavy tails, and many tied values."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "income": rng.lognormal(10, 1.0, n_rows),
            "dose": rng.gamma(0.5, 20.0, n_rows),
            "visits": rng.poisson(2.0, n_rows),
            "age": rng.integers(18, 90, n_rows),
            "children": rng.poisson(0.7, n_rows),
            "claims": rng.pareto(2.5, n_rows) * 1000.0,
        }
    )


def verdict(measured: float, goal: float) -> str:
    """``measured / goal`` and whether it meets the goal (lower is better)."""
    ratio = measured / goal
    return f"{ratio:.2f}x goal, {'PASS' if ratio <= 1 else 'MISS'}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--exact-rows", type=int, default=250_000)
    parser.add_argument("--mdav-rows", type=int, default=1_000_000)
    parser.add_argument("--mondrian-rows", type=int, default=3_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--quick",
        action="store_true",
        help="exact MDAV on 60,000 rows, one run each (a few minutes less)",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.exact_rows, args.repeat = min(args.exact_rows, 60_000), 1

    table = adult_like(args.exact_rows, seed=0)
    exact_repeat = 1 if args.exact_rows > 100_000 else 3
    exact_s, exact = timed(
        lambda: MDAVMicroaggregator(k=5, method="exact"), table, exact_repeat
    )
    knn_s, knn = timed(
        lambda: MDAVMicroaggregator(k=5, method="knn"), table, args.repeat
    )
    exact_loss = exact.report_["information_loss"]
    knn_loss = knn.report_["information_loss"]
    print(f"MDAV k=5 on {args.exact_rows:,} Adult-like rows (6 numeric columns):")
    print(f"  exact: {exact_s:7.2f} s, information loss {exact_loss:.5f}")
    print(
        f"  knn:   {knn_s:7.2f} s, information loss {knn_loss:.5f} "
        f"({knn_loss / exact_loss:.3f}x exact; goal <= 1.10x), "
        f"{exact_s / knn_s:.0f}x faster"
    )
    del table

    table = adult_like(args.mdav_rows, seed=1)
    seconds, knn = timed(
        lambda: MDAVMicroaggregator(k=5, method="knn"), table, args.repeat
    )
    print(
        f"  knn on {args.mdav_rows:,} rows: {seconds:.2f} s (goal <= 30 s), "
        f"information loss {knn.report_['information_loss']:.5f}, smallest group "
        f"{knn.report_['min_group_size']}"
    )
    del table

    table = skewed_table(args.exact_rows, seed=3)
    exact_s, exact = timed(
        lambda: MDAVMicroaggregator(k=5, method="exact"), table, exact_repeat
    )
    knn_s, knn = timed(
        lambda: MDAVMicroaggregator(k=5, method="knn"), table, args.repeat
    )
    exact_loss = exact.report_["information_loss"]
    knn_loss = knn.report_["information_loss"]
    print(f"MDAV k=5 on {args.exact_rows:,} skewed rows (6 numeric columns):")
    print(f"  exact: {exact_s:7.2f} s, information loss {exact_loss:.5f}")
    print(
        f"  knn:   {knn_s:7.2f} s, information loss {knn_loss:.5f} "
        f"({knn_loss / exact_loss:.3f}x exact; goal <= 1.05x: "
        f"{verdict(knn_loss / exact_loss, 1.05)})"
    )
    del table

    table = skewed_table(args.mdav_rows, seed=4)
    seconds, default = timed(lambda: MDAVMicroaggregator(k=5), table, args.repeat)
    print(
        f"  default MDAVMicroaggregator(k=5) on {args.mdav_rows:,} skewed rows "
        f"(method_={default.method_!r}): {seconds:.2f} s (goal <= 15 s: "
        f"{verdict(seconds, 15.0)})"
    )
    seconds, knn = timed(
        lambda: MDAVMicroaggregator(k=5, method="knn"), table, args.repeat
    )
    print(
        f"  knn on {args.mdav_rows:,} skewed rows: {seconds:.2f} s (goal <= 15 s: "
        f"{verdict(seconds, 15.0)}), information loss "
        f"{knn.report_['information_loss']:.5f}, smallest group "
        f"{knn.report_['min_group_size']}"
    )
    del table

    table = adult_like(args.mondrian_rows, seed=2)
    seconds, mondrian = timed(
        lambda: MondrianKAnonymizer(QUASI_IDENTIFIERS, k=10), table, args.repeat
    )
    print(
        f"Mondrian k=10, 8 quasi-identifiers, {args.mondrian_rows:,} rows: "
        f"{seconds:.2f} s (goal <= 15 s), {mondrian.group_.max() + 1:,} classes"
    )


if __name__ == "__main__":
    main()
