"""Look-up-table builder and checker for the 6S-based atmospheric tables (``python -m sen2cor3.lut``)."""
