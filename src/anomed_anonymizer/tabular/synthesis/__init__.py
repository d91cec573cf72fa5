"""Differentially private synthetic tables, with SmartNoise Synth (MST or AIM).

One module per concern:

- ``estimator``: :class:`DPSynthesizer`, which ties the others together;
- ``params``: checks of its parameters beyond ``tabular._checks``;
- ``domains``: each column's domain (declared, fixed by the dtype or chosen
  privately) and the codec between its values and the synthesizer's codes;
- ``selection``: the private choice of categories (thresholded noisy counts)
  and the derivation of its threshold and delta;
- ``budget``: the steps, their (epsilon, delta) and the public assumptions;
- ``smartnoise``: the glue to ``smartnoise-synth`` (bounds, fit, sample);
- ``utility``: the distances between the release's marginals and the input's.

The synthesizers come from the optional dependency ``smartnoise-synth``
(imported as ``snsynth``, with OpenDP), installed by the ``synth`` extra. It
is imported only when :meth:`DPSynthesizer.anonymize` runs, so that this
package, and ``anomed_anonymizer.tabular``, import without it.
"""

from .estimator import DPSynthesizer

__all__ = ["DPSynthesizer"]
