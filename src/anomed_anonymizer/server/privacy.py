"""``GET /privacy``: the privacy budget the served anonymizer spent.

The answer is ``{"mechanism", "epsilon", "delta", "accountant", "details"}``
(see :func:`~anomed_anonymizer.models.privacy.privacy_json`), every field
``null`` for a model without a differential-privacy guarantee. Before the
first fit it is 503, like ``/predict``. The budget is read from what was
persisted (the loaded model, or the release's metadata), so a restarted
server answers the same.
"""

from __future__ import annotations

from collections.abc import Callable

import falcon

from ..models.privacy import (
    PrivacyBudget,
    budget_from_record,
    privacy_budget_of,
    privacy_json,
)
from .releases import PersistingTabularDataAnonymizer
from .storage import ModelStore

__all__ = ["PrivacyResource"]


class PrivacyResource:
    """``GET /privacy`` from a function that finds the current budget.

    Parameters
    ----------
    budget : Callable[[], PrivacyBudget | None]
        Returns the served model's budget; raises
        :class:`~anomed_anonymizer.errors.NotReadyError` before the first
        fit, which the app's error handlers turn into 503.
    """

    def __init__(self, budget: Callable[[], PrivacyBudget | None]) -> None:
        self._budget = budget

    @classmethod
    def of_model_store(cls, store: ModelStore) -> PrivacyResource:
        """The budget of the newest model in ``store`` (a supervised server)."""
        return cls(lambda: privacy_budget_of(store.latest()))

    @classmethod
    def of_release(cls, persisting: PersistingTabularDataAnonymizer) -> PrivacyResource:
        """The budget stored with the last release (a tabular server)."""
        return cls(lambda: budget_from_record(persisting.get_budget()))

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = privacy_json(self._budget())
