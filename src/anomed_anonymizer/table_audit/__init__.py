"""Audit a tabular release before you submit it.

:func:`audit_table` anonymizes a table with your anonymizer, holding out
control records, and reports for the release, side by side:

- **re-identification risk** under the prosecutor, journalist and marketer
  models (ARX's summaries: highest and average risk, records at risk),
  computed on equivalence classes for generalization and microaggregation and
  on the nearest match for synthetic data (:mod:`.risk`);
- **attacks**: Anonymeter's singling out (univariate and multivariate),
  linkability and inference, each with a confidence interval against the
  control records, and AnoMed's reconstruction of the sensitive column
  (:mod:`.attacks`);
- **utility**: the challenge's score and the shared metrics (NCP, SSE/SST,
  marginal and pairwise TVD; :mod:`.utility`).

:class:`TableAudit` writes JSON, a terminal table and an HTML page with plots.
Anonymeter and matplotlib come with the ``audit-table`` extra.
"""

from .._moved import moved
from .attacks import TableAttackResult, anonymeter_available
from .core import audit_release, audit_table, split_control
from .report import TableAudit
from .risk import ReidentificationRisk, RiskSummary

__all__ = [
    "ReidentificationRisk",
    "RiskSummary",
    "TableAttackResult",
    "TableAudit",
    "anonymeter_available",
    "audit_release",
    "audit_table",
    "split_control",
]

# Renamed from AttackResult: the membership audit has an AttackResult of its own.
__getattr__ = moved(
    __name__, AttackResult="anomed_anonymizer.table_audit.attacks:TableAttackResult"
)
