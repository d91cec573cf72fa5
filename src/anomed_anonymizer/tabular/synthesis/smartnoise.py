"""The glue to SmartNoise Synth: its import, the bounds estimate, fit and sample.

Nothing here sees a column's values or labels beyond what it needs: the
synthesizers get integer codes with a fixed number of codes per column (see
:mod:`.domains`), under plain names.
"""

from __future__ import annotations

import contextlib
import io
import logging
import warnings
from collections.abc import Hashable, Iterator, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..._install import install_hint

__all__ = [
    "estimate_bounds",
    "fit_and_sample",
    "import_snsynth",
    "library_version",
    "numpy_global_seed",
]

_logger = logging.getLogger(__name__.rsplit(".", 1)[0])

_SYNTH_EXTRA_MESSAGE = (
    f"DPSynthesizer needs the 'synth' extra: {install_hint('synth')} "
    "--extra-index-url https://download.pytorch.org/whl/cpu (torch's CPU build)"
)


def import_snsynth() -> Any:
    """Import smartnoise-synth, or say which extra installs it."""
    try:
        import snsynth
        import snsynth.transform.base
    except ImportError as exc:
        raise ImportError(_SYNTH_EXTRA_MESSAGE) from exc
    return snsynth


def library_version() -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("smartnoise-synth")
    except PackageNotFoundError:
        return None


def estimate_bounds(
    snsynth: Any, label: Hashable, values: np.ndarray, epsilon: float, n_bins: int
) -> tuple[float, float]:
    """Estimate a numeric column's range with pure epsilon-DP.

    SmartNoise's ``approx_bounds`` (through its ``BinTransformer``): a
    Laplace-noised histogram over powers of two, so the bounds are powers of
    two and sparse tails are clipped.

    Raises
    ------
    ValueError
        If no power-of-two bin holds clearly more rows than the noise (the
        message names the column and what to change).
    """
    transformer = snsynth.transform.BinTransformer(
        bins=n_bins, epsilon=epsilon, nullable=False
    )
    try:
        transformer.fit(values.tolist())
    except ValueError as exc:
        if "could not find bounds" not in str(exc):
            raise
        raise ValueError(
            f"could not estimate the bounds of column {label!r} privately with "
            f"epsilon {epsilon:.3g}: too few rows for that budget; raise "
            f"preprocessor_eps or declare domains={{{label!r}: (lower, upper)}}"
        ) from exc
    return float(transformer.fit_lower), float(transformer.fit_upper)


def fit_and_sample(
    snsynth: Any,
    synthesizer: str,
    codes: Sequence[np.ndarray],
    n_codes: Sequence[int],
    budget: tuple[float, float],
    n_rows: int,
    seed: int | None,
) -> tuple[list[np.ndarray], float]:
    """Fit MST or AIM on integer codes and sample ``n_rows`` rows of codes.

    Parameters
    ----------
    codes : sequence of numpy.ndarray
        One array of codes per column, ``0 <= code < n_codes[i]``.
    n_codes : sequence of int
        The number of codes of each column: the synthesizer's domain, which
        must not depend on the data.
    budget : (float, float)
        The synthesizer's (epsilon, delta).
    seed : int or None
        Seeds NumPy's global generator for the call (see
        :func:`numpy_global_seed`).

    Returns
    -------
    sample : list of numpy.ndarray
        The sampled codes, one array per column.
    epsilon : float
        The epsilon the synthesizer reports having spent.
    """
    epsilon, delta = budget
    transformer = snsynth.TableTransformer(
        [_code_transformer(snsynth, k) for k in n_codes]
    )
    # Plain names and plain integer codes: snsynth sees no dtype or label it
    # might mishandle.
    work = pd.DataFrame({f"c{i}": c for i, c in enumerate(codes)})
    messages = io.StringIO()
    with (
        numpy_global_seed(seed),
        warnings.catch_warnings(),
        # snsynth prints progress; a server's stdout is no place for it, so
        # it goes to the debug log instead.
        contextlib.redirect_stdout(messages),
    ):
        # mbi deprecates the DataFrames snsynth hands it; not ours to fix.
        warnings.filterwarnings(
            "ignore", message="Pandas dataframe inputs", category=UserWarning
        )
        model = snsynth.Synthesizer.create(synthesizer, epsilon=epsilon, delta=delta)
        try:
            model.fit(work, transformer=transformer, preprocessor_eps=0.0)
        except ValueError as exc:
            raise ValueError(
                f"smartnoise-synth could not fit the table: {exc}"
            ) from exc
        sample = np.asarray(pd.DataFrame(model.sample(n_rows)), dtype=np.intp)
    if messages.getvalue():
        _logger.debug("smartnoise-synth: %s", messages.getvalue().strip())
    return [sample[:, i] for i in range(len(codes))], float(model.epsilon)


def _code_transformer(snsynth: Any, n_codes: int) -> Any:
    """A snsynth column transformer for codes ``0 .. n_codes - 1``.

    Unlike snsynth's ``LabelTransformer``, whose categories are the values it
    sees, its cardinality is fixed in advance, so the synthesizer's domain
    holds every code whether or not the data uses it.
    """
    base = snsynth.transform.base.ColumnTransformer
    from snsynth.transform.definitions import ColumnType

    class CodeTransformer(base):
        @property
        def output_type(self) -> Any:
            return ColumnType.CATEGORICAL

        @property
        def cardinality(self) -> list[int]:
            return [n_codes]

        def _fit(self, val: Any) -> None:
            pass

        def _clear_fit(self) -> None:
            # Nothing to learn: fitted from the start.
            self._fit_complete = True
            self.output_width = 1

        def _transform(self, val: Any) -> int:
            return int(val)

        def _inverse_transform(self, val: Any) -> int:
            return int(val)

    return CodeTransformer()


@contextlib.contextmanager
def numpy_global_seed(seed: int | None) -> Iterator[None]:
    """Seed NumPy's global generator for the block, then restore its state.

    snsynth and mbi draw from ``np.random`` (MST's and AIM's exponential
    mechanism choosing marginals, MST's spreading of merged categories, the
    sampling of rows); other users of ``np.random`` see no difference
    afterwards. ``None`` seeds it from fresh OS entropy rather than leaving it
    as it is: a program that called ``np.random.seed(0)`` beforehand (as many
    do, for reproducible models) would otherwise hand the exponential
    mechanism a stream anyone who reads the program can replay, and a choice
    made with known randomness is not differentially private.

    Examples
    --------
    >>> saved = np.random.get_state()
    >>> np.random.seed(0)
    >>> replayed = np.random.RandomState(0).random()
    >>> with numpy_global_seed(None):
    ...     fresh = np.random.random()
    >>> fresh != replayed, np.random.random() == replayed
    (True, True)
    >>> np.random.set_state(saved)
    """
    state = np.random.get_state()
    if seed is None:
        fresh = np.random.RandomState(np.random.MT19937(np.random.SeedSequence()))
        np.random.set_state(fresh.get_state())
    else:
        np.random.seed(seed)
    try:
        yield
    finally:
        np.random.set_state(state)
