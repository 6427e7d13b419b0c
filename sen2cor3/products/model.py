"""The in-memory description of an input L1 product: the contract between readers and the rest.

Readers (:mod:`sen2cor3.readers`: the Sentinel-2 / Hyper MS SAFE and the Landsat C2 L1TP folder) fill these frozen
dataclasses; science code and writers only read them. The Sentinel-2 names (L1C, SAFE, granule) are kept: a
Landsat product fills them with its own facts (folder, product id, path/row). Nothing here opens a file.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np

from sen2cor3.sensors import S2A, BoaEncoding, Sensor, sensor_for

#: Sentinel-2 MSI band names in band_id order (band_id 0..12, as in MTD_MSIL1C ``bandId``): the sensor
#: description's, kept under their historical names.
S2_BANDS: tuple[str, ...] = S2A.band_names
#: Native resolution (m) of each MSI band.
S2_BAND_RESOLUTION_M: dict[str, int] = S2A.resolution_m
#: Tile side (pixels) per resolution for a full 109.8 km MGRS tile.
S2_TILE_SIZE: dict[int, int] = {10: 10980, 20: 5490, 60: 1830}


@dataclass(frozen=True)
class BandInfo:
    """Radiometric facts of one band as the product metadata states them."""
    name: str                      # 'B01' .. 'B12', 'B8A'
    band_id: int                   # 0..12
    resolution_m: int              # native resolution
    solar_irradiance: float        # W m-2 um-1 (MTD_MSIL1C Solar_Irradiance_List)
    radio_add_offset: float = 0.0  # RADIO_ADD_OFFSET (-1000 from PB 04.00 on, 0 before)
    wavelength_central_nm: float = float("nan")
    wavelength_min_nm: float = float("nan")
    wavelength_max_nm: float = float("nan")


@dataclass(frozen=True)
class Geoposition:
    """Tile grid at one resolution (MTD_TL Tile_Geocoding): upper-left corner and pixel size."""
    resolution_m: int
    ulx: float
    uly: float
    xdim: float                    # pixel width (m), positive
    ydim: float                    # pixel height (m), negative as in MTD_TL
    nrows: int
    ncols: int

    @property
    def geotransform(self) -> tuple[float, float, float, float, float, float]:
        """GDAL geotransform of this grid."""
        return (self.ulx, self.xdim, 0.0, self.uly, 0.0, self.ydim)


@dataclass(frozen=True)
class AngleGrids:
    """Sun and viewing angles on the 5 km MTD_TL grid (rows from north, columns from west), degrees.

    View grids are per band, merged over detectors (a cell takes the value of the detector that covers it;
    NaN where no detector does). The grid origin is the tile's upper-left corner.
    """
    col_step_m: float
    row_step_m: float
    sun_zenith: np.ndarray         # (23, 23) float
    sun_azimuth: np.ndarray
    view_zenith: dict[str, np.ndarray]
    view_azimuth: dict[str, np.ndarray]
    mean_sun_zenith: float
    mean_sun_azimuth: float
    mean_view_zenith: dict[str, float]
    mean_view_azimuth: dict[str, float]


@dataclass(frozen=True)
class L1CProduct:
    """Everything the processor needs to know about one L1 product (one tile or scene)."""
    safe_path: Path                # the .SAFE folder (Landsat: the product folder)
    product_name: str              # folder name without .SAFE
    product_uri: str               # PRODUCT_URI as in MTD_MSIL1C (with .SAFE)
    product_type: str              # 'S2MSI1C'
    mission_id: str                # 'S2A' | 'S2B' | 'S2C' | 'S2P'
    spacecraft_name: str           # 'Sentinel-2A' ...
    sensing_start: datetime        # PRODUCT_START_TIME (UTC)
    datatake_sensing: str          # 'YYYYMMDDTHHMMSS' field of the product name
    generation_time: datetime      # L1C GENERATION_TIME
    processing_baseline: str       # 'dd.dd'
    relative_orbit: int            # SENSING_ORBIT_NUMBER
    absolute_orbit: int            # from the granule name (A......)
    sensing_orbit_direction: str   # 'DESCENDING' ...
    datatake_identifier: str       # Datatake@datatakeIdentifier
    tile_id: str                   # MGRS tile without 'T', e.g. '32TQM'
    quantification_value: float    # QUANTIFICATION_VALUE (10000)
    u: float                       # Reflectance_Conversion/U
    bands: dict[str, BandInfo]     # keyed by band name
    nodata_value: int              # Special_Values NODATA (0)
    saturated_value: int           # Special_Values SATURATED (65535)
    epsg: int
    crs_name: str                  # HORIZONTAL_CS_NAME
    geopositions: dict[int, Geoposition]   # keyed by resolution 10/20/60 (30 for Hyper MS)
    angles: AngleGrids
    mtd_product_path: Path         # MTD_MSIL1C.xml
    mtd_tile_path: Path            # GRANULE/<granule>/MTD_TL.xml
    mtd_datastrip_path: Path | None
    granule_name: str              # L1C_T32TQM_A012345_20230101T101010
    datastrip_name: str | None     # DS_...
    tile_long_id: str              # MTD_TL TILE_ID (S2A_OPER_MSI_L1C_TL_...)
    datastrip_long_id: str         # MTD_TL DATASTRIP_ID
    image_paths: dict[str, Path]   # band name -> JP2 (plus 'TCI')
    qi_mask_paths: dict[str, Path] = field(default_factory=dict)  # file stem -> path (MSK_QUALIT_B01, ...)
    aux_paths: dict[str, Path] = field(default_factory=dict)      # 'AUX_ECMWFT', 'AUX_CAMSFO', ...
    cloud_coverage_percent: float = float("nan")
    is_hyper_ms: bool = False
    reader: str = "s2_safe"        # the reader that opened it (``sen2cor3.readers.reader_for``)
    #: Reader-specific facts the tile loop does not interpret (Landsat: MTL rescaling, ROI window, full grid).
    extra: dict = field(default_factory=dict)
    #: Fallbacks the reader took (one line each; the pipeline logs them as warnings).
    warnings: tuple[str, ...] = ()
    #: The BOA encoding per band when it is not the sensor's fixed rule (Landsat: each band's L1 rescaling).
    boa_encoding: dict[str, BoaEncoding] | None = None

    @property
    def sensor(self) -> Sensor:
        """The spacecraft's description (bands, roles, tables, encodings)."""
        return sensor_for(self.mission_id)

    def boa(self, band: str | None = None) -> BoaEncoding:
        """How this product's BOA band ``band`` is encoded (the product's own rule, else the sensor's)."""
        if self.boa_encoding and band in self.boa_encoding:
            return self.boa_encoding[band]
        return self.sensor.boa

    @property
    def has_radiometric_offset(self) -> bool:
        """True from processing baseline 04.00 on (RADIO_ADD_OFFSET present)."""
        return any(b.radio_add_offset != 0 for b in self.bands.values())

    @property
    def file_prefix(self) -> str:
        """Image file prefix, e.g. 'T32TQM_20230101T101010'."""
        return f"T{self.tile_id}_{self.datatake_sensing}"
