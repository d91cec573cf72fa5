"""Where request logging used to live: every app shares it now, in
:mod:`anomed_anonymizer.web.middleware`."""

from .._moved import moved

__getattr__ = moved(__name__, "anomed_anonymizer.web.middleware")
