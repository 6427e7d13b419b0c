"""Landsat 8 OLI and Landsat 9 OLI-2 (Collection-2 L1TP), as Sen2Cor 3 processes them at 30 m.

Band centres: USGS Landsat 8/9 data users handbook. OLI has no red-edge and no water-vapour band: the water
vapour comes from CAMS or the GIPP default (Sen2Cor 3's Landsat configuration); B9 is the cirrus band; the
thermal bands B10/B11 and the 15 m panchromatic B8 are carried, not corrected.
"""
from __future__ import annotations

from types import MappingProxyType

from .model import Band, BoaEncoding, Roles, Sensor

_OLI_BANDS = (("B1", 1, 443, 30), ("B2", 2, 482, 30), ("B3", 3, 561, 30), ("B4", 4, 655, 30),
              ("B5", 5, 865, 30), ("B6", 6, 1609, 30), ("B7", 7, 2201, 30), ("B9", 9, 1373, 30))

OLI_ROLES = Roles(coastal="B1", blue="B2", green="B3", red="B4", nir="B5", cirrus="B9", swir1="B6", swir2="B7")

_LAYERS = MappingProxyType({30: ("B1", "B2", "B3", "B4", "B5", "B6", "B7", "SCL", "AOT", "WVP", "TCI")})


def _oli(mission: str) -> Sensor:
    bands = tuple(Band(n, i, float(w), r, n) for n, i, w, r in _OLI_BANDS)
    return Sensor(mission_id=mission, instrument="OLI", bands=bands, roles=OLI_ROLES, table_sensor=mission,
                  wv_source="CAMS", tci_bands=("B4", "B3", "B2"),
                  boa=BoaEncoding(quantification=10000.0, offset_dn=1000, always_offset=True),
                  l2a_layers=_LAYERS, base_bands=tuple(b[0] for b in _OLI_BANDS), native_resolutions=(30,),
                  classic_sc_only=True, processor_kind="LANDSAT", carried_bands=("B8", "B10", "B11"))


L8 = _oli("L8")
L9 = _oli("L9")
