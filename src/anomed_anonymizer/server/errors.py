"""Where the error mapping used to live: every app shares it now, in
:mod:`anomed_anonymizer.web.errors`."""

from .._moved import moved

__getattr__ = moved(
    __name__,
    "anomed_anonymizer.web.errors",
    AnonymizerInputError="anomed_anonymizer.errors:InvalidInputError",
)
