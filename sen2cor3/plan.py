"""The resolution plan of a run: which grid is classified and corrected, and what is derived from it.

Sen2Cor's orders, as data (the tile loop in ``processing``/``atmcorr`` has no resolution arithmetic of its own):

* Sentinel-2: the base run at 20 m (classification, AOT/WV retrieval, correction); 60 m from it by 3x3 block
  means (``Downsample_20_to_60``); 10 m re-using the 20 m SCL/AOT/WV (nearest up-sampling). ``--resolution
  60`` classifies and corrects natively at 60 m. Without ``--resolution``: 20 and 10 (and 60 downsampled).
* Hyper MS and Landsat: one pass at 30 m, nothing derived (Sen2Cor 3 switches the 60 m downsampling off).
"""
from __future__ import annotations

from dataclasses import dataclass

from sen2cor3.errors import ProcessingError
from sen2cor3.sensors import Sensor


@dataclass(frozen=True)
class ResolutionPlan:
    """``base_m``: the grid of the classification and the retrieval; ``downsampled``: grids made from the base
    run's results by block means; ``refined``: finer grids corrected with the base run's retrieval;
    ``outputs``: every grid the product holds, in the order Sen2Cor lists them; ``work_res_m``: the grid of the
    AOT/WV retrieval (block means of the base grid, ours: Sen2Cor retrieves at the base resolution)."""
    base_m: int
    downsampled: tuple[int, ...] = ()
    refined: tuple[int, ...] = ()
    outputs: tuple[int, ...] = ()
    work_res_m: float = 60.0

    def factor(self, resolution_m: int) -> int:
        """Integer ratio between ``resolution_m`` and the base grid (either way round)."""
        hi, lo = max(resolution_m, self.base_m), min(resolution_m, self.base_m)
        if hi % lo:
            raise ValueError(f"{resolution_m} m is not a multiple or divisor of the {self.base_m} m base grid")
        return hi // lo


def plan_for(sensor: Sensor, resolution: int | None, *, sc_only: bool = False,
             downsample_20_to_60: bool = True) -> ResolutionPlan:
    """The plan for a sensor and the ``--resolution`` flag (None: not given); ProcessingError for a resolution
    the sensor cannot be processed at (one line)."""
    if sensor.native_resolutions == (30,):
        if resolution not in (None, 30):
            raise ProcessingError(f"--resolution {resolution}: {sensor.mission_id} products are processed at 30 m "
                                  "only (use --resolution 30)")
        # 3 base pixels per retrieval cell, as at 20 m: the retrieval cost follows its cell count, and 60 m cells
        # on a 185 km Landsat scene would be 4.4 times a Sentinel-2 tile's (the maps are smoothed over >= 1 km)
        return ResolutionPlan(base_m=30, outputs=(30,), work_res_m=90.0)
    if resolution == 30:
        raise ProcessingError("--resolution 30 is for Landsat and Hyper MS products only "
                              "(use 10, 20 or 60 for Sentinel-2)")
    down = (60,) if downsample_20_to_60 else ()
    if sc_only:
        if resolution == 10:
            raise ProcessingError("--sc_only runs at 20 or 60 m (Sen2Cor classifies at 60 or 20 m only)")
        if resolution == 60:
            return ResolutionPlan(base_m=60, outputs=(60,))
        return ResolutionPlan(base_m=20, downsampled=down, outputs=(20, *down))
    if resolution == 60:
        return ResolutionPlan(base_m=60, outputs=(60,))
    if resolution == 20:
        return ResolutionPlan(base_m=20, downsampled=down, outputs=(20, *down))
    return ResolutionPlan(base_m=20, downsampled=down, refined=(10,), outputs=(20, 10, *down))
