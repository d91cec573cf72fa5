"""Where the release store used to live; persisting releases is the server's
job, now in :mod:`anomed_anonymizer.server.releases`. The names stay importable
from here (this alias imports the server)."""

from ..server.releases import (
    AnonymizationError,
    AnonymizationInProgressError,
    NotAnonymizedError,
    PersistingTabularDataAnonymizer,
)

__all__ = [
    "AnonymizationError",
    "AnonymizationInProgressError",
    "NotAnonymizedError",
    "PersistingTabularDataAnonymizer",
]
