"""sen2cor3: an open re-implementation of ESA Sen2Cor 3 (03.02.00)."""
__version__ = "0.1.0"

