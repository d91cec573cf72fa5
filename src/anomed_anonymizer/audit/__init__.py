"""Privacy self-audit: attack your own anonymizer the way AnoMed's
deanonymizers do (needs the ``audit`` extra: adversarial-robustness-toolbox)."""

from .app import audit_server_factory
from .attack import MembershipInferenceAudit
from .remote import RemoteClassifier

__all__ = ["MembershipInferenceAudit", "RemoteClassifier", "audit_server_factory"]
