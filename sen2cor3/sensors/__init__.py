"""One description per spacecraft; the pipeline, the science and the writers are driven by them."""
from __future__ import annotations

from .model import ROLE_NAMES, Band, BoaEncoding, Roles, Sensor
from .msi import MSI_ROLES, S2A, S2B, S2C, S2D, S2P
from .oli import L8, L9, OLI_ROLES

SENSORS: dict[str, Sensor] = {s.mission_id: s for s in (S2A, S2B, S2C, S2D, S2P, L8, L9)}


def sensor_for(mission_id: str) -> Sensor:
    """The description of a mission id ('S2A', 'S2P', 'L8', 'LC08' ...); KeyError naming the known ones."""
    key = {"LC08": "L8", "LC09": "L9", "LANDSAT_8": "L8", "LANDSAT_9": "L9"}.get(mission_id.upper(),
                                                                                 mission_id.upper())
    if key not in SENSORS:
        raise KeyError(f"unknown spacecraft {mission_id!r}; known: {', '.join(SENSORS)}")
    return SENSORS[key]


__all__ = ["ROLE_NAMES", "Band", "BoaEncoding", "L8", "L9", "MSI_ROLES", "OLI_ROLES", "Roles", "S2A", "S2B", "S2C",
           "S2D", "S2P", "SENSORS", "Sensor", "sensor_for"]
