"""Sentinel-2 MSI (S2A, S2B, S2C, S2D) and the Hyper MS "S2P" products made from PRISMA in MSI bands.

Band facts: MTD_MSIL1C Spectral_Information (central wavelengths rounded as Sen2Cor's AC GIPP lists them,
native resolutions 10/20/60 m). Roles: Sen2Cor's scene classification and AC use B8A as the NIR, B8A/B09 as
the APDA water-vapour pair, B10 for cirrus, B11/B12 for the SWIR tests and the DDV.
"""
from __future__ import annotations

from types import MappingProxyType

from .model import Band, BoaEncoding, Roles, Sensor

#: (name, band_id, centre nm, native resolution m)
_MSI_BANDS = (("B01", 0, 443, 60), ("B02", 1, 490, 10), ("B03", 2, 560, 10), ("B04", 3, 665, 10),
              ("B05", 4, 705, 20), ("B06", 5, 740, 20), ("B07", 6, 783, 20), ("B08", 7, 842, 10),
              ("B8A", 8, 865, 20), ("B09", 9, 945, 60), ("B10", 10, 1375, 60), ("B11", 11, 1610, 20),
              ("B12", 12, 2190, 20))

MSI_ROLES = Roles(coastal="B01", blue="B02", green="B03", red="B04", red_edge="B05", nir="B8A", nir_broad="B08",
                  wv_reference="B8A", wv_absorption="B09", cirrus="B10", swir1="B11", swir2="B12")

#: Image layers per output resolution, in the order Sen2Cor's toolbox mode lists them in MTD_MSIL2A.xml
#: (real Sen2Cor-made product S2B_MSIL2A_20230122T231849_N0400_R087_T01UBT: bands, SCL, AOT, WVP, TCI).
_MSI_LAYERS = MappingProxyType({
    10: ("B02", "B03", "B04", "B08", "AOT", "WVP", "TCI"),
    20: ("B01", "B02", "B03", "B04", "B05", "B06", "B07", "B8A", "B11", "B12", "SCL", "AOT", "WVP", "TCI"),
    60: ("B01", "B02", "B03", "B04", "B05", "B06", "B07", "B8A", "B09", "B11", "B12", "SCL", "AOT", "WVP",
         "TCI"),
})
#: Bands imported by Sen2Cor's 20 m / 60 m runs (B08 is not used there; B10 only for the classification).
_MSI_BASE = ("B01", "B02", "B03", "B04", "B05", "B06", "B07", "B8A", "B09", "B10", "B11", "B12")
_TCI = ("B04", "B03", "B02")
_BOA = BoaEncoding(quantification=10000.0, offset_dn=1000)


def _msi(mission: str, table: str) -> Sensor:
    bands = tuple(Band(n, i, float(w), r, n) for n, i, w, r in _MSI_BANDS)
    return Sensor(mission_id=mission, instrument="MSI", bands=bands, roles=MSI_ROLES, table_sensor=table,
                  wv_source="APDA", tci_bands=_TCI, boa=_BOA, l2a_layers=_MSI_LAYERS, base_bands=_MSI_BASE,
                  fine_bands=("B02", "B03", "B04", "B08"), native_resolutions=(10, 20, 60))


S2A = _msi("S2A", "S2A")
S2B = _msi("S2B", "S2B")
S2C = _msi("S2C", "S2C")
#: No S2D responses are published yet: S2C's tables (same instrument design) until they are.
S2D = _msi("S2D", "S2C")


#: Hyper MS L2A layers at 30 m (Sen2Cor 3 ``exportBandList`` for Hyper: B01-B07, B8A, B11, B12, no B08/B09/B10).
_S2P_LAYERS = MappingProxyType({
    30: ("B01", "B02", "B03", "B04", "B05", "B06", "B07", "B8A", "B11", "B12", "SCL", "AOT", "WVP", "TCI"),
})


def _hyper_ms() -> Sensor:
    """S2P: prisma4sen2like aggregates PRISMA spectra with MSI responses into the 13 MSI bands, GeoTIFFs on the
    tile's 30 m grid except B01 (60 m, ``adapter.IMAGES_RES``). Sen2Cor 3 processes them in one 30 m pass with
    its S2A 12-band tables (B08 left out; B09 for APDA, B10 for the classification) and writes the bands
    above; it needs B08 in the L1C only because the product lists it."""
    bands = tuple(Band(n, i, float(w), 60 if n == "B01" else 30, n) for n, i, w, _ in _MSI_BANDS)
    layers = _S2P_LAYERS
    return Sensor(mission_id="S2P", instrument="MSI", bands=bands, roles=MSI_ROLES, table_sensor="S2A",
                  wv_source="APDA", tci_bands=_TCI, boa=_BOA, l2a_layers=layers, base_bands=_MSI_BASE,
                  fine_bands=(), native_resolutions=(30,), classic_sc_only=True, processor_kind="HYPER")


S2P = _hyper_ms()
