"""What privacy guarantee an anonymizer gives: the budget it spent.

An anonymizer that knows its guarantee says so through the
:class:`PrivacyAccounted` protocol (one method, ``privacy_budget()``), as
:class:`~anomed_anonymizer.TorchWrapper` does. For models that predate the
protocol, :func:`privacy_budget_of` looks inside: diffprivlib estimators (and
scikit-learn pipelines made only of them) report their ε and their budget
accountant's total; a wrapper is asked about the model it wraps. Everything
else has no guarantee, and its budget is ``None``.

:func:`privacy_json` gives the wire form served at ``GET /privacy`` and in
``/fit``'s answer: ``{"mechanism", "epsilon", "delta", "accountant",
"details"}``, all ``null`` for a model without a guarantee.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

__all__ = [
    "PrivacyAccounted",
    "PrivacyBudget",
    "budget_from_record",
    "distribution_version",
    "privacy_budget_of",
    "privacy_json",
]


@dataclass(frozen=True)
class PrivacyBudget:
    """The (ε, δ)-differential-privacy guarantee a fitted anonymizer gives.

    Parameters
    ----------
    mechanism : str
        What made the release private, e.g. ``"DP-SGD (Opacus)"``.
    epsilon : float
        The ε *spent*: the guarantee, not a request.
    delta : float
        The δ of the guarantee (0 for pure ε-DP).
    accountant : str
        How the spending was accounted, e.g. ``"prv"`` (Opacus' privacy
        random variable accountant) or ``"diffprivlib BudgetAccountant"``.
    details : Mapping[str, Any], optional
        Plain JSON facts behind the figures (noise multiplier, steps, library
        version, ...). Only public or differentially private values: it is
        served to anyone.
    """

    mechanism: str
    epsilon: float
    delta: float
    accountant: str
    details: Mapping[str, Any] = field(default_factory=dict)

    @property
    def void_reasons(self) -> list[str]:
        """Why the stated ε does not hold, in words; empty when nothing known
        voids it.

        Read from ``details``: ``noise_seeded`` (the noise came from a seed
        an adversary can know) and ``privacy_leaks`` (parameters taken from
        the data that the budget did not pay for).

        Examples
        --------
        >>> PrivacyBudget("Laplace", 1.0, 0.0, "sequential").void_reasons
        []
        >>> PrivacyBudget("Laplace", 1.0, 0.0, "sequential",
        ...               {"noise_seeded": True}).void_reasons[0][:22]
        'the noise was seeded ('
        """
        reasons = []
        if self.details.get("noise_seeded"):
            source = self.details.get("noise_source") or "a seed"
            reasons.append(f"the noise was seeded ({source})")
        reasons.extend(
            f"a parameter was taken from the data: {leak}"
            for leak in self.details.get("privacy_leaks") or ()
        )
        return reasons

    def to_json(self) -> dict[str, Any]:
        """The wire form: ``{"mechanism", "epsilon", "delta", "accountant",
        "details"}``; ``details.void_reasons`` lists what voids the ε (see
        :attr:`void_reasons`), where anything does."""
        details = dict(self.details)
        reasons = self.void_reasons
        if reasons:
            details["void_reasons"] = reasons
        return {
            "mechanism": self.mechanism,
            "epsilon": float(self.epsilon),
            "delta": float(self.delta),
            "accountant": self.accountant,
            "details": details,
        }


@runtime_checkable
class PrivacyAccounted(Protocol):
    """An anonymizer that reports its own privacy budget."""

    def privacy_budget(self) -> PrivacyBudget | None:
        """The guarantee of the fitted model, or ``None`` if it has none."""


def privacy_json(budget: PrivacyBudget | None) -> dict[str, Any]:
    """The JSON served for ``budget``: every field ``null`` when it is ``None``.

    Parameters
    ----------
    budget : PrivacyBudget | None
        What :func:`privacy_budget_of` found.

    Returns
    -------
    dict
        ``{"mechanism", "epsilon", "delta", "accountant", "details"}``.

    Examples
    --------
    >>> privacy_json(None)["epsilon"] is None
    True
    >>> privacy_json(PrivacyBudget("Laplace", 1.0, 0.0, "sequential"))["epsilon"]
    1.0
    """
    if budget is None:
        return dict.fromkeys(("mechanism", "epsilon", "delta", "accountant", "details"))
    return budget.to_json()


def privacy_budget_of(anonymizer: Any) -> PrivacyBudget | None:
    """Find the privacy budget a fitted anonymizer spent.

    Parameters
    ----------
    anonymizer : Any
        A :class:`PrivacyAccounted` anonymizer, a
        :class:`~anomed_anonymizer.WrappedAnonymizer` (its wrapped model is
        examined), a diffprivlib estimator, or a scikit-learn ``Pipeline``
        whose every step is a diffprivlib estimator (their budgets add up).

    Returns
    -------
    PrivacyBudget | None
        ``None`` for anything else: no guarantee is known.

    Examples
    --------
    >>> from sklearn.naive_bayes import GaussianNB
    >>> privacy_budget_of(GaussianNB()) is None
    True
    """
    if isinstance(anonymizer, PrivacyAccounted):
        return anonymizer.privacy_budget()
    from .wrappers import WrappedAnonymizer

    if isinstance(anonymizer, WrappedAnonymizer):
        return privacy_budget_of(anonymizer.wrapped)
    leaks = list(getattr(anonymizer, "anomed_privacy_leaks_", None) or [])
    if _is_diffprivlib(anonymizer):
        return _diffprivlib_budget([anonymizer], leaks)
    steps = getattr(anonymizer, "steps", None)
    if _is_sklearn_pipeline(anonymizer) and steps:
        estimators = [step for _, step in steps if step not in (None, "passthrough")]
        if estimators and all(_is_diffprivlib(step) for step in estimators):
            return _diffprivlib_budget(estimators, leaks)
    return None


def budget_from_record(record: Mapping[str, Any] | None) -> PrivacyBudget | None:
    """Turn a stored budget record (e.g.
    :meth:`~anomed_anonymizer.tabular.DPSynthesizer.budget_record`) into a
    :class:`PrivacyBudget`.

    Parameters
    ----------
    record : Mapping[str, Any] | None
        Needs ``"mechanism"`` and ``"epsilon"``; ``"delta"`` defaults to 0,
        the accountant is ``"accountant"``, else ``"composition"``. The rest
        becomes ``details``.

    Returns
    -------
    PrivacyBudget | None
        ``None`` for ``None`` or a record without ``"epsilon"``.

    Examples
    --------
    >>> budget_from_record({"mechanism": "MST", "epsilon": 1.0, "delta": 1e-6,
    ...                     "composition": "sequential"}).accountant
    'sequential'
    """
    if not record or record.get("epsilon") is None:
        return None
    known = ("mechanism", "epsilon", "delta", "accountant")
    return PrivacyBudget(
        mechanism=str(record.get("mechanism", "unknown")),
        epsilon=float(record["epsilon"]),
        delta=float(record.get("delta") or 0.0),
        accountant=str(
            record.get("accountant") or record.get("composition") or "unknown"
        ),
        details={key: value for key, value in record.items() if key not in known},
    )


def _is_diffprivlib(model: Any) -> bool:
    return type(model).__module__.split(".")[0] == "diffprivlib" and isinstance(
        getattr(model, "epsilon", None), (int, float)
    )


def _is_sklearn_pipeline(model: Any) -> bool:
    return any(
        cls.__module__ == "sklearn.pipeline" and cls.__name__ == "Pipeline"
        for cls in type(model).__mro__
    )


def _diffprivlib_budget(models: list[Any], leaks: list[str]) -> PrivacyBudget:
    # Sequential composition: the steps of a pipeline all see the same rows.
    # diffprivlib draws from the OS's secure generator unless random_state is
    # set: a set one is a public seed, and the ε does not hold against anyone
    # who knows it.
    seeded = [
        type(model).__name__
        for model in models
        if getattr(model, "random_state", None) is not None
    ]
    epsilon = sum(float(model.epsilon) for model in models)
    delta = sum(float(getattr(model, "delta", 0.0) or 0.0) for model in models)
    names = " + ".join(type(model).__name__ for model in models)
    details: dict[str, Any] = {
        "library": "diffprivlib",
        "library_version": distribution_version("diffprivlib"),
        "privacy_unit": "one training example",
        "steps": [
            {
                "model": type(model).__name__,
                "epsilon": float(model.epsilon),
                "delta": float(getattr(model, "delta", 0.0) or 0.0),
            }
            for model in models
        ],
        "noise_seeded": bool(seeded),
        "noise_source": (
            f"random_state set on {', '.join(seeded)}: the epsilon does not hold"
            if seeded
            else "diffprivlib's secure generator (OS entropy)"
        ),
        # Parameters diffprivlib took from the data (PrivacyLeakWarning at
        # fit), which the budget does not pay for: the epsilon does not hold.
        "privacy_leaks": leaks,
    }
    accountant = getattr(models[-1], "accountant", None)
    total = getattr(accountant, "total", None)
    if callable(total):
        spent_epsilon, spent_delta = total()
        # The accountant is shared by every model fitted with it in the
        # process (diffprivlib's default one is global), so its total can
        # exceed this model's own epsilon.
        details["accountant_total"] = {
            "epsilon": float(spent_epsilon),
            "delta": float(spent_delta),
            "spends": len(getattr(accountant, "spent_budget", ())),
        }
    return PrivacyBudget(
        mechanism=f"diffprivlib {names}",
        epsilon=epsilon,
        delta=delta,
        accountant="diffprivlib BudgetAccountant",
        details=details,
    )


def distribution_version(distribution: str) -> str | None:
    """The installed version of ``distribution`` (a pip name, e.g.
    ``"opacus"``), recorded beside a budget; ``None`` if it is not installed.

    Examples
    --------
    >>> distribution_version("no-such-distribution") is None
    True
    """
    from importlib import metadata

    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None
