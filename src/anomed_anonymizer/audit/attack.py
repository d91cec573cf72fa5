"""A black-box membership-inference attack on a served anonymizer.

ART's ``MembershipInferenceBlackBox`` learns, from members and non-members
with known labels, how the anonymizer's answers differ between the two. Its
success (accuracy, TPR, FPR) estimates how much the model leaks about its
training data — the same attack the AnoMed deanonymizer template runs.
"""

from __future__ import annotations

import numpy as np
from art.attacks.inference.membership_inference import MembershipInferenceBlackBox

from .remote import RemoteClassifier

__all__ = ["MembershipInferenceAudit"]


class MembershipInferenceAudit:
    """Membership inference against ``predict_url``.

    Parameters
    ----------
    predict_url : str
        The anonymizer's ``/predict``.
    n_features : int
        Features per sample.
    n_classes : int
        Classes the anonymizer predicts.
    attack_model_type : str, optional
        ART's attack model: ``"rf"`` (random forest, default), ``"gb"`` or
        ``"nn"``.
    timeout : float, optional
        Seconds to wait for each ``/predict``.
    """

    def __init__(
        self,
        predict_url: str,
        n_features: int,
        n_classes: int,
        attack_model_type: str = "rf",
        timeout: float = 60.0,
    ) -> None:
        self.predict_url = predict_url
        self.n_features = n_features
        self.n_classes = n_classes
        self.attack_model_type = attack_model_type
        self.timeout = timeout
        self.attack_: MembershipInferenceBlackBox | None = None

    def fit(
        self,
        X_member: np.ndarray,
        y_member: np.ndarray,
        X_nonmember: np.ndarray,
        y_nonmember: np.ndarray,
    ) -> MembershipInferenceAudit:
        """Train the attack on known members and non-members."""
        target = RemoteClassifier(
            self.predict_url, (self.n_features,), self.n_classes, timeout=self.timeout
        )
        attack = MembershipInferenceBlackBox(
            estimator=target, attack_model_type=self.attack_model_type
        )
        attack.fit(x=X_member, y=y_member, test_x=X_nonmember, test_y=y_nonmember)
        self.attack_ = attack
        return self

    def infer_memberships(self, X: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Guess, per sample, whether it was in the training data.

        Raises
        ------
        RuntimeError
            If :meth:`fit` was not called.
        """
        if self.attack_ is None:
            raise RuntimeError("the attack is not fitted yet: call fit first")
        return np.squeeze(self.attack_.infer(x=X, y=y)).astype(np.bool_)
