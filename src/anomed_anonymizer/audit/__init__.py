"""Privacy audit: how much does an anonymizer leak about its training data?

:class:`MembershipAudit` attacks a target with label-only attacks (what
AnoMed's attackers get from ``/predict``) and, where the model exposes scores,
with LiRA and RMIA on reference models; every figure comes with a confidence
interval (needs the ``audit`` extra). A regressor is attacked through its
loss (:mod:`.regression`: loss threshold, ART's black-box attack on the
loss, LiRA on the loss).
:class:`OneRunAudit` trains once with mislabelled canaries and bounds epsilon
from below (Steinke, Nasr & Jagielski 2023), to set beside the epsilon a DP
model claims.
:func:`audit_server_factory` serves ART's attack with the routes of an AnoMed
deanonymizer.
:func:`attribute_inference` asks whether ``/predict`` reveals a sensitive
feature beyond what imputation from the other features and ``y`` does.
"""

from .app import audit_server_factory
from .attribute import AttributeInferenceResult, attribute_inference
from .auditor import MembershipAudit
from .boundary import BoundaryDistanceAttack
from .label_only import ARTBlackBoxAttack, NoiseRobustnessAttack
from .metrics import FPR_LEVELS, AttackMetrics, evaluate_scores
from .one_run import (
    CanarySet,
    GuessOutcome,
    OneRunAudit,
    OneRunResult,
    epsilon_lower_bound,
    one_run_p_value,
)
from .plot import plot_roc
from .report import AttackResult, AuditReport
from .targets import RemotePredictor

__all__ = [
    "FPR_LEVELS",
    "ARTBlackBoxAttack",
    "AttackMetrics",
    "AttackResult",
    "AttributeInferenceResult",
    "AuditReport",
    "BoundaryDistanceAttack",
    "CanarySet",
    "GuessOutcome",
    "MembershipAudit",
    "NoiseRobustnessAttack",
    "OneRunAudit",
    "OneRunResult",
    "RemotePredictor",
    "attribute_inference",
    "audit_server_factory",
    "epsilon_lower_bound",
    "evaluate_scores",
    "one_run_p_value",
    "plot_roc",
]
