"""Ready-to-serve example anonymizers (used by ``anomed-anonymizer demo``)."""
