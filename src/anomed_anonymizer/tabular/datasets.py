"""Where the Adult-like test table used to live: it is the tabular emulator's
default data now, :func:`anomed_anonymizer.emulator.adult_like`."""

from .._moved import moved

__getattr__ = moved(__name__, "anomed_anonymizer.emulator.adult")
