"""Image_Content_QI percentages from a final SCL.

Rules (Sen2Cor 3 L2A_Quality / 2.8 updateQualityIndicators): NODATA % is over all pixels;
every other percentage is over the valid pixels (all minus no-data minus saturated/defective).
CLOUDY_PIXEL % = medium + high probability clouds + thin cirrus.  CLOUDY_PIXEL_OVER_LAND %:
clouds over the clouds-plus-land pixels, land being vegetation, not vegetated and snow
(assumed denominator, not seen in the source).  DEGRADED_MSI_DATA % is not derived from the
SCL; the caller passes it (from the L1C degraded-data masks), default 0.
"""
from __future__ import annotations

from typing import Any

import numpy as np

_CLASS_KEYS = (
    ("SATURATED_DEFECTIVE_PIXEL_PERCENTAGE", "saturated_defective"),
    ("DARK_FEATURES_PERCENTAGE", "dark_features"),
    ("CLOUD_SHADOW_PERCENTAGE", "cloud_shadows"),
    ("VEGETATION_PERCENTAGE", "vegetation"),
    ("NOT_VEGETATED_PERCENTAGE", "not_vegetated"),
    ("WATER_PERCENTAGE", "water"),
    ("UNCLASSIFIED_PERCENTAGE", "unclassified"),
    ("MEDIUM_PROBA_CLOUDS_PERCENTAGE", "medium_proba_clouds"),
    ("HIGH_PROBA_CLOUDS_PERCENTAGE", "high_proba_clouds"),
    ("THIN_CIRRUS_PERCENTAGE", "thin_cirrus"),
    ("SNOW_ICE_PERCENTAGE", "snow_ice"),
)


def scl_percentages(scl: np.ndarray, classificators: Any, *, degraded_msi_percentage: float = 0.0,
                    saturated_in_denominator: bool = True) -> dict[str, float]:
    """Percentages of each SCL class as written in MTD Image_Content_QI (and CAST_SHADOW for L2A_QUALITY).

    ``saturated_in_denominator=False`` gives the 2.8 rule (valid = total - no-data).  The
    saturated percentage itself is always over the pixels with data.
    """
    c = classificators
    counts = np.bincount(scl.ravel(), minlength=256).astype(np.float64)
    total = float(scl.size)
    nodata = counts[c.no_data]
    sat = counts[c.saturated_defective]
    with_data = total - nodata
    valid = with_data - sat if saturated_in_denominator else with_data

    def pct(n: float, d: float) -> float:
        return float(n / d * 100.0) if d > 0 else 0.0

    out: dict[str, float] = {"NODATA_PIXEL_PERCENTAGE": pct(nodata, total)}
    for key, attr in _CLASS_KEYS:
        code = getattr(c, attr)
        out[key] = pct(counts[code], with_data if attr == "saturated_defective" else valid)
    out["CAST_SHADOW_PERCENTAGE"] = out["DARK_FEATURES_PERCENTAGE"]
    clouds = counts[c.medium_proba_clouds] + counts[c.high_proba_clouds] + counts[c.thin_cirrus]
    land = counts[c.vegetation] + counts[c.not_vegetated] + counts[c.snow_ice]
    out["CLOUDY_PIXEL_PERCENTAGE"] = pct(clouds, valid)
    out["CLOUDY_PIXEL_OVER_LAND_PERCENTAGE"] = pct(clouds, clouds + land)
    out["DEGRADED_MSI_DATA_PERCENTAGE"] = float(degraded_msi_percentage)
    return out
