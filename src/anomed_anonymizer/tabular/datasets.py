"""Where the Adult-like test table used to live; it is the tabular emulator's
default data now, :func:`anomed_anonymizer.emulator.adult_like`. The name stays
importable from here (this alias imports the emulator)."""

from ..emulator.adult import adult_like

__all__ = ["adult_like"]
