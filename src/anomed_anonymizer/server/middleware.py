"""Where request logging used to live; it is now shared by every app, in
:mod:`anomed_anonymizer.web.middleware`. These names stay importable from here."""

from ..web.middleware import RequestLogger, configure_logging

__all__ = ["RequestLogger", "configure_logging"]
