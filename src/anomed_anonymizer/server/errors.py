"""Where the error mapping used to live; it is now shared by every app, in
:mod:`anomed_anonymizer.web.errors`. These names stay importable from here."""

from __future__ import annotations

from ..errors import InvalidInputError as AnonymizerInputError
from ..web.errors import register_error_handlers

__all__ = ["AnonymizerInputError", "register_error_handlers"]
