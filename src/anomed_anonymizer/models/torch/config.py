"""How to train privately: the :class:`DPSGD` settings and their checks.

Plain data, no torch: ``import anomed_anonymizer`` builds these without
importing torch or Opacus.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

__all__ = ["ACCOUNTANTS", "DPSGD"]

#: Opacus' accountants :class:`DPSGD` can take.
ACCOUNTANTS = ("prv", "rdp", "gdp")


@dataclass(frozen=True)
class DPSGD:
    """Differentially private SGD (Opacus) for
    :class:`~anomed_anonymizer.TorchWrapper`.

    Give either a target ``epsilon`` (Opacus then picks the noise that spends
    at most that over all epochs) or a ``noise_multiplier`` (the ε spent
    follows from it). Either way the wrapper reports the ε its accountant
    measured after training.

    Parameters
    ----------
    epsilon : float | None
        The target ε of the whole training, > 0.
    delta : float | None
        The δ of the guarantee, in (0, 1). ``None`` takes ``1 / (10 n)`` for
        ``n`` training examples: δ must lie well below ``1 / n``, since a
        mechanism that publishes each example outright with probability δ is
        (0, δ)-DP, and at δ = 1/n it publishes one example in expectation
        (Dwork & Roth 2014, §2.3; Ponomareva et al. 2023, "How to DP-fy ML",
        §5.2, recommend δ ≪ 1/n). A δ of at least ``1 / n`` is accepted with
        a warning.
    noise_multiplier : float | None
        Standard deviation of the Gaussian noise relative to
        ``max_grad_norm``, instead of ``epsilon``.
    max_grad_norm : float
        Every example's gradient is clipped to this L2 norm.
    poisson_sampling : bool
        Draw each batch by including every example independently (what the
        accountant assumes). ``False`` shuffles into fixed-size batches: the
        reported ε is then only an approximation.
    accountant : str
        Opacus' accountant: ``"prv"`` (privacy random variables, the
        tightest), ``"rdp"`` (Rényi DP) or ``"gdp"`` (Gaussian DP).
    noise_seed : int | None
        ``None`` (the default, and the only setting whose guarantee holds):
        the batch sampling and the Gaussian noise draw from a generator seeded
        with 63 bits of fresh OS entropy at every fit. An integer seeds both
        for a reproducible run: anyone who knows the seed can then retrain on
        the other rows with and without a candidate and compare with the
        release, so **the ε is void**. A seeded run warns and is recorded as
        ``"noise_seeded": true`` in
        :meth:`~anomed_anonymizer.TorchWrapper.privacy_budget` (``GET
        /privacy``) and in the audit report.

    Raises
    ------
    ValueError
        If neither or both of ``epsilon`` and ``noise_multiplier`` are given,
        or a value is out of range (the message names it).

    Examples
    --------
    >>> DPSGD(epsilon=3.0).max_grad_norm
    1.0
    >>> DPSGD()
    Traceback (most recent call last):
    ...
    ValueError: DPSGD needs epsilon (a target budget) or noise_multiplier, not neither
    """

    epsilon: float | None = None
    delta: float | None = None
    noise_multiplier: float | None = None
    max_grad_norm: float = 1.0
    poisson_sampling: bool = True
    accountant: str = "prv"
    noise_seed: int | None = None

    def __post_init__(self) -> None:
        if (self.epsilon is None) == (self.noise_multiplier is None):
            which = "neither" if self.epsilon is None else "both"
            raise ValueError(
                "DPSGD needs epsilon (a target budget) or noise_multiplier, "
                f"not {which}"
            )
        for name in ("epsilon", "noise_multiplier", "max_grad_norm"):
            value = getattr(self, name)
            if value is not None and not positive_finite(value):
                raise ValueError(
                    f"DPSGD {name} must be a positive number, got {value!r}"
                )
        if self.delta is not None and not (
            isinstance(self.delta, (int, float)) and 0.0 < self.delta < 1.0
        ):
            raise ValueError(f"DPSGD delta must lie in (0, 1), got {self.delta!r}")
        if self.noise_seed is not None and (
            isinstance(self.noise_seed, bool) or not isinstance(self.noise_seed, int)
        ):
            raise ValueError(
                f"DPSGD noise_seed must be an integer or None, got {self.noise_seed!r}"
            )
        if self.accountant not in ACCOUNTANTS:
            raise ValueError(
                f"DPSGD accountant must be one of {', '.join(ACCOUNTANTS)}, "
                f"got {self.accountant!r}"
            )


def positive_finite(value: Any) -> bool:
    """Whether ``value`` is a real number (not a bool) in (0, ∞)."""
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value > 0
    )
