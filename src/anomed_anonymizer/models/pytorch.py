"""Where :class:`~anomed_anonymizer.TorchWrapper` used to live: it is the
package :mod:`anomed_anonymizer.models.torch` now."""

from .._moved import moved

__getattr__ = moved(__name__, "anomed_anonymizer.models.torch")
