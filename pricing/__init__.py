"""Provider price seeds built from public price maps (``python -m pricing.build``)."""
