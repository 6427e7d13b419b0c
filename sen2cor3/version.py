"""Processor identity (the lines Sen2Cor prints and writes into reports) and the exit statuses.

Kept apart from ``cli`` and ``pipeline`` so both can use them without importing each other."""
from __future__ import annotations

PROCESSOR_NAME = "Sen2Cor"
PROCESSOR_VERSION = "03.02.00"
PROCESSOR_DATE = "2024.12.18"
PRODUCT_VERSION = "15.0"

#: The start line Sen2Cor prints, per input type.
PROCESSOR_ID_S2 = (f"{PROCESSOR_NAME}. Version: {PROCESSOR_VERSION}, created: {PROCESSOR_DATE}, "
                   f"supporting Level-1C product version {PRODUCT_VERSION}")
PROCESSOR_ID_LANDSAT = (f"{PROCESSOR_NAME}. Version: {PROCESSOR_VERSION}, created: {PROCESSOR_DATE}, "
                        "supporting Level-1TP Collection_1-2 Landsat_8-9")
PROCESSOR_ID_HYPER = (f"{PROCESSOR_NAME}. Version: {PROCESSOR_VERSION}, created: {PROCESSOR_DATE}, "
                      "supporting Hyper MS Level-1C")
DESCRIPTION = (f"{PROCESSOR_ID_S2}, supporting Level-1TP Collection_1-2 Landsat_8-9, "
               "supporting Hyper MS Level-1C.")

EXIT_SUCCESS = 0
EXIT_FAILURE = 1
EXIT_INTERRUPTED = 130
