"""The ``anomed-anonymizer`` command line. Nothing in the library imports it."""

from .main import main

__all__ = ["main"]
