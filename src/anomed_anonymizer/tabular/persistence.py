"""Where the release store used to live: persisting releases is the server's
job, in :mod:`anomed_anonymizer.server.releases` now."""

from .._moved import moved

__getattr__ = moved(__name__, "anomed_anonymizer.server.releases")
