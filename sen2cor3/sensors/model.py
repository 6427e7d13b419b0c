"""What a sensor description holds: bands, the roles the science uses, tables, encodings.

The pipeline is driven by these frozen values, never by band-name literals: the scene classification and the
atmospheric correction ask for a role (``red``, ``nir``, ``cirrus``...), and a role a sensor lacks switches
the steps that need it off in one place. Nothing here opens a file.
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Mapping, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Band:
    """One spectral band as the L1 product and our 6S tables know it."""
    name: str                 # product band name: 'B02', 'B8A' (MSI), 'B2' (OLI)
    band_id: int              # MTD_MSIL1C bandId / Landsat band number
    wavelength_nm: float      # centre wavelength
    resolution_m: int         # native resolution in the L1 product
    table_band: str           # band of the 6S tables (``rt/data/<table sensor>.npz``)


@dataclass(frozen=True)
class Roles:
    """Band playing each role of Sen2Cor's science (None: the sensor has no such band).

    coastal (aerosol), blue, green, red, red_edge (705 nm, snow and Hollstein tests), nir (the narrow NIR of
    the classification and DDV: MSI B8A), nir_broad (MSI B08, written at 10 m only), wv_reference and
    wv_absorption (APDA water vapour pair), cirrus (1375 nm), swir1 (1.6 um), swir2 (2.2 um).
    """
    coastal: str | None = None
    blue: str | None = None
    green: str | None = None
    red: str | None = None
    red_edge: str | None = None
    nir: str | None = None
    nir_broad: str | None = None
    wv_reference: str | None = None
    wv_absorption: str | None = None
    cirrus: str | None = None
    swir1: str | None = None
    swir2: str | None = None

    def band(self, role: str) -> str | None:
        """The band of ``role`` (None when the sensor lacks it); KeyError for an unknown role name."""
        if role not in ROLE_NAMES:
            raise KeyError(f"unknown role {role!r}; roles are {', '.join(ROLE_NAMES)}")
        return getattr(self, role)

    def select(self, by_band: Mapping[str, T]) -> dict[str, T]:
        """{role: value} for every role whose band is in ``by_band`` (band-keyed arrays -> role-keyed)."""
        out = {}
        for role in ROLE_NAMES:
            name = getattr(self, role)
            if name is not None and name in by_band:
                out[role] = by_band[name]
        return out

    def has(self, *roles: str) -> bool:
        """True when every role in ``roles`` has a band."""
        return all(self.band(r) is not None for r in roles)


ROLE_NAMES: tuple[str, ...] = tuple(f.name for f in fields(Roles))


@dataclass(frozen=True)
class BoaEncoding:
    """How surface reflectance is stored: DN = rho * quantification + offset (0 no data, 65535 saturated).

    ``offset_dn`` applies when the L1 product carries a radiometric offset (Sentinel-2 baseline 04.00 on,
    Hyper MS); ``always_offset`` for inputs whose L2A always has it."""
    quantification: float = 10000.0
    offset_dn: float = 1000
    always_offset: bool = False
    nodata_dn: int = 0
    saturated_dn: int = 65535
    #: Largest DN written (Sentinel-2: 32767, Sen2Cor's clip; Landsat: the uint16 range).
    max_dn: int = 32767
    #: DN = trunc(x + 0.5) (Sentinel-2) or trunc(x) (Sen2Cor 3's Landsat export).
    round_half_up: bool = True

    def offset_for(self, l1_has_offset: bool) -> int:
        """The DN offset of a product (Sen2Cor: +1000 from baseline 04.00 on, none before)."""
        return self.offset_dn if (l1_has_offset or self.always_offset) else 0


@dataclass(frozen=True)
class Sensor:
    """Everything the processor needs to know about one spacecraft's instrument."""
    mission_id: str                         # 'S2A', 'S2P', 'L8' ...
    instrument: str                         # 'MSI', 'OLI'
    bands: tuple[Band, ...]                 # in band_id order
    roles: Roles
    table_sensor: str                       # key of the shipped 6S tables
    wv_source: str                          # 'APDA' (own bands) or 'CAMS' (CAMS / GIPP default)
    tci_bands: tuple[str, ...]              # red, green, blue
    boa: BoaEncoding
    #: IMG_DATA layers per output resolution in Sen2Cor's MTD order (bands, SCL, AOT, WVP, TCI).
    l2a_layers: Mapping[int, tuple[str, ...]]
    #: Bands the classification and the base-resolution correction read (Sen2Cor's 20/60 m import).
    base_bands: tuple[str, ...]
    #: Bands of the 10 m run (Sentinel-2 only).
    fine_bands: tuple[str, ...] = ()
    #: Resolutions the L1 product is delivered at (its grids).
    native_resolutions: tuple[int, ...] = ()
    #: Bands of the L1 product that are carried into the L2 product unprocessed (Landsat pan and thermal).
    carried_bands: tuple[str, ...] = ()
    #: Sen2Cor 3 runs the classic (2.9) scene classification whatever ``--sc_classic`` says (Hyper MS, Landsat).
    classic_sc_only: bool = False
    #: Sen2Cor's start line for this input (``PROCESSOR_ID_*`` of :mod:`sen2cor3.version`).
    processor_kind: str = "S2"

    @property
    def band_names(self) -> tuple[str, ...]:
        return tuple(b.name for b in self.bands)

    def band(self, name: str) -> Band:
        for b in self.bands:
            if b.name == name:
                return b
        raise KeyError(f"{self.mission_id} has no band {name!r}")

    @property
    def wavelength_um(self) -> dict[str, float]:
        """{band: centre wavelength in micrometres}."""
        return {b.name: b.wavelength_nm / 1000.0 for b in self.bands}

    @property
    def resolution_m(self) -> dict[str, int]:
        """{band: native resolution in metres}."""
        return {b.name: b.resolution_m for b in self.bands}

    def output_bands(self, resolution_m: int) -> tuple[str, ...]:
        """The surface-reflectance bands written at ``resolution_m`` (no SCL/AOT/WVP/TCI)."""
        return tuple(n for n in self.l2a_layers.get(resolution_m, ()) if n in self.band_names)
