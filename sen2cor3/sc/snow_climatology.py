"""Sen2Cor's snow gate: may the tile have snow at all, according to its global snow climatology?

Sen2Cor 3 (``L2A_Tables.sceneCouldHaveSnow``, called before the snow steps of ``L2A_SceneClass``) reads the
global snow map named by the SC GIPP ``Snow_Map`` (``GlobalSnowMap.tiff``, 0.05 deg, shipped in its own
library folder, so independent of the DEM and of the ESA CCI maps) over the tile's latitude/longitude box and
runs the snow tests only when some pixel there is non-zero; without the file it logs "global snow map not
present, snow detection will be performed" and runs them. The ESA CCI snow-condition map is a different input
(monthly occurrence, used inside the snow test, ``classify._snow``).

``could_have_snow`` is that decision for the map warped to the tile grid (``auxdata.AuxBundle.snow_map``); its
result is what ``classify(..., could_have_snow=...)`` expects.
"""
from __future__ import annotations

import numpy as np

__all__ = ["could_have_snow"]


def could_have_snow(snow_map) -> bool:
    """True when the global snow climatology allows snow in the tile, or when there is no map (Sen2Cor runs the
    snow tests then). ``snow_map``: None, an array on the tile grid, or an object with ``data`` and ``fill``
    (:class:`~sen2cor3.auxdata.esacci.CciMap`; pixels the map does not cover hold ``fill`` and do not count)."""
    if snow_map is None:
        return True
    data = np.asarray(getattr(snow_map, "data", snow_map))
    return bool(np.any(data > 0))
