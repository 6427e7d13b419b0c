"""Builder of small synthetic L1C products for tests: real tile geometry, simple scene, real metadata layout.

``make_small_l1c(out_dir, size=120, baseline='05.11', **overrides)`` writes a product through
:func:`sen2cor3.simulate.l1c_writer.write_l1c_safe`; any writer keyword can be overridden (e.g. ``tile_id``,
``spacecraft``, ``qi_masks``). The scene: water (west third), vegetation (middle), bare soil (east), and a
no-data triangle (DN 0 in every band) in the north-west corner, as at a swath edge.
"""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from sen2cor3.products.model import S2_BAND_RESOLUTION_M, S2_BANDS
from sen2cor3.simulate.l1c_writer import angle_grid_size, write_l1c_safe

#: Typical TOA reflectance per class (water, vegetation, soil) and band.
TOA = {
    "water": (0.11, 0.08, 0.06, 0.04, 0.03, 0.02, 0.02, 0.02, 0.015, 0.005, 0.002, 0.01, 0.005),
    "vegetation": (0.12, 0.09, 0.08, 0.05, 0.10, 0.25, 0.30, 0.33, 0.34, 0.10, 0.005, 0.18, 0.09),
    "soil": (0.14, 0.13, 0.14, 0.17, 0.20, 0.23, 0.25, 0.27, 0.28, 0.09, 0.006, 0.33, 0.26),
}
CLASSES = ("water", "vegetation", "soil")
SENSING = datetime(2023, 7, 15, 10, 20, 31, 24000, tzinfo=timezone.utc)


def class_map(size: int) -> np.ndarray:
    """Class index per 10 m pixel: 0 water, 1 vegetation, 2 soil, -1 no-data."""
    cols = np.arange(size)
    cm = np.broadcast_to(np.minimum(cols * 3 // size, 2), (size, size)).copy()
    r, c = np.indices((size, size))
    cm[r + c < size // 6] = -1
    return cm


def reflectances(size: int) -> dict[str, np.ndarray]:
    """TOA reflectance per band at its native resolution (NaN = no-data)."""
    cm = class_map(size)
    table = np.array([TOA[k] for k in CLASSES])            # (3, 13)
    out = {}
    for i, b in enumerate(S2_BANDS):
        f = S2_BAND_RESOLUTION_M[b] // 10
        sub = cm[f // 2::f, f // 2::f]
        refl = np.where(sub >= 0, table[np.clip(sub, 0, 2), i], np.nan)
        out[b] = refl
    return out


def make_small_l1c(out_dir: str | Path, size: int = 120, baseline: str = "05.11", **overrides) -> Path:
    """Write a small L1C SAFE in ``out_dir`` and return its path (see module docstring)."""
    offset = -1000.0 if float(baseline) >= 4.0 else 0.0
    dn = {}
    for b, refl in reflectances(size).items():
        v = np.rint(np.nan_to_num(refl, nan=0.0) * 10000.0 - offset)
        v[np.isnan(refl)] = 0
        dn[b] = v.astype(np.uint16)
    n = angle_grid_size(size)
    rows, cols = np.indices((n, n))
    view_zen = {b: 4.0 + 0.5 * cols + 0.01 * i for i, b in enumerate(S2_BANDS)}
    kwargs = dict(
        tile_id="32TQM", sensing_time=SENSING, dn_bands=dn, baseline=baseline, spacecraft="S2B",
        relative_orbit=22, absolute_orbit=33123,
        sun_zenith_grid=30.0 + 0.2 * rows + 0.05 * cols, sun_azimuth_grid=150.0 + 0.1 * cols,
        view_zenith=view_zen, view_azimuth=105.0, size_10m=size, cloud_coverage=0.0,
        aux_files={"AUX_ECMWFT": b"GRIB placeholder", "AUX_CAMSFO": b"GRIB placeholder"},
    )
    kwargs.update(overrides)
    return write_l1c_safe(out_dir, **kwargs)
