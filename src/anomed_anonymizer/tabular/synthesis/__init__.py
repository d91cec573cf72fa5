"""Differentially private synthetic tables, with SmartNoise Synth (MST or AIM).

The synthesizers come from the optional dependency ``smartnoise-synth``
(imported as ``snsynth``), installed by the ``synth`` extra. It is imported
only when :meth:`DPSynthesizer.anonymize` runs, so that this package, and
``anomed_anonymizer.tabular``, import without it.
"""

from .estimator import DPSynthesizer

__all__ = ["DPSynthesizer"]
