"""The commands of ``anomed-anonymizer``, one module each: its flags and what it
calls (the work lives beside, in :mod:`anomed_anonymizer.cli`, and below)."""
